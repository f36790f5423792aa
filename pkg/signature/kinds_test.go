package signature

import (
	"fmt"
	"maps"
	"net/http"
	"strings"
	"testing"

	"github.com/imgtrust/kubectl-imgtrust/pkg/registry"
)

const (
	predicateChecks = "https://imgtrust.dev/attestation/checks/v1"
	predicateVuln   = "https://cosign.sigstore.dev/attestation/vuln/v1"
)

// TestAttestationKinds: one lookup finds the best attestation of each
// kind asked for (provenance, imgtrust's checks, a vulnerability scan),
// in bundles and in the legacy .att tag; kinds not asked for are not read.
func TestAttestationKinds(t *testing.T) {
	kp, pub := keypair(t)
	other, _ := keypair(t)
	keys, err := LoadKeys([]string{pub})
	if err != nil {
		t.Fatal(err)
	}
	accept := AnyAttestation(func(pt string) bool { return pt == predicateSLSAv1 || pt == predicateChecks },
		func(pt string) bool { return pt == predicateVuln })
	for _, tt := range []struct {
		name  string
		setup func(f *fixture)
		// verified per predicate type; a type absent is not in the result
		want map[string]bool
	}{
		{"three kinds in bundles", func(f *fixture) {
			f.bundle(kp, f.digest.Hex, predicateSLSAv1)
			f.bundle(kp, f.digest.Hex, predicateVuln)
			f.bundle(kp, f.digest.Hex, predicateChecks)
			f.bundle(kp, f.digest.Hex, predicateSPDX) // not asked for
		}, map[string]bool{predicateSLSAv1: true, predicateVuln: true, predicateChecks: true}},
		{"three kinds in the .att tag", func(f *fixture) {
			f.legacyAtt(kp, f.digest.Hex, predicateSPDX, predicateVuln, predicateSLSAv1, predicateChecks)
		}, map[string]bool{predicateSLSAv1: true, predicateVuln: true, predicateChecks: true}},
		{"another key's first, then the key's", func(f *fixture) {
			f.bundle(other, f.digest.Hex, predicateVuln)
			f.bundle(kp, f.digest.Hex, predicateVuln)
			f.bundle(kp, f.digest.Hex, predicateSLSAv1)
		}, map[string]bool{predicateVuln: true, predicateSLSAv1: true}},
		{"only another key's", func(f *fixture) {
			f.bundle(other, f.digest.Hex, predicateVuln)
			f.legacyAtt(other, f.digest.Hex, predicateVuln)
		}, map[string]bool{predicateVuln: false}},
	} {
		for _, api := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/referrersAPI=%v", tt.name, api), func(t *testing.T) {
				f := newFixture(t, api)
				tt.setup(f)
				want := maps.Clone(tt.want)
				got := f.checkWith(t, Options{Keys: keys, Attestations: accept})
				// One of each kind; every vuln scan read (TestEveryVulnScanKept),
				// of which one verified when want says so.
				kept := map[string]bool{}
				for _, a := range got.Attestations {
					if a.PredicateType == predicateVuln && kept[predicateVuln] {
						continue
					}
					if a.PredicateType == predicateVuln && !a.Verified && want[predicateVuln] {
						continue // an older scan by another key, beside the key's
					}
					verified, ok := want[a.PredicateType]
					if !ok || a.Verified != verified || kept[a.PredicateType] {
						t.Errorf("%s: verified %v (%s); want in result %v once, verified %v", a.PredicateType, a.Verified, a.SignedBy, ok, verified)
					}
					if verified && a.SignedBy != keys[0].ID {
						t.Errorf("%s: SignedBy %q, want the key", a.PredicateType, a.SignedBy)
					}
					kept[a.PredicateType] = true
				}
				if len(kept) != len(want) {
					t.Errorf("Attestations = %d (%s), kinds %v, want one of each of %v", len(got.Attestations), got.AttestationsError, kept, want)
				}
			})
		}
	}
}

