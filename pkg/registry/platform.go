package registry

// Picking a platform's manifest from an index (Options.Platform).

import (
	"bytes"
	"fmt"
	"strings"

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
