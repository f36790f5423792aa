package pin

import (
	"errors"
	"fmt"
	"strings"

	yaml "go.yaml.in/yaml/v3"

	"github.com/imgtrust/kubectl-imgtrust/pkg/manifest"

	"github.com/imgtrust/kubectl-imgtrust/pkg/imageref"
	"github.com/imgtrust/kubectl-imgtrust/pkg/workload"
)

// Resolver returns image pinned to a digest, keeping its spelling:
// "nginx:1.25" → "nginx:1.25@sha256:…" (PinnedImage helps build one).
type Resolver func(image string) (pinned string, err error)

// ManifestEdit is one image rewritten in a manifest file.
type ManifestEdit struct {
	ImageSite
	New string
}

// ManifestSkip is one image left alone on purpose.
type ManifestSkip struct {
	ImageSite
	Reason  string // ReasonAlreadyPinned or ReasonInvalidReference
	Message string
}

// ManifestError is one image that could not be pinned; it is left unchanged.
type ManifestError struct {
	ImageSite
	Err error
}

func (e ManifestError) Error() string {
	return fmt.Sprintf("line %d: %s %q of %s %s: %v", e.Line, e.Type, e.Container, e.Kind, e.Name, e.Err)
}

func (e ManifestError) Unwrap() error { return e.Err }

// ManifestResult is a rewritten manifest file and what happened to each image.
type ManifestResult struct {
	Data    []byte // the file with images pinned; the input when nothing changed
	Edits   []ManifestEdit
	Skipped []ManifestSkip
	Errors  []ManifestError
}

// PinManifest pins every image without a digest in the pod specs of a
// manifest file: YAML (one or many documents, Lists) or JSON. Only the image
// strings change; comments, key order, quoting, indentation and everything
// else stay byte for byte. resolve is called once per distinct image; an
// image it fails for is reported and left as it is. The error is non-nil
// only when the file as a whole cannot be edited (it wraps ErrNotYAML when
// it does not parse, e.g. a Helm template).
func PinManifest(data []byte, resolve Resolver) (ManifestResult, error) {
	return rewriteManifest(data, resolve, false, nil)
}

// PinManifestCatalog is PinManifest that also pins the image fields cat's
// rules reach in custom resources (--image-paths); PinManifest uses the
// built-in catalogue.
func PinManifestCatalog(cat *workload.Catalog) func([]byte, Resolver) (ManifestResult, error) {
	return func(data []byte, resolve Resolver) (ManifestResult, error) {
		return rewriteManifest(data, resolve, false, cat)
	}
}

// MirrorManifestCatalog is MirrorManifest with cat's rules, as
// PinManifestCatalog.
func MirrorManifestCatalog(cat *workload.Catalog) func([]byte, Resolver) (ManifestResult, error) {
	return func(data []byte, resolve Resolver) (ManifestResult, error) {
		return rewriteManifest(data, resolve, true, cat)
	}
}

// ErrAlreadyMirrored is what a mirror Resolver answers for an image that
// already is in the mirror: it is skipped, not failed.
var ErrAlreadyMirrored = errors.New("already in the mirror")

// MirrorManifest is PinManifest for pinning to a mirror: resolve names
// the copy of each image (another repository, with a digest); images
// already pinned are passed too, and must keep their digest.
func MirrorManifest(data []byte, resolve Resolver) (ManifestResult, error) {
	return rewriteManifest(data, resolve, true, nil)
}

