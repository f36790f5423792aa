package signature

import (
	"fmt"
	"strings"
	"testing"

	"github.com/sigstore/sigstore-go/pkg/testing/ca"

	"github.com/imgtrust/kubectl-imgtrust/pkg/trustpolicy"
)

const predicateSLSAv1 = "https://slsa.dev/provenance/v1"

// attestationCase is an attestation written to a fixture and checked with
// opts (SLSA v1 provenance asked for): the Attestation Check returns.
type attestationCase struct {
	name         string
	setup        func(f *fixture)
	opts         Options
	wantVerified bool
	wantSignedBy string
	wantProblem  string // in Problem; "" when there must be none
}

func (tt attestationCase) run(t *testing.T, referrersAPI bool) {
	f := newFixture(t, referrersAPI)
	tt.setup(f)
	tt.opts.Attestations = func(pt string) bool { return pt == predicateSLSAv1 }
	got := f.checkWith(t, tt.opts)
	if len(got.Attestations) != 1 {
		t.Fatalf("Attestations = %+v (%s), want one", got.Attestations, got.AttestationsError)
	}
	a := got.Attestations[0]
	if a.Verified != tt.wantVerified || a.SignedBy != tt.wantSignedBy {
		t.Errorf("Verified %v, SignedBy %q; want %v, %q (%+v)", a.Verified, a.SignedBy, tt.wantVerified, tt.wantSignedBy, a)
	}
	if (tt.wantProblem == "") != (a.Problem == "") || !strings.Contains(a.Problem, tt.wantProblem) {
		t.Errorf("Problem = %q, want %q", a.Problem, tt.wantProblem)
	}
	if strings.ContainsAny(a.Problem+a.SignedBy, "\n\r") {
		t.Errorf("not one line: %q, %q", a.Problem, a.SignedBy)
	}
	if a.PredicateType != predicateSLSAv1 || len(a.Statement) == 0 {
		t.Errorf("PredicateType %q, statement %q", a.PredicateType, a.Statement)
	}
}

// TestKeylessAttestation: SLSA v1 provenance in a keyless sigstore bundle
// among the referrers (GitHub artifact attestations, cosign v3 attest) is
// verified as keyless image signatures are, and says who signed it.
func TestKeylessAttestation(t *testing.T) {
	vs, other := virtualSigstore(t), virtualSigstore(t)
	kp, pub := keypair(t)
	keys, err := LoadKeys([]string{pub})
	if err != nil {
		t.Fatal(err)
	}
	A := trustpolicy.Identity{Issuer: issuer, Subject: idA}
	B := trustpolicy.Identity{Issuer: issuer, Subject: idB}
	keyless := func(ids ...trustpolicy.Identity) *Keyless {
		return &Keyless{Material: vs, Identities: ids, IgnoreSCT: true}
	}
	by := func(vs *ca.VirtualSigstore, identity string, otherDigest bool, o keylessOpts) func(f *fixture) {
		return func(f *fixture) {
			subject := f.digest.Hex
			if otherDigest {
				subject = strings.Repeat("0", 64)
			}
			o.predicate = predicateSLSAv1
			f.rawBundle(keylessBundle(t, vs, identity, f.repo.Name(), subject, o), predicateSLSAv1)
		}
	}
	whoA := idA + " (" + issuer + ")"
	tests := []attestationCase{
		{"identity A configured: verified by A", by(vs, idA, false, keylessOpts{}), Options{Keyless: keyless(A)}, true, whoA, ""},
		{"A among other identities: verified by A", by(vs, idA, false, keylessOpts{}), Options{Keyless: keyless(B, A)}, true, whoA, ""},
		{"only identity B: not verified, signed by A", by(vs, idA, false, keylessOpts{}), Options{Keyless: keyless(B)}, false, whoA, ""},
		{"another CA and log: a problem with the reason", by(other, idA, false, keylessOpts{}), Options{Keyless: keyless(A)},
			false, whoA, "signed by " + whoA + " but does not verify: failed to verify log inclusion"},
		{"statement for another digest: a problem", by(vs, idA, true, keylessOpts{}), Options{Keyless: keyless(A)},
			false, whoA, "the statement's subject is another digest"},
		{"statement changed after signing: a problem", by(vs, idA, false, keylessOpts{tamper: true}), Options{Keyless: keyless(A)},
			false, whoA, "does not verify"},
		{"no log entry, log required: a problem", by(vs, idA, false, keylessOpts{noTlog: true}), Options{Keyless: keyless(A)},
			false, whoA, "does not verify"},
		{"v0.3 certificate chain (private CA): verified", by(vs, idA, false, keylessOpts{chain: true}), Options{Keyless: keyless(A)}, true, whoA, ""},
		{"no keyless configured, a key: not verified, A named", by(vs, idA, false, keylessOpts{}), Options{Keys: keys}, false, whoA, ""},
		{"keyed attestation, Keyless and the key: verified by the key as before", func(f *fixture) { f.bundle(kp, f.digest.Hex, predicateSLSAv1) },
			Options{Keys: keys, Keyless: keyless(A)}, true, keys[0].ID, ""},
		{"keyed attestation, Keyless only: a key not given, as before", func(f *fixture) { f.bundle(kp, f.digest.Hex, predicateSLSAv1) },
			Options{Keyless: keyless(A)}, false, "a key not given", ""},
	}
	for _, api := range []bool{true, false} {
		for _, tt := range tests {
			t.Run(fmt.Sprintf("api=%v/%s", api, tt.name), func(t *testing.T) { tt.run(t, api) })
		}
	}
}
