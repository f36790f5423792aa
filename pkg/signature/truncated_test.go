package signature

import (
	"fmt"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/imgtrust/kubectl-imgtrust/pkg/registry"
)

// A read a cap cut short is never a negative verdict: a .sig whose
// trusted signature lies beyond the cap is signature-lookup-failed, not
// signed-by-unknown-key; within the cap it verifies.
func TestTruncatedSigTagIsNoNegativeVerdict(t *testing.T) {
	ours, pub := keypair(t)
	other, _ := keypair(t)
	for _, tt := range []struct {
		name     string
		position int // of our signature among 12 layers
		want     Status
	}{
		{"within the cap", 3, StatusVerified},
		{"beyond the cap", 10, StatusLookupFailed},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, true)
			layers := make([]sigLayer, 12)
			for i := range layers {
				kp := other
				if i == tt.position {
					kp = ours
				}
				// Each payload differs (an optional field), so each layer is its own blob.
				layers[i] = f.signed(kp, []byte(fmt.Sprintf(`{"critical":{"identity":{"docker-reference":%q},"image":{"docker-manifest-digest":%q},"type":"cosign container image signature"},"optional":{"n":%d}}`, f.repo.Name(), f.digest, i)))
			}
			f.legacyLayers(layers...)
			got := f.check(t, pub)
			if got.Status != tt.want {
				t.Fatalf("Status = %s, want %s (%+v)", got.Status, tt.want, got)
			}
			if tt.want == StatusLookupFailed && !strings.Contains(got.Error, "too many signatures in one cosign signature manifest: read 8 of 12") {
				t.Errorf("Error = %q, want it to say how many were read of how many", got.Error)
			}
		})
	}
}

// artifactReads are the requests a check sent for the digest's
// artifacts: everything but the pings.
func artifactReads(f *fixture) int { return len(f.reg.Hits()) }

// Untyped referrers are classified by their manifest while the digest's
// reads last (registry.DefaultMaxArtifactRequests in all): thousands cost
// a bounded number of requests, and the verdict says how many were read
// and skipped, never a negative one.
func TestUntypedReferrersAreBounded(t *testing.T) {
	_, pub := keypair(t)
	f := newFixture(t, true)
	empty := f.blob([]byte("{}"), mtOCIEmpty)
	n := registry.DefaultMaxArtifactRequests + 8
	for i := range n {
		layer := f.blob([]byte(fmt.Sprintf("thing %d", i)), "application/vnd.example.thing")
		f.reg.PutReferrer(t, f.repo, v1.Manifest{SchemaVersion: 2, MediaType: types.OCIManifestSchema1, Config: empty, Layers: []v1.Descriptor{layer}, Subject: &f.desc})
	}
	f.reg.Reset()
	got := f.check(t, pub)
	if reads := artifactReads(f); reads > registry.DefaultMaxArtifactRequests {
		t.Errorf("%d requests for one digest's artifacts, want at most %d", reads, registry.DefaultMaxArtifactRequests)
	}
	classified := f.reg.Count("GET", "/manifests/sha256:")
	want := fmt.Sprintf("%d of %d referrers to classify read, %d skipped", classified, n, n-classified)
	if got.Status != StatusLookupFailed || !strings.Contains(got.Error, want) || !strings.Contains(got.Error, "--max-artifact-requests") {
		t.Errorf("got %s %q, want signature-lookup-failed saying %q and naming the flag", got.Status, got.Error, want)
	}
	if got.ReadsSkipped != n-classified || classified == 0 {
		t.Errorf("ReadsSkipped = %d with %d referrers classified of %d, want %d", got.ReadsSkipped, classified, n, n-classified)
	}
}

// A trusted signature among what was read verifies even when the budget
// cut the rest.
func TestBudgetCutStillVerifiesWhatWasRead(t *testing.T) {
	ours, pub := keypair(t)
	f := newFixture(t, true)
	f.legacy(ours, f.digest.String())
	empty := f.blob([]byte("{}"), mtOCIEmpty)
	for i := range registry.DefaultMaxArtifactRequests {
		layer := f.blob([]byte(fmt.Sprintf("thing %d", i)), "application/vnd.example.thing")
		f.reg.PutReferrer(t, f.repo, v1.Manifest{SchemaVersion: 2, MediaType: types.OCIManifestSchema1, Config: empty, Layers: []v1.Descriptor{layer}, Subject: &f.desc})
	}
	f.reg.Reset()
	got := f.check(t, pub)
	if got.Status != StatusVerified || got.ReadsSkipped == 0 {
		t.Errorf("got %s with %d reads skipped, want verified with some skipped", got.Status, got.ReadsSkipped)
	}
	if reads := artifactReads(f); reads > registry.DefaultMaxArtifactRequests {
		t.Errorf("%d requests, want at most %d", reads, registry.DefaultMaxArtifactRequests)
	}
}

// Attestations of many kinds in the .att tag (a blob each) draw from the
// same reads as the signatures: the lookup stops at the budget, the
// signature read before it still verifies, and a required attestation
// beyond it is lookup-failed, never missing.
func TestManyAttestationsShareTheBudget(t *testing.T) {
	ours, pub := keypair(t)
	f := newFixture(t, true)
	f.legacy(ours, f.digest.String())
	const required = "https://example.com/required/v1"
	var kinds []string
	for i := range registry.DefaultMaxArtifactRequests {
		kinds = append(kinds, fmt.Sprintf("https://example.com/kind/%d", i))
	}
	f.legacyAtt(ours, f.digest.Hex, append(kinds, required)...)
	keys, err := LoadKeys([]string{pub})
	if err != nil {
		t.Fatal(err)
	}
	f.reg.Reset()
	got := f.checkWith(t, Options{Keys: keys, Attestations: func(string) bool { return true }, Require: []string{required}})
	if reads := artifactReads(f); reads > registry.DefaultMaxArtifactRequests {
		t.Errorf("%d requests for one digest's artifacts, want at most %d", reads, registry.DefaultMaxArtifactRequests)
	}
	if got.Status != StatusVerified || got.ReadsSkipped == 0 {
		t.Errorf("got %s with %d reads skipped, want verified (the .sig was read) with some skipped", got.Status, got.ReadsSkipped)
	}
	if !strings.Contains(got.AttestationsError, string(registry.ReasonRequestBudget)) || len(got.AttestationsError) > 2000 {
		t.Errorf("AttestationsError = %q, want a short summary naming the budget", got.AttestationsError)
	}
	if len(got.Required) != 1 || got.Required[0].Status != RequiredLookupFailed {
		t.Errorf("Required = %+v, want lookup-failed (the budget cut the read)", got.Required)
	}
}

func TestSummarize(t *testing.T) {
	problems := []string{"a", "a", "b", "c", "d", "d", "e"}
	if got := summarize(problems); got != "a; b; c; and 3 more" {
		t.Errorf("summarize = %q", got)
	}
	if got := summarize([]string{"x", "x"}); got != "x" {
		t.Errorf("summarize = %q", got)
	}
}
