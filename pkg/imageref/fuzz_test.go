package imageref

import (
	"testing"

	dockerref "github.com/distribution/reference"
)

// FuzzParse checks Parse against the kubelet's parser: same accept/reject,
// same split, and accepted references normalise stably. Seeds are in
// testdata/fuzz/FuzzParse.
func FuzzParse(f *testing.F) {
	f.Fuzz(func(t *testing.T, image string) {
		got, err := Parse(image)
		named, dErr := dockerref.ParseNormalizedNamed(image)
		if (err == nil) != (dErr == nil) {
			t.Fatalf("Parse(%q) error = %v, ParseNormalizedNamed error = %v: want agreement", image, err, dErr)
		}
		if err != nil {
			return
		}
		wantReg := dockerref.Domain(named)
		if wantReg == dockerHubDomain {
			wantReg = "index.docker.io"
		}
		if got.Registry != wantReg || got.Repository != dockerref.Path(named) {
			t.Fatalf("Parse(%q) = %s / %s, want %s / %s", image, got.Registry, got.Repository, wantReg, dockerref.Path(named))
		}

		// The normalised spelling parses to the same reference.
		canonical := got.Name()
		if got.Tag != "" {
			canonical += ":" + got.Tag
		}
		if got.Digest != "" {
			canonical += "@" + got.Digest
		}
		again, err := Parse(canonical)
		if err != nil {
			t.Fatalf("Parse(%q) = %+v, whose normalised form %q does not parse: %v", image, got, canonical, err)
		}
		if again.Registry != got.Registry || again.Repository != got.Repository || again.Tag != got.Tag || again.Digest != got.Digest || again.ImplicitRegistry {
			t.Fatalf("Parse(%q) = %+v, but its normalised form %q parses to %+v", image, got, canonical, again)
		}

		// Pinning keeps the name and takes the digest.
		const d = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
		for _, dropTag := range []bool{false, true} {
			pinned, err := Parse(got.Pinned(d, dropTag))
			if err != nil || pinned.Digest != d || pinned.Name() != got.Name() {
				t.Fatalf("Parse(%q).Pinned(dropTag=%v) = %q: parses to %+v, %v", image, dropTag, got.Pinned(d, dropTag), pinned, err)
			}
		}
	})
}

// FuzzParseImageID checks that ParseImageID never panics and that what it
// accepts is a digest, with a parsable repository for manifest digests.
// Seeds are in testdata/fuzz/FuzzParseImageID.
func FuzzParseImageID(f *testing.F) {
	f.Fuzz(func(t *testing.T, id string) {
		got, ok := ParseImageID(id)
		_ = ShortDigest(got.Digest)
		if !ok {
			if got != (RunningImage{}) {
				t.Fatalf("ParseImageID(%q) = %+v, false; want the zero value", id, got)
			}
			return
		}
		if !isDigest(got.Digest) || got.ImageID != id {
			t.Fatalf("ParseImageID(%q) = %+v: digest is not a digest or the ID is not kept", id, got)
		}
		switch got.Kind {
		case KindManifest:
			ref, err := Parse(got.Repository + "@" + got.Digest)
			if err != nil || ref.Name() != got.Repository {
				t.Fatalf("ParseImageID(%q) = %+v: repository does not parse back: %v", id, got, err)
			}
		case KindConfig:
			if got.Repository != "" {
				t.Fatalf("ParseImageID(%q) = %+v: a config digest has no repository", id, got)
			}
		default:
			t.Fatalf("ParseImageID(%q) = %+v: unknown kind", id, got)
		}
	})
}
