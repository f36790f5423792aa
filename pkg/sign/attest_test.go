package sign

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"

	"github.com/imgtrust/kubectl-imgtrust/pkg/registry"
	"github.com/imgtrust/kubectl-imgtrust/pkg/signature"
)

// The checks attestation, in both formats, is what pkg/signature finds and
// verifies with the key as an attestation of the digest (never as a
// signature of it), its statement carrying the checks.
func TestChecksAttestationVerifies(t *testing.T) {
	ctx := context.Background()
	for _, format := range []string{signature.FormatCosignBundle, signature.FormatCosignAtt} {
		f, r := newWriteFixture(t, true)
		priv, _ := keyPair(t, "")
		k, err := LoadKey("cosign.key", priv, Password{})
		if err != nil {
			t.Fatal(err)
		}
		pred := Checks{Checks: []Check{{Name: "provenance", Result: "passed", Detail: "github.com/acme/web"}}, Time: time.Unix(1700000000, 0).UTC(), Tool: Tool{Name: "kubectl-imgtrust", Version: "v1.2.3"}}
		stmt, err := StatementOf(f.digest, PredicateChecks, pred)
		if err != nil {
			t.Fatal(err)
		}
		var e *registry.Error
		if format == signature.FormatCosignBundle {
			b, err := BundleOf(k, stmt)
			if err != nil {
				t.Fatal(err)
			}
			e = WriteBundle(ctx, r, authn.Anonymous, f.digest, b, PredicateChecks, time.Unix(0, 0))
		} else {
			env, err := Envelope(k, stmt)
			if err != nil {
				t.Fatal(err)
			}
			e = WriteLegacyAttestation(ctx, r, authn.Anonymous, f.digest, env, PredicateChecks)
		}
		if e != nil {
			t.Fatalf("%s: write: %v", format, e)
		}
		checker, _ := signature.New(signature.Options{Keys: []signature.Key{k.Public}, Attestations: func(pt string) bool { return pt == PredicateChecks }})
		res := checker.Check(ctx, r.Artifacts(registry.Anonymous), f.digest.Context(), f.digest.DigestStr())
		if res.Status == signature.StatusVerified {
			t.Errorf("%s: an attestation alone counted as a signature: %+v", format, res)
		}
		if len(res.Attestations) != 1 {
			t.Fatalf("%s: attestations %+v, want one", format, res.Attestations)
		}
		a := res.Attestations[0]
		var got struct {
			PredicateType string `json:"predicateType"`
			Predicate     Checks `json:"predicate"`
		}
		if err := json.Unmarshal(a.Statement, &got); err != nil {
			t.Fatal(err)
		}
		if !a.Verified || a.Format != format || a.PredicateType != PredicateChecks || got.PredicateType != PredicateChecks ||
			len(got.Predicate.Checks) != 1 || got.Predicate.Checks[0].Name != "provenance" || got.Predicate.Tool.Version != "v1.2.3" {
			t.Errorf("%s: %+v %s, want verified with the checks", format, a, a.Statement)
		}
	}
}

// A verifier not asking for attestations (audit --verify-key without
// --provenance) sees our signature alone, in either format: the checks
// attestation next to it is neither a second signature nor one of an
// unknown key.
func TestChecksAttestationBesideSignature(t *testing.T) {
	ctx := context.Background()
	for _, legacy := range []bool{false, true} {
		f, r := newWriteFixture(t, true)
		priv, _ := keyPair(t, "")
		k, err := LoadKey("cosign.key", priv, Password{})
		if err != nil {
			t.Fatal(err)
		}
		stmt, _ := StatementOf(f.digest, PredicateChecks, Checks{Checks: []Check{}})
		want := signature.FormatCosignBundle
		if legacy {
			want = signature.FormatCosignSig
			env, _ := Envelope(k, stmt)
			payload, _ := Payload(f.digest)
			sig, _ := k.Sign(payload)
			if e := WriteLegacyAttestation(ctx, r, authn.Anonymous, f.digest, env, PredicateChecks); e != nil {
				t.Fatal(e)
			}
			if e := WriteLegacy(ctx, r, authn.Anonymous, f.digest, payload, sig); e != nil {
				t.Fatal(e)
			}
		} else {
			att, _ := BundleOf(k, stmt)
			sig, _ := Bundle(k, f.digest)
			for _, w := range []struct {
				b  []byte
				pt string
			}{{att, PredicateChecks}, {sig, PredicateCosignSign}} {
				if e := WriteBundle(ctx, r, authn.Anonymous, f.digest, w.b, w.pt, time.Unix(0, 0)); e != nil {
					t.Fatal(e)
				}
			}
		}
		checker, _ := signature.New(signature.Options{Keys: []signature.Key{k.Public}})
		res := checker.Check(ctx, r.Artifacts(registry.Anonymous), f.digest.Context(), f.digest.DigestStr())
		if res.Status != signature.StatusVerified || len(res.Artifacts) != 1 || res.Artifacts[0].Format != want || len(res.Attestations) != 0 {
			t.Errorf("legacy %v: %+v, want verified by one %s signature, no attestation read", legacy, res, want)
		}
	}
}
