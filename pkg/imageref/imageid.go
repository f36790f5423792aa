package imageref

import (
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
)

// DigestKind says what a running image ID's digest identifies.
type DigestKind string

const (
	// KindManifest is a repository digest (repo@sha256:…): the manifest or
	// index digest, comparable with a spec's or a registry's digest.
	KindManifest DigestKind = "manifest"
	// KindConfig is a bare image ID (sha256:…), the digest of the image's
	// config blob, which some runtimes report when they know no repo digest.
	// It cannot be compared with manifest digests.
	KindConfig DigestKind = "config"
)

// RunningImage is what a pod status says a node runs.
type RunningImage struct {
	ImageID string     `json:"imageID"`
	Digest  string     `json:"digest"`
	Kind    DigestKind `json:"kind"`
	// Repository is the normalised repository of a manifest digest, e.g.
	// "index.docker.io/library/nginx"; empty for a config digest.
	Repository string `json:"repository,omitempty"`
	// SpecImage is the image the pod's own spec names for the container,
	// which lags the template when pods were not replaced (e.g. a
	// StatefulSet with OnDelete). Empty when unknown.
	SpecImage string `json:"specImage,omitempty"`
}

// ParseImageID reads status.containerStatuses[].imageID. It accepts
// "docker-pullable://repo@sha256:…" (dockershim, cri-dockerd),
// "repo@sha256:…" (containerd, CRI-O) and bare "sha256:…" config digests
// (some runtimes, or "docker://sha256:…"). ok is false when the ID holds no
// digest at all (e.g. empty while the image is pulling).
func ParseImageID(imageID string) (RunningImage, bool) {
	id := imageID
	for _, scheme := range []string{"docker-pullable://", "docker://", "containerd://", "cri-o://"} {
		id = strings.TrimPrefix(id, scheme)
	}
	if id == "" {
		return RunningImage{}, false
	}
	if ref, err := Parse(id); err == nil && ref.Digest != "" {
		return RunningImage{ImageID: imageID, Digest: ref.Digest, Kind: KindManifest, Repository: ref.Name()}, true
	}
	if isDigest(id) {
		return RunningImage{ImageID: imageID, Digest: id, Kind: KindConfig}, true
	}
	return RunningImage{}, false
}

// isDigest reports whether s is a bare "algorithm:hex" digest.
func isDigest(s string) bool {
	_, err := name.NewDigest("imgtrust.invalid/x@" + s)
	return err == nil
}

// ShortDigest abbreviates a digest for people, as docker does:
// "sha256:" and the first 12 hex digits.
func ShortDigest(digest string) string {
	if algo, hex, ok := strings.Cut(digest, ":"); ok && len(hex) > 12 {
		return algo + ":" + hex[:12]
	}
	return digest
}
