package signature

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/secure-systems-lab/go-securesystemslib/dsse"
	"github.com/sigstore/sigstore-go/pkg/sign"
)

const predicateSPDX = "https://spdx.dev/Document"

// legacyAtt writes a cosign .att tag whose layers are DSSE envelopes of
// statements over subjectHex, one per predicate, signed with kp (cosign
// attest --key, before v3).
func (f *fixture) legacyAtt(kp *sign.EphemeralKeypair, subjectHex string, predicates ...string) {
	f.t.Helper()
	var layers []v1.Descriptor
	for _, pt := range predicates {
		stmt := fmt.Sprintf(`{"_type":"https://in-toto.io/Statement/v0.1","subject":[{"name":%q,"digest":{"sha256":%q}}],"predicateType":%q,"predicate":{}}`, f.repo.Name(), subjectHex, pt)
		const payloadType = "application/vnd.in-toto+json"
		sig, _, err := kp.SignData(context.Background(), dsse.PAE(payloadType, []byte(stmt)))
		if err != nil {
			f.t.Fatal(err)
		}
		env, err := json.Marshal(dsse.Envelope{PayloadType: payloadType, Payload: base64.StdEncoding.EncodeToString([]byte(stmt)),
			Signatures: []dsse.Signature{{Sig: base64.StdEncoding.EncodeToString(sig)}}})
		if err != nil {
			f.t.Fatal(err)
		}
		layer := f.blob(env, mtDSSEEnvelope)
		layer.Annotations = map[string]string{annotationPredicateType: pt}
		layers = append(layers, layer)
	}
	cfg := f.blob([]byte("{}"), types.OCIConfigJSON)
	f.put(v1.Manifest{SchemaVersion: 2, MediaType: types.OCIManifestSchema1, Config: cfg, Layers: layers},
		strings.Replace(f.digest.String(), ":", "-", 1)+".att")
}

// TestRequiredAttestations: each predicate type a rule requires gets its
// own verdict, by the rule's key: verified, present but not by the key
// (never "missing"), missing only when every lookup answered, and a
// refused lookup proves nothing.
func TestRequiredAttestations(t *testing.T) {
	kp, pub := keypair(t)
	other, _ := keypair(t)
	keys, err := LoadKeys([]string{pub})
	if err != nil {
		t.Fatal(err)
	}
	type want struct {
		status   RequiredStatus
		signedBy string // "KEY" is kp's key ID
		problem  string // in Problem
	}
	tests := []struct {
		name    string
		setup   func(f *fixture)
		require []string
		want    []want
	}{
		{"bundle by the key", func(f *fixture) { f.bundle(kp, f.digest.Hex, predicateSLSAv1) },
			[]string{predicateSLSAv1}, []want{{RequiredVerified, "KEY", ""}}},
		{"legacy .att by the key", func(f *fixture) { f.legacyAtt(kp, f.digest.Hex, predicateSPDX, predicateSLSAv1) },
			[]string{predicateSLSAv1, predicateSPDX}, []want{{RequiredVerified, "KEY", ""}, {RequiredVerified, "KEY", ""}}},
		{"by another key", func(f *fixture) { f.bundle(other, f.digest.Hex, predicateSLSAv1) },
			[]string{predicateSLSAv1}, []want{{RequiredUnverified, "a key not given", ""}}},
		{"legacy .att by another key", func(f *fixture) { f.legacyAtt(other, f.digest.Hex, predicateSLSAv1) },
			[]string{predicateSLSAv1}, []want{{RequiredUnverified, "a key not given", ""}}},
		{"of another digest", func(f *fixture) { f.bundle(kp, strings.Repeat("0", 64), predicateSLSAv1) },
			[]string{predicateSLSAv1}, []want{{RequiredUnverified, "a key", "the statement's subject is another digest"}}},
		{"another key first, then the key", func(f *fixture) {
			f.bundle(other, f.digest.Hex, predicateSLSAv1)
			f.bundle(kp, f.digest.Hex, predicateSLSAv1)
		}, []string{predicateSLSAv1}, []want{{RequiredVerified, "KEY", ""}}},
		{"signed, no attestation", func(f *fixture) { f.legacy(kp, f.digest.String()) },
			[]string{predicateSLSAv1}, []want{{RequiredMissing, "", ""}}},
		{"one of two types", func(f *fixture) { f.bundle(kp, f.digest.Hex, predicateSPDX) },
			[]string{predicateSLSAv1, predicateSPDX}, []want{{RequiredMissing, "", ""}, {RequiredVerified, "KEY", ""}}},
		{"lookups refused", func(f *fixture) {
			f.bundle(kp, f.digest.Hex, predicateSLSAv1)
			f.deny()
		}, []string{predicateSLSAv1}, []want{{RequiredLookupFailed, "", "403"}}},
	}
	for _, tt := range tests {
		for _, referrersAPI := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/referrersAPI=%v", tt.name, referrersAPI), func(t *testing.T) {
				f := newFixture(t, referrersAPI)
				tt.setup(f)
				got := f.checkWith(t, Options{Keys: keys, Require: tt.require})
				if len(got.Required) != len(tt.want) {
					t.Fatalf("Required = %+v, want %d verdicts", got.Required, len(tt.want))
				}
				for i, w := range tt.want {
					r := got.Required[i]
					if w.signedBy == "KEY" {
						w.signedBy = keys[0].ID
					}
					if r.PredicateType != tt.require[i] || r.Status != w.status || r.SignedBy != w.signedBy {
						t.Errorf("Required[%d] = %+v, want %s %s by %q", i, r, tt.require[i], w.status, w.signedBy)
					}
					if (w.problem == "") != (r.Problem == "") || !strings.Contains(r.Problem, w.problem) {
						t.Errorf("Required[%d].Problem = %q, want %q", i, r.Problem, w.problem)
					}
				}
			})
		}
	}
}

// TestNoRequiredWithoutRequire: a checker that requires nothing reports
// no verdicts and reads no attestation.
func TestNoRequiredWithoutRequire(t *testing.T) {
	kp, pub := keypair(t)
	keys, err := LoadKeys([]string{pub})
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, true)
	f.bundle(kp, f.digest.Hex, predicateSLSAv1)
	got := f.checkWith(t, Options{Keys: keys})
	if len(got.Required) != 0 || len(got.Attestations) != 0 {
		t.Errorf("Required %+v, Attestations %+v; want none", got.Required, got.Attestations)
	}
}
