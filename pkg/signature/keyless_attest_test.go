package signature

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/sigstore/sigstore-go/pkg/testing/ca"
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
	w := newKeylessWorld(t)
	vs, other, kp, keys, A, B, keyless := w.vs, w.other, w.kp, w.keys, w.A, w.B, w.keyless
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

// legacyKeylessAtt writes a .att tag as cosign attest keyless (before v3)
// does: one DSSE envelope layer, the in-toto statement over subjectHex
// signed as identity, with the predicate type, the leaf, the chain and the
// Rekor bundle in its annotations. tamper changes the statement after
// signing.
func (f *fixture) legacyKeylessAtt(vs *ca.VirtualSigstore, identity, subjectHex string, o legacyKeylessOpts, tamper bool) {
	f.t.Helper()
	stmt := fmt.Sprintf(`{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":%q,"digest":{"sha256":%q}}],"predicateType":%q,"predicate":{}}`, f.repo.Name(), subjectHex, predicateSLSAv1)
	e, err := vs.Attest(identity, issuer, []byte(stmt))
	if err != nil {
		f.t.Fatal(err)
	}
	sc, err := e.SignatureContent()
	if err != nil {
		f.t.Fatal(err)
	}
	env := *sc.EnvelopeContent().RawEnvelope()
	if tamper {
		env.Payload = base64.StdEncoding.EncodeToString([]byte(strings.Replace(stmt, `"predicate":{}`, `"predicate":{"x":1}`, 1)))
	}
	raw, err := json.Marshal(env)
	if err != nil {
		f.t.Fatal(err)
	}
	a := legacyCertAnnotations(f.t, vs, e, o)
	a[annotationPredicateType] = predicateSLSAv1
	a[annotationCosignSig] = ""
	f.legacyTag(raw, mtDSSEEnvelope, a, ".att")
}

// TestLegacyKeylessAttestation: a legacy keyless .att attestation (cosign
// attest before v3: the DSSE envelope in the layer, the certificate, chain
// and Rekor bundle in its annotations) verified as the v0.1 bundle it
// amounts to, with bundle attestations' outcomes.
func TestLegacyKeylessAttestation(t *testing.T) {
	w := newKeylessWorld(t)
	vs, other, keys, A, B, keyless, private := w.vs, w.other, w.keys, w.A, w.B, w.keyless, w.private()
	att := func(vs *ca.VirtualSigstore, identity string, o legacyKeylessOpts, tamper bool) func(f *fixture) {
		return func(f *fixture) { f.legacyKeylessAtt(vs, identity, f.digest.Hex, o, tamper) }
	}
	whoA := idA + " (" + issuer + ")"
	tests := []attestationCase{
		{"identity A: verified by A", att(vs, idA, legacyKeylessOpts{}, false), Options{Keyless: keyless(A)}, true, whoA, ""},
		{"no chain annotation: verified", att(vs, idA, legacyKeylessOpts{noChain: true}, false), Options{Keyless: keyless(B, A)}, true, whoA, ""},
		{"only identity B: not verified, signed by A", att(vs, idA, legacyKeylessOpts{}, false), Options{Keyless: keyless(B)}, false, whoA, ""},
		{"another CA and log: a problem", att(other, idA, legacyKeylessOpts{}, false), Options{Keyless: keyless(A)},
			false, whoA, "signed by " + whoA + " but does not verify"},
		{"statement for another digest: a problem", func(f *fixture) {
			f.legacyKeylessAtt(vs, idA, strings.Repeat("0", 64), legacyKeylessOpts{}, false)
		}, Options{Keyless: keyless(A)}, false, whoA, "the statement's subject is another digest"},
		{"statement changed after signing: a problem", att(vs, idA, legacyKeylessOpts{}, true), Options{Keyless: keyless(A)},
			false, whoA, "does not verify"},
		{"SET tampered: a problem", att(vs, idA, legacyKeylessOpts{tamperSET: true}, false), Options{Keyless: keyless(A)},
			false, whoA, "failed to verify log inclusion"},
		{"no bundle annotation, log required: a problem naming ignoreTlog", att(vs, idA, legacyKeylessOpts{noBundle: true}, false), Options{Keyless: keyless(A)},
			false, whoA, "no transparency-log entry"},
		{"no bundle annotation, IgnoreTlog: verified", att(vs, idA, legacyKeylessOpts{noBundle: true}, false), Options{Keyless: private}, true, whoA, ""},
		{"no keyless configured, a key: not verified, A named", att(vs, idA, legacyKeylessOpts{}, false), Options{Keys: keys},
			false, whoA + ", a legacy keyless .att attestation (keyless identities verify it)", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.run(t, true) })
	}
}

// FuzzLegacyKeylessAttestation: whatever a legacy .att layer's envelope
// and annotations, legacyAttestation's outcome is one line and verifies
// only a statement naming the digest, signed by identity A.
func FuzzLegacyKeylessAttestation(f *testing.F) {
	vs, c := fuzzKeylessChecker(f)
	h, _ := v1.NewHash(fuzzDigest)
	add := func(identity, subjectHex string, o legacyKeylessOpts, mustVerify bool) {
		stmt := fmt.Sprintf(`{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"app","digest":{"sha256":%q}}],"predicateType":%q,"predicate":{}}`, subjectHex, predicateSLSAv1)
		e, err := vs.Attest(identity, issuer, []byte(stmt))
		if err != nil {
			f.Fatal(err)
		}
		sc, err := e.SignatureContent()
		if err != nil {
			f.Fatal(err)
		}
		env, err := json.Marshal(sc.EnvelopeContent().RawEnvelope())
		if err != nil {
			f.Fatal(err)
		}
		a := legacyCertAnnotations(f, vs, e, o)
		if mustVerify {
			att := Attestation{}
			c.keyless.legacyAttestation(&att, a, env, h)
			if !att.Verified {
				f.Fatalf("seed %+v does not verify: %+v", o, att)
			}
		}
		f.Add(env, a[annotationCosignCert], a[annotationCosignChain], a[annotationCosignBundle])
	}
	add(idA, h.Hex, legacyKeylessOpts{}, true)
	add(idA, h.Hex, legacyKeylessOpts{noChain: true}, true)
	add(idB, h.Hex, legacyKeylessOpts{}, false)
	add(idA, h.Hex, legacyKeylessOpts{tamperSET: true}, false)
	add(idA, strings.Repeat("0", 64), legacyKeylessOpts{}, false)
	f.Add([]byte(`{"payloadType":"application/vnd.in-toto+json","payload":"e30=","signatures":[{"sig":"!"}]}`), "not a certificate", "", "{")
	f.Fuzz(func(t *testing.T, env []byte, cert, chain, rekor string) {
		a := map[string]string{annotationCosignCert: cert}
		if chain != "" {
			a[annotationCosignChain] = chain
		}
		if rekor != "" {
			a[annotationCosignBundle] = rekor
		}
		att := Attestation{}
		c.keyless.legacyAttestation(&att, a, env, h)
		if strings.ContainsAny(att.Problem+att.SignedBy, "\n\r") {
			t.Fatalf("not one line: %q, %q", att.Problem, att.SignedBy)
		}
		if !att.Verified {
			return
		}
		if att.Problem != "" || att.SignedBy != idA+" ("+issuer+")" {
			t.Fatalf("verified with %+v", att)
		}
		var de struct{ Payload []byte }
		if json.Unmarshal(env, &de) != nil || !namesDigest(de.Payload, h) {
			t.Fatalf("verified an envelope %q whose statement does not name %s", env, h)
		}
	})
}
