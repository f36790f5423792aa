// Package imageref parses container image references the way the kubelet's
// runtime resolves them: go-containerregistry's name package with Docker
// defaults (no registry means Docker Hub, no tag means "latest").
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

// Reference is a parsed image reference. Registry and Repository are
// go-containerregistry's normalised names: "nginx" becomes registry
// "index.docker.io" and repository "library/nginx".
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

// Sentinels let the name package tell us what was left implicit without us
// taking the string apart. Neither can collide with a real registry or tag:
// ".invalid" is a reserved TLD and a tag cannot hold "/".
const (
	implicitRegistry = "implicit-registry.invalid"
	implicitTag      = "implicit-tag"
)

// Parse parses an image reference as written in a pod spec.
func Parse(image string) (Reference, error) {
	if strings.TrimSpace(image) == "" {
		return Reference{}, fmt.Errorf("image reference is empty")
	}
	if strings.TrimSpace(image) != image {
		return Reference{}, fmt.Errorf("image reference %q has surrounding whitespace", image)
	}
	// The kubelet validates with the Docker reference grammar, which is
	// stricter than go-containerregistry's (e.g. a path component may not
	// start with "-"); a pod with such an image fails with InvalidImageName.
	if _, err := dockerref.ParseNormalizedNamed(image); err != nil {
		return Reference{}, fmt.Errorf("image reference %q is invalid: %w", image, err)
	}
	normalised, err := name.ParseReference(image)
	if err != nil {
		return Reference{}, fmt.Errorf("image reference %q is invalid: %w", image, err)
	}
	ref := Reference{
		Original:   image,
		Registry:   normalised.Context().RegistryStr(),
		Repository: normalised.Context().RepositoryStr(),
	}

	// The name before any "@digest" tells whether a tag and a registry were
	// written. name.NewDigest itself cuts at the single "@" the same way.
	named := image
	if d, ok := normalised.(name.Digest); ok {
		ref.Digest = d.DigestStr()
		named, _, _ = strings.Cut(image, "@")
	}
	written, err := name.NewTag(named, name.WithDefaultRegistry(implicitRegistry), name.WithDefaultTag(implicitTag))
	if err != nil {
		return Reference{}, fmt.Errorf("image reference %q is invalid: %w", image, err)
	}
	ref.ImplicitRegistry = written.RegistryStr() == implicitRegistry
	if t := written.TagStr(); t != implicitTag {
		ref.Tag = t
	}
	return ref, nil
}

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