// TestAttestationKindsBudget: each kind asked for costs at most one
// manifest and one blob per digest beyond the signature lookup (the .att
// HEAD and the referrers listing), whatever else is attached; without a
// key nothing could verify a second of a kind, so it is not read.
func TestAttestationKindsBudget(t *testing.T) {
	kp, pub := keypair(t)
	keys, err := LoadKeys([]string{pub})
	if err != nil {
		t.Fatal(err)
	}
	want := AnyAttestation(func(pt string) bool { return pt == predicateSLSAv1 }, func(pt string) bool { return pt == predicateVuln })
	for _, tt := range []struct {
		name  string
		keys  []Key
		setup func(f *fixture)
		kinds int
	}{
		{"two kinds, and one not asked for", keys, func(f *fixture) {
			f.bundle(kp, f.digest.Hex, predicateSLSAv1)
			f.bundle(kp, f.digest.Hex, predicateVuln)
			f.bundle(kp, f.digest.Hex, predicateSPDX)
		}, 2},
		{"two of one kind, no key given", nil, func(f *fixture) {
			f.bundle(kp, f.digest.Hex, predicateVuln)
			f.bundle(kp, f.digest.Hex, predicateVuln)
		}, 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, true)
			tt.setup(f)
			c, err := New(Options{Keys: tt.keys, Attestations: want})
			if err != nil {
				t.Fatal(err)
			}
			r, err := registry.New(registry.Options{Insecure: []string{f.repo.RegistryStr()}})
			if err != nil {
				t.Fatal(err)
			}
			c.Check(t.Context(), r.Artifacts(registry.Anonymous), f.repo, f.digest.String()) // learns the referrers API
			f.reg.Reset()
			got := c.Check(t.Context(), r.Artifacts(registry.Anonymous), f.repo, f.digest.String())
			reqs := f.reg.Hits()
			manifests, blobs := 0, 0
			for _, r := range reqs {
				switch {
				case r.Method == http.MethodGet && strings.Contains(r.Path, "/manifests/sha256:"):
					manifests++
				case strings.Contains(r.Path, "/blobs/"):
					blobs++
				}
			}
			if manifests > tt.kinds || blobs > tt.kinds || len(reqs) > 3+2*tt.kinds {
				t.Errorf("%d manifest GETs, %d blobs, %d requests (%v); want at most %d, %d, %d", manifests, blobs, len(reqs), reqs, tt.kinds, tt.kinds, 3+2*tt.kinds)
			}
			if len(got.Attestations) != tt.kinds {
				t.Errorf("Attestations = %+v, want %d", got.Attestations, tt.kinds)
			}
		})
	}
}

// TestEveryVulnScanKept: a later vulnerability scan supersedes an earlier
// one, so every one read is kept (the caller picks the newest verified by
// its scan time), even past a verified one; provenance keeps the first
// verified. Without a key nothing could verify a second, so one is read.
func TestEveryVulnScanKept(t *testing.T) {
	kp, pub := keypair(t)
	keys, err := LoadKeys([]string{pub})
	if err != nil {
		t.Fatal(err)
	}
	accept := AnyAttestation(func(pt string) bool { return pt == predicateSLSAv1 || pt == predicateVuln || pt == PredicateOpenVEX })
	for _, api := range []bool{true, false} {
		t.Run(fmt.Sprintf("referrersAPI=%v", api), func(t *testing.T) {
			f := newFixture(t, api)
			f.bundle(kp, f.digest.Hex, predicateVuln)
			f.bundle(kp, f.digest.Hex, predicateSLSAv1)
			f.bundle(kp, f.digest.Hex, predicateVuln)
			f.bundle(kp, f.digest.Hex, PredicateOpenVEX)
			f.legacyAtt(kp, f.digest.Hex, predicateVuln, predicateSLSAv1, PredicateOpenVEX)
			n := map[string]int{}
			for _, a := range f.checkWith(t, Options{Keys: keys, Attestations: accept}).Attestations {
				if !a.Verified {
					t.Errorf("%s %s not verified", a.PredicateType, a.Digest)
				}
				n[a.PredicateType]++
			}
			if n[predicateVuln] != 3 || n[PredicateOpenVEX] != 2 || n[predicateSLSAv1] != 1 {
				t.Errorf("kept %v, want every vuln scan (3) and VEX (2), one provenance", n)
			}
			n = map[string]int{}
			for _, a := range f.checkWith(t, Options{Attestations: accept}).Attestations {
				n[a.PredicateType]++
			}
			if n[predicateVuln] != 1 {
				t.Errorf("without a key: kept %v, want one vuln scan read", n)
			}
		})
	}
}
