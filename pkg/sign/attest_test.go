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
