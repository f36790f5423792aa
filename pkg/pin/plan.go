package pin

import (
	"errors"
	"fmt"

	"github.com/imgtrust/kubectl-imgtrust/pkg/imageref"
	"github.com/imgtrust/kubectl-imgtrust/pkg/workload"
)

// Change is one planned pin of one container's image.
type Change struct {
	Container workload.ContainerSpec
	Old       string // the image as written, e.g. "nginx:1.25"
	New       string // e.g. "nginx:1.25@sha256:…"
	Digest    string
	Source    Source
}

// Skip is a container left as it is, and why.
type Skip struct {
	Container workload.ContainerSpec
	Reason    string // one of the Reason constants
	Message   string
	// Err is set when the skip is a failure (the digest could not be
	// found), as opposed to a deliberate refusal or nothing to do.
	Err error
}

// Failed reports whether the container was skipped because something failed.
func (s Skip) Failed() bool { return s.Err != nil }

// Plan decides, for each usage of obj, the pin to apply or why there is none.
// Usages must belong to obj: their paths point into it.
func Plan(obj workload.Object, usages []workload.Usage, chooser Chooser, dropTag bool) (changes []Change, skipped []Skip) {
	return plan(obj, usages, chooser, dropTag, nil)
}

// Rename names the mirror copy of an image (repository[:tag] as written);
// ok is false when the image already is in the mirror.
type Rename func(image string) (target string, ok bool, err error)

// PlanMirror is Plan for pinning to a mirror: each image is rewritten to
// its copy, rename(image) pinned to the digest the chooser picks (or the
// digest already written). Change.Old stays the source image.
func PlanMirror(obj workload.Object, usages []workload.Usage, chooser Chooser, dropTag bool, rename Rename) (changes []Change, skipped []Skip) {
	return plan(obj, usages, chooser, dropTag, rename)
}

func plan(obj workload.Object, usages []workload.Usage, chooser Chooser, dropTag bool, rename Rename) (changes []Change, skipped []Skip) {
	for _, u := range usages {
		c := u.ContainerSpec
		skip := func(reason, format string, args ...any) {
			skipped = append(skipped, Skip{Container: c, Reason: reason, Message: fmt.Sprintf(format, args...)})
		}
		ref, err := imageref.Parse(c.Image)
		target, mirrored := "", false
		if err == nil && rename != nil {
			target, mirrored, err = rename(c.Image)
			if err == nil && !mirrored {
				skip(ReasonAlreadyMirrored, "already in the mirror")
				continue
			}
		}
		switch {
		case err != nil:
			skip(ReasonInvalidReference, "%v", err)
			continue
		case ref.Digest != "" && rename == nil:
			skip(ReasonAlreadyPinned, "already pinned to %s", ref.Digest)
			continue
		case c.Type == workload.EphemeralContainer:
			// The API forbids changing an ephemeral container once added,
			// even through the ephemeralcontainers subresource, and pod
			// templates cannot hold them.
			skip(ReasonEphemeralContainer, "ephemeral container %q of %s %s cannot be changed once added", c.Name, obj.Kind, obj.Name)
			continue
		}
		if _, err := patchablePath(Change{Container: c, Old: c.Image, New: c.Image}); err != nil {
			skip(ReasonUnsupportedPath, "%s %q has no patchable image path: %v", c.Type, c.Name, err)
			continue
		}
		// Mirroring an image already pinned still asks the chooser, so that
		// --verify-key and what the pods run apply to it too.
		digest, err := chooser.Choose(u)
		if err == nil && ref.Digest != "" && digest != ref.Digest {
			err = &Refusal{Reason: ReasonOtherImage, Message: fmt.Sprintf("the spec names %s but %s was chosen: pin it first, then mirror", imageref.ShortDigest(ref.Digest), imageref.ShortDigest(digest))}
		}
		if err != nil {
			var refusal *Refusal
			if errors.As(err, &refusal) {
				skipped = append(skipped, Skip{Container: c, Reason: refusal.Reason, Message: refusal.Message})
			} else {
				skipped = append(skipped, Skip{Container: c, Reason: ReasonResolveFailed,
					Message: fmt.Sprintf("resolving %q: %v", c.Image, err), Err: err})
			}
			continue
		}
		base := c.Image
		if rename != nil {
			base = target // PinnedImage adds the digest to the copy's name
		}
		pinned, err := PinnedImage(base, digest, dropTag)
		if err != nil {
			skipped = append(skipped, Skip{Container: c, Reason: ReasonResolveFailed, Message: err.Error(), Err: err})
			continue
		}
		changes = append(changes, Change{Container: c, Old: c.Image, New: pinned, Digest: digest, Source: chooser.Source})
	}
	return changes, skipped
}

// PinnedImage adds digest to image as the user wrote it: "nginx:1.25" →
// "nginx:1.25@sha256:…", or "nginx@sha256:…" with dropTag. The result is
// parsed back, so a malformed digest is an error and never a broken spec.
func PinnedImage(image, digest string, dropTag bool) (string, error) {
	ref, err := imageref.Parse(image)
	if err != nil {
		return "", err
	}
	if ref.Digest != "" {
		return "", fmt.Errorf("image %q already holds a digest", image)
	}
	pinned := ref.Pinned(digest, dropTag)
	got, err := imageref.Parse(pinned)
	if err != nil || got.Digest != digest || got.Name() != ref.Name() {
		return "", fmt.Errorf("digest %q cannot pin %q", digest, image)
	}
	return pinned, nil
}
