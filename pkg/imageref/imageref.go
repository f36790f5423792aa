package imageref

import (
	"fmt"
	"strings"

	dockerref "github.com/distribution/reference"
	"github.com/google/go-containerregistry/pkg/name"
)

// Pinning says how firmly a reference names one image.
type Pinning string

const (
	PinDigest    Pinning = "digest"     // name@sha256:…
	PinTagDigest Pinning = "tag@digest" // name:tag@sha256:… (the ideal: readable and certain)
	PinTag       Pinning = "tag"        // name:v1.2.3, mutable
	PinLatest    Pinning = "latest"     // name:latest, mutable
	PinNone      Pinning = "none"       // name, implicitly :latest
	PinInvalid   Pinning = "invalid"    // does not parse
)

// Reference is a parsed image reference. Registry and Repository are the
// kubelet's split, with Docker Hub spelled as go-containerregistry spells
// it: "nginx" becomes registry "index.docker.io" and repository
// "library/nginx". Registry keeps the case written ("MyHost:5000").
type Reference struct {
	Original   string
	Registry   string
	Repository string
	// Tag as written; empty when none was written (the runtime then pulls "latest").
	Tag string
	// Digest as written ("sha256:…"); empty when none.
	Digest string
	// ImplicitRegistry is true when no registry host was written and Docker
	// Hub is assumed.
	ImplicitRegistry bool
}

// Parse parses an image reference as written in a pod spec, accepting and
// splitting exactly what the kubelet accepts and splits.
func Parse(image string) (Reference, error) {
	if strings.TrimSpace(image) == "" {
		return Reference{}, fmt.Errorf("image reference is empty")
	}
	if strings.TrimSpace(image) != image {
		return Reference{}, fmt.Errorf("image reference %q has surrounding whitespace", image)
	}
	named, err := dockerref.ParseNormalizedNamed(image)
	if err != nil {
		return Reference{}, fmt.Errorf("image reference %q is invalid: %w", image, err)
	}
	ref := Reference{
		Original:   image,
		Registry:   dockerref.Domain(named),
		Repository: dockerref.Path(named),
	}
	if t, ok := named.(dockerref.Tagged); ok {
		ref.Tag = t.Tag()
	}
	if d, ok := named.(dockerref.Digested); ok {
		ref.Digest = d.Digest().String()
	}
	if ref.Registry == dockerHubDomain {
		ref.Registry = name.DefaultRegistry
		// Docker Hub is the only default, so it is implicit unless one of
		// its two spellings starts the reference (distribution folds
		// "index.docker.io" into "docker.io"; nothing else maps there).
		ref.ImplicitRegistry = !strings.HasPrefix(image, dockerHubDomain+"/") && !strings.HasPrefix(image, name.DefaultRegistry+"/")
	}
	return ref, nil
}

// dockerHubDomain is distribution's name for Docker Hub.
const dockerHubDomain = "docker.io"

// Pinning classifies the reference.
func (r Reference) Pinning() Pinning {
	switch {
	case r.Digest != "" && r.Tag != "":
		return PinTagDigest
	case r.Digest != "":
		return PinDigest
	case r.Tag == "latest":
		return PinLatest
	case r.Tag != "":
		return PinTag
	}
	return PinNone
}

// Name is the normalised repository name, e.g. "index.docker.io/library/nginx".
func (r Reference) Name() string {
	return r.Registry + "/" + r.Repository
}

// TagOrLatest is the tag the runtime pulls: the written one, else "latest".
func (r Reference) TagOrLatest() string {
	if r.Tag == "" {
		return "latest"
	}
	return r.Tag
}

// Pinned writes the reference with a digest, keeping what the user wrote for
// the name and the tag: "nginx:1.25" + d → "nginx:1.25@sha256:…". With
// dropTag the tag is left out: "nginx@sha256:…".
func (r Reference) Pinned(digest string, dropTag bool) string {
	named := r.Original
	if r.Digest != "" {
		named, _, _ = strings.Cut(r.Original, "@")
	}
	if dropTag && r.Tag != "" {
		// The parsed tag is exactly the text after the last ":" of the name.
		named = strings.TrimSuffix(named, ":"+r.Tag)
	}
	return named + "@" + digest
}
