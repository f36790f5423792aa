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

// A bundle referrer is what pkg/signature verifies with the key, through
// the referrers API and through the referrers tag.
func TestWriteBundleVerifies(t *testing.T) {
	for _, api := range []bool{true, false} {
		ctx := context.Background()
		f, r := newWriteFixture(t, api)
		priv, _ := keyPair(t, "")
		k, err := LoadKey("cosign.key", priv, Password{})
		if err != nil {
			t.Fatal(err)
		}
		b, err := Bundle(k, f.digest)
		if err != nil {
			t.Fatal(err)
		}
		if e := WriteBundle(ctx, r, authn.Anonymous, f.digest, b, PredicateCosignSign, time.Unix(0, 0)); e != nil {
			t.Fatalf("referrers API %v: write: %v", api, e)
		}
		checker, _ := signature.New(signature.Options{Keys: []signature.Key{k.Public}})
		res := checker.Check(ctx, r.Artifacts(registry.Anonymous), f.digest.Context(), f.digest.DigestStr())
		if res.Status != signature.StatusVerified || len(res.Artifacts) != 1 || res.Artifacts[0].Format != signature.FormatCosignBundle {
			t.Errorf("referrers API %v: %+v, want verified, one bundle", api, res)
		}
	}
}

func TestStatement(t *testing.T) {
	f, _ := newWriteFixture(t, false)
	b, err := Statement(f.digest)
	if err != nil {
		t.Fatal(err)
	}
	var s statement
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	if s.Type != "https://in-toto.io/Statement/v1" || s.PredicateType != PredicateCosignSign || len(s.Subject) != 1 ||
		"sha256:"+s.Subject[0].Digest["sha256"] != f.digest.DigestStr() || s.Subject[0].Name != f.digest.Context().Name() {
		t.Errorf("statement %s", b)
	}
}
