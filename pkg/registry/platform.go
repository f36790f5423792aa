package registry

// Picking a platform's manifest from an index (Options.Platform).

import (
	"bytes"
	"context"
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// selectPlatform picks want's manifest from an index. A single manifest is
// reported as is, with a note.
func selectPlatform(ref string, desc v1.Descriptor, manifest []byte, want v1.Platform) outcome {
	out := outcome{digest: desc.Digest.String(), mediaType: string(desc.MediaType)}
	if !desc.MediaType.IsIndex() {
		out.note = fmt.Sprintf("platform %s not applicable: %s is a single-platform manifest", want.String(), ref)
		return out
	}
	idx, err := v1.ParseIndexManifest(bytes.NewReader(manifest))
	if err != nil {
		out.err = &Error{Reason: ReasonServerError, Message: fmt.Sprintf("the index of %s does not parse", ref)}
		return out
	}
	var have []string
	out.children = ChildDigests(idx)
	for _, m := range idx.Manifests {
		if m.Platform == nil {
			continue
		}
		if platformMatches(*m.Platform, want) {
			out.platform = m.Platform.String()
			out.platformDigest = m.Digest.String()
			return out
		}
		have = append(have, m.Platform.String())
	}
	listed := "it lists no platforms"
	if len(have) > 0 {
		listed = "it has " + strings.Join(have, ", ")
	}
	out.err = &Error{Reason: ReasonNoMatchingPlatform, Message: truncate(fmt.Sprintf("%s has no manifest for %s (%s)", ref, want.String(), listed), 300)}
	return out
}

// platformMatches is go-containerregistry's Satisfies (os and architecture
// equal; variant, os version and features when asked for), with arm64's
// variant "v8" equal to none, as containerd normalises it.
func platformMatches(have, want v1.Platform) bool {
	if have.Architecture == "arm64" && have.Variant == "v8" {
		have.Variant = ""
	}
	if want.Architecture == "arm64" && want.Variant == "v8" {
		want.Variant = ""
	}
	return have.Satisfies(want)
}

// ChildDigests are the manifest digests an index lists.
func ChildDigests(idx *v1.IndexManifest) []string {
	out := make([]string, 0, len(idx.Manifests))
	for _, m := range idx.Manifests {
		out = append(out, m.Digest.String())
	}
	return out
}

// IndexManifests reads the index d by digest (one GET, bounded and retried
// as every artifact read) and lists its manifests: whether a digest pods
// run is a platform of the index a tag points at. A manifest that is not
// an index lists none.
func (a *Artifacts) IndexManifests(ctx context.Context, d name.Digest) ([]string, *Error) {
	desc, e := a.Manifest(ctx, d)
	if e != nil {
		return nil, e
	}
	if !desc.MediaType.IsIndex() {
		return nil, nil
	}
	idx, err := v1.ParseIndexManifest(bytes.NewReader(desc.Manifest))
	if err != nil {
		return nil, &Error{Reason: ReasonServerError, Message: fmt.Sprintf("the index %s does not parse", d.Name())}
	}
	return ChildDigests(idx), nil
}