func rewriteManifest(data []byte, resolve Resolver, mirror bool, cat *workload.Catalog) (ManifestResult, error) {
	result := ManifestResult{Data: data}
	docs, err := manifest.Parse(data)
	if err != nil {
		return result, err
	}
	sites := findImages(docs, cat)
	starts := manifest.LineStarts(data)
	type resolved struct {
		pinned string
		err    error
	}
	cache := map[string]resolved{}
	var spans []span
	var texts []string
	want := map[*yaml.Node]string{} // the new value of each edited scalar
	for _, s := range sites {
		if s.err != nil {
			result.Skipped = append(result.Skipped, ManifestSkip{s.ImageSite, ReasonInvalidReference, s.err.Error()})
			continue
		}
		ref, err := imageref.Parse(s.Image)
		if err != nil {
			msg := err.Error()
			if strings.Contains(s.Image, "{{") {
				msg = "the image is templated; render the template first and pin the output"
			}
			result.Skipped = append(result.Skipped, ManifestSkip{s.ImageSite, ReasonInvalidReference, msg})
			continue
		}
		if ref.Digest != "" && !mirror {
			result.Skipped = append(result.Skipped, ManifestSkip{s.ImageSite, ReasonAlreadyPinned, "already pinned to " + ref.Digest})
			continue
		}
		r, ok := cache[s.Image]
		if !ok {
			r.pinned, r.err = resolve(s.Image)
			if r.err == nil && mirror {
				r.err = checkMirrored(ref, r.pinned)
			} else if r.err == nil {
				r.err = checkPinned(ref, r.pinned)
			}
			cache[s.Image] = r
		}
		if errors.Is(r.err, ErrAlreadyMirrored) {
			result.Skipped = append(result.Skipped, ManifestSkip{s.ImageSite, ReasonAlreadyMirrored, "already in the mirror"})
			continue
		}
		if r.err != nil {
			result.Errors = append(result.Errors, ManifestError{s.ImageSite, fmt.Errorf("resolving %q: %w", s.Image, r.err)})
			continue
		}
		sp, err := scalarSpan(data, starts, s.node)
		if err != nil {
			result.Errors = append(result.Errors, ManifestError{s.ImageSite, err})
			continue
		}
		spans = append(spans, sp)
		texts = append(texts, quote(r.pinned, sp.style))
		want[s.node] = r.pinned
		result.Edits = append(result.Edits, ManifestEdit{s.ImageSite, r.pinned})
	}
	if len(spans) == 0 {
		return result, nil
	}
	out, err := splice(data, spans, texts)
	if err != nil {
		return ManifestResult{Data: data}, err
	}
	if err := verify(out, docs, want); err != nil {
		return ManifestResult{Data: data}, fmt.Errorf("rewriting would not give the expected file, so it is left unchanged: %w", err)
	}
	result.Data = out
	return result, nil
}

// checkPinned makes sure the resolver's answer is the same repository with
// a digest, so a faulty resolver cannot redirect a workload.
func checkPinned(ref imageref.Reference, pinned string) error {
	got, err := imageref.Parse(pinned)
	switch {
	case err != nil:
		return err
	case got.Digest == "":
		return fmt.Errorf("resolver gave %q, which has no digest", pinned)
	case got.Name() != ref.Name():
		return fmt.Errorf("resolver gave %q, another repository than %q", pinned, ref.Original)
	}
	return nil
}

// checkMirrored makes sure a mirror's answer is a reference with a
// digest, the same digest when one was written.
func checkMirrored(ref imageref.Reference, pinned string) error {
	got, err := imageref.Parse(pinned)
	switch {
	case err != nil:
		return err
	case got.Digest == "":
		return fmt.Errorf("the mirror name %q has no digest", pinned)
	case ref.Digest != "" && got.Digest != ref.Digest:
		return fmt.Errorf("the mirror name %q changes the digest %s", pinned, ref.Digest)
	}
	return nil
}

// verify parses the rewritten file and compares it node by node with the
// original: only the edited scalars may differ, and only to their new
// values. A splice that touched anything else is caught here, not written.
func verify(out []byte, before []*yaml.Node, want map[*yaml.Node]string) error {
	after, err := manifest.Parse(out)
	if err != nil {
		return err
	}
	if len(after) != len(before) {
		return fmt.Errorf("%d documents instead of %d", len(after), len(before))
	}
	for i := range before {
		if err := sameNodes(before[i], after[i], want); err != nil {
			return err
		}
	}
	return nil
}

func sameNodes(a, b *yaml.Node, want map[*yaml.Node]string) error {
	value, edited := want[a]
	if !edited {
		value = a.Value
	}
	if a.Kind != b.Kind || a.ShortTag() != b.ShortTag() || a.Anchor != b.Anchor || b.Value != value || len(a.Content) != len(b.Content) {
		return fmt.Errorf("line %d: %q became %q", b.Line, value, b.Value)
	}
	for i := range a.Content {
		if err := sameNodes(a.Content[i], b.Content[i], want); err != nil {
			return err
		}
	}
	return nil
}
