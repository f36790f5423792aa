//go:build e2e

package e2e

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// slsaPredicate is a minimal SLSA v1 provenance predicate for cosign attest.
const slsaPredicate = `{
  "buildDefinition": {
    "buildType": "https://imgtrust.example/build/v1",
    "externalParameters": {"configSource": {"uri": "git+https://imgtrust.example/app", "digest": {"sha1": "0123456789abcdef0123456789abcdef01234567"}}}
  },
  "runDetails": {
    "builder": {"id": "https://imgtrust.example/builder"},
    "metadata": {"startedOn": "2026-01-01T00:00:00Z", "finishedOn": "2026-01-01T00:01:00Z"}
  }
}`

// TestSignersSmoke checks that the real cosign and notation sign, attest
// and verify offline against the stack's private registry, and logs the
// tags and manifests they write there. distribution has no referrers API,
// so bundles and Notation land in the "sha256-<hex>" fallback index: the
// logs show the exact artifactType and annotations the tools use.
func TestSignersSmoke(t *testing.T) {
	ctx := testContext(t)
	dir := t.TempDir()
	keyA, pubA, err := stack.CosignKeyPair(ctx, dir, "a")
	if err != nil {
		t.Fatal(err)
	}
	_, pubB, err := stack.CosignKeyPair(ctx, dir, "b")
	if err != nil {
		t.Fatal(err)
	}
	predicate := filepath.Join(dir, "provenance.json")
	if err := os.WriteFile(predicate, []byte(slsaPredicate), 0o600); err != nil {
		t.Fatal(err)
	}
	notationDir := filepath.Join(dir, "notation")
	cert, err := stack.NotationSetup(ctx, notationDir)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("notation test certificate: %s", strings.TrimPrefix(cert, notationDir+"/"))

	// One repository per format, so each tag list shows one tool's output.
	base := stack.Registry + "/smoke-" + randomSuffix()
	legacy := push(t, base+"/legacy:1")
	bundle := push(t, base+"/bundle:1")
	notation := push(t, base+"/notation:1")
	legacyRef := legacy.Repo() + "@" + legacy.Digest
	bundleRef := bundle.Repo() + "@" + bundle.Digest
	notationRef := notation.Repo() + "@" + notation.Digest

	if err := stack.CosignSign(ctx, keyA, legacyRef, true); err != nil {
		t.Fatalf("cosign sign (legacy): %v", err)
	}
	if err := stack.CosignAttest(ctx, keyA, legacyRef, predicate, "slsaprovenance1", true); err != nil {
		t.Fatalf("cosign attest (legacy): %v", err)
	}
	if err := stack.CosignSign(ctx, keyA, bundleRef, false); err != nil {
		t.Fatalf("cosign sign (bundle): %v", err)
	}
	if err := stack.CosignAttest(ctx, keyA, bundleRef, predicate, "slsaprovenance1", false); err != nil {
		t.Fatalf("cosign attest (bundle): %v", err)
	}
	if err := stack.NotationSign(ctx, notationDir, notationRef, false); err != nil {
		t.Fatalf("notation sign (JWS): %v", err)
	}
	if err := stack.NotationSign(ctx, notationDir, notationRef, true); err != nil {
		t.Fatalf("notation sign (COSE): %v", err)
	}

	// The oracle: cosign's own offline verification, right key and wrong key.
	for _, ref := range []string{legacyRef, bundleRef} {
		if ok, out := stack.CosignVerify(ctx, pubA, ref); !ok {
			t.Errorf("cosign verify %s with the signing key failed:\n%s", ref, out)
		}
		if ok, out := stack.CosignVerify(ctx, pubB, ref); ok {
			t.Errorf("cosign verify %s with another key succeeded:\n%s", ref, out)
		} else {
			t.Logf("cosign verify %s with another key fails as it should: %s", ref, lastLine(out))
		}
		if ok, out := stack.CosignVerifyAttestation(ctx, pubA, ref, "slsaprovenance1"); !ok {
			t.Errorf("cosign verify-attestation %s with the signing key failed:\n%s", ref, out)
		}
		if ok, out := stack.CosignVerifyAttestation(ctx, pubB, ref, "slsaprovenance1"); ok {
			t.Errorf("cosign verify-attestation %s with another key succeeded:\n%s", ref, out)
		}
	}

	// What the tools left in the registry.
	tagOf := func(digest string) string { return strings.Replace(digest, ":", "-", 1) }
	for _, c := range []struct {
		repo, digest string
		want         []string
	}{
		{legacy.Repo(), legacy.Digest, []string{"1", tagOf(legacy.Digest) + ".sig", tagOf(legacy.Digest) + ".att"}},
		{bundle.Repo(), bundle.Digest, []string{"1", tagOf(bundle.Digest)}},
		{notation.Repo(), notation.Digest, []string{"1", tagOf(notation.Digest)}},
	} {
		tags, err := stack.RegistryTags(ctx, c.repo)
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(tags)
		slices.Sort(c.want)
		t.Logf("tags of %s: %v", c.repo, tags)
		if !slices.Equal(tags, c.want) {
			t.Errorf("tags of %s = %v, want %v", c.repo, tags, c.want)
		}
		for _, tag := range tags {
			if tag == "1" {
				continue
			}
			logManifest(t, c.repo+":"+tag)
			if !strings.HasSuffix(tag, ".sig") && !strings.HasSuffix(tag, ".att") {
				logIndexEntries(t, c.repo, c.repo+":"+tag)
			}
		}
	}
}

// logManifest logs ref's manifest verbatim (indented) and returns its bytes.
func logManifest(t *testing.T, ref string) []byte {
	t.Helper()
	raw, mediaType, err := stack.RawManifest(testContext(t), ref)
	if err != nil {
		t.Fatal(err)
	}
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, raw, "", "  "); err != nil {
		t.Fatalf("%s: %v", ref, err)
	}
	t.Logf("manifest %s (%s):\n%s", ref, mediaType, pretty.String())
	return raw
}

// logIndexEntries logs the manifest of every entry of the fallback index at
// ref: the signature and attestation artifacts themselves, with their layers.
func logIndexEntries(t *testing.T, repo, ref string) {
	t.Helper()
	var idx struct {
		Manifests []struct {
			Digest string `json:"digest"`
		} `json:"manifests"`
	}
	raw, _, err := stack.RawManifest(testContext(t), ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &idx); err != nil {
		t.Fatalf("%s is not an index: %v", ref, err)
	}
	if len(idx.Manifests) == 0 {
		t.Errorf("fallback index %s lists nothing", ref)
	}
	for _, m := range idx.Manifests {
		logManifest(t, repo+"@"+m.Digest)
	}
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}
