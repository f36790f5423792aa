package signature

import (
	"fmt"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
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

// Untyped referrers are classified by their manifest, at most
// maxReferrerManifests of them: thousands cost a bounded number of GETs,
// and the verdict says the read was cut.
func TestUntypedReferrersAreBounded(t *testing.T) {
	_, pub := keypair(t)
	f := newFixture(t, true)
	empty := f.blob([]byte("{}"), mtOCIEmpty)
	for i := range maxReferrerManifests + 8 {
		layer := f.blob([]byte(fmt.Sprintf("thing %d", i)), "application/vnd.example.thing")
		f.reg.PutReferrer(t, f.repo, v1.Manifest{SchemaVersion: 2, MediaType: types.OCIManifestSchema1, Config: empty, Layers: []v1.Descriptor{layer}, Subject: &f.desc})
	}
	f.reg.Reset()
	got := f.check(t, pub)
	if got.Status != StatusLookupFailed || !strings.Contains(got.Error, fmt.Sprintf("too many referrers to classify: read %d of %d", maxReferrerManifests, maxReferrerManifests+8)) {
		t.Errorf("got %s %q, want signature-lookup-failed saying the read was cut", got.Status, got.Error)
	}
	gets := f.reg.Count("GET", "/manifests/sha256:")
	if gets > maxReferrerManifests {
		t.Errorf("%d referrer manifest GETs, want at most %d", gets, maxReferrerManifests)
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
