// Package mirror copies the exact images workloads run into a registry we
// control, with their signatures and attestations, so that they can be
// pinned to the copy: "only run images from a controlled registry".
package mirror

import (
	"context"
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"

	"github.com/imgtrust/kubectl-imgtrust/pkg/imageref"
	"github.com/imgtrust/kubectl-imgtrust/pkg/registry"
)

// Layout is how source images are named under the mirror prefix.
type Layout string

const (
	// LayoutHost keeps the source registry host as the first path part:
	// <prefix>/docker.io/library/nginx, so images of different registries
	// never collide (a port becomes "-port": localhost-5000).
	LayoutHost Layout = "host"
	// LayoutFlat drops it: <prefix>/library/nginx.
	LayoutFlat Layout = "flat"
)

// ParseLayout reads --mirror-layout.
func ParseLayout(s string) (Layout, error) {
	switch Layout(s) {
	case LayoutHost, LayoutFlat:
		return Layout(s), nil
	}
	return "", fmt.Errorf("--mirror-layout %q is not supported: use host (the default) or flat", s)
}

// Target names the mirror copy of image under prefix, keeping the tag as
// written (none when none was written). ok is false when image already
// lives under prefix.
func Target(prefix, image string, layout Layout) (target string, ok bool, err error) {
	ref, err := imageref.Parse(image)
	if err != nil {
		return "", false, err
	}
	prefix = strings.TrimSuffix(prefix, "/")
	if ref.Name() == prefix || strings.HasPrefix(ref.Name(), prefix+"/") {
		return "", false, nil
	}
	repo := ref.Repository
	if layout != LayoutFlat {
		host := strings.ToLower(ref.Registry)
		if host == "index.docker.io" {
			host = "docker.io" // as people write it
		}
		repo = strings.ReplaceAll(host, ":", "-") + "/" + repo
	}
	target = prefix + "/" + repo
	if ref.Tag != "" {
		target += ":" + ref.Tag
	}
	if _, err := imageref.Parse(target); err != nil {
		return "", false, fmt.Errorf("the mirror name of %s is not a valid reference: %w", image, err)
	}
	return target, true, nil
}

// ValidatePrefix checks --mirror-to: a registry host and an optional path.
func ValidatePrefix(prefix string) error {
	ref, err := imageref.Parse(strings.TrimSuffix(prefix, "/") + "/x")
	if err != nil || ref.ImplicitRegistry {
		return fmt.Errorf("--mirror-to %q is not a registry host with an optional path, e.g. registry.acme.dev/mirror", prefix)
	}
	return nil
}

// Mirror copies images into the mirror.
type Mirror struct {
	Resolver      *registry.Resolver
	OverwriteTags bool
	Progress      func(image string, written, total int64)
	// Seen, when set, remembers the blobs found at the target, so that
	// each is checked once (a Session's run).
	Seen *registry.BlobsSeen
}

// Result is one image copied (or found) in the mirror.
type Result struct {
	Source string `json:"source"` // repository@digest
	Target string `json:"target"` // repository:tag@digest
	registry.CopyResult
	// ReferrersSkipped: signatures and attestations past
	// MaxReferrerCopies, or past the image's --max-artifact-requests, not
	// copied; ReferrersOverBudget those of them the request budget cut.
	ReferrersSkipped    int `json:"referrersSkipped,omitempty"`
	ReferrersOverBudget int `json:"referrersOverBudget,omitempty"`
	// PullCredential and PushCredential name where the source and target
	// credentials came from (PullCredential only from a Session).
	PullCredential string          `json:"pullCredential,omitempty"`
	PushCredential string          `json:"pushCredential"`
	Err            *registry.Error `json:"error,omitempty"`
	// Planned: a Session's dry run, nothing read or written. Cached: the
	// Session copied this digest to this target before; nothing was done.
	Planned bool `json:"-"`
	Cached  bool `json:"-"`
}

// PushAuth is the local docker config's credential for the target
// registry (authn.DefaultKeychain) and a name for it.
func PushAuth(repo name.Repository) (authn.Authenticator, string) {
	a, err := authn.DefaultKeychain.Resolve(repo)
	if err != nil || a == authn.Anonymous {
		return authn.Anonymous, "anonymous (no entry in the local docker config)"
	}
	return a, "local-docker-config"
}

// Copy copies digest of image (read with cred, the pod's credential) to
// target (repository[:tag]), with its cosign .sig and .att tags and its
// referrers (Notation signatures, cosign bundles), so that the mirror
// stays verifiable: at most MaxReferrerCopies of them, within the image's
// budget, added to those the target holds (copyReferrers). Every copy
// is checked whole at the target (Resolver.Copy).
func (m *Mirror) Copy(ctx context.Context, image, digest, target string, cred registry.Credential) Result {
	src, err := m.Resolver.RepositoryOf(image)
	res := Result{Source: src.Name() + "@" + digest}
	if err != nil {
		res.Err = &registry.Error{Reason: registry.ReasonInvalidReference, Message: err.Error()}
		return res
	}
	dstRepo, err := m.Resolver.RepositoryOf(target)
	if err != nil {
		res.Err = &registry.Error{Reason: registry.ReasonInvalidReference, Message: err.Error()}
		return res
	}
	tag := "latest"
	if ref, err := imageref.Parse(target); err == nil && ref.Tag != "" {
		tag = ref.Tag
	}
	res.Target = dstRepo.Tag(tag).Name() + "@" + digest
	push, pushFrom := PushAuth(dstRepo)
	res.PushCredential = pushFrom
	// The copy's lookups (not its transfer) and its referrers draw from
	// the image's one budget, shared with its resolution and signature
	// check: a stalling registry costs about one lookup timeout per image.
	img := m.Resolver.Artifacts(cred).ForDigest(src.Digest(digest))
	o := registry.CopyOptions{Push: push, OverwriteTags: m.OverwriteTags, Seen: m.Seen, Image: img}
	if m.Progress != nil {
		o.Progress = func(w, t int64) { m.Progress(image, w, t) }
	}
	cr, e := m.Resolver.Copy(ctx, src.Digest(digest), cred, dstRepo.Tag(tag), o)
	res.CopyResult = cr
	if e != nil {
		res.Err = e
		return res
	}
	res.Err = m.copyReferrers(ctx, &res, cred, src, dstRepo, digest, registry.CopyOptions{Push: push, Seen: m.Seen})
	return res
}
