package signature

import (
	"encoding/hex"
	"testing"

	"github.com/imgtrust/kubectl-imgtrust/pkg/trustpolicy"
)

// BenchmarkKeylessVerify is the CPU of one keyless verification (parse the
// bundle, chain, SET, SCT off, signature, identity) as audit does it per
// signed digest. The target: 500 signatures under 2 s of CPU, i.e.
// under 4 ms each on one core (run: go test -bench Keyless ./pkg/signature).
func BenchmarkKeylessVerify(b *testing.B) {
	vs := virtualSigstore(b)
	digest := "4f6d3c2b1a09f8e7d6c5b4a39281706f5e4d3c2b1a09f8e7d6c5b4a392817060"
	raw := keylessBundle(b, vs, idA, "registry.example/app", digest, keylessOpts{})
	kv, err := newKeylessVerifier(&Keyless{Material: vs, Identities: []trustpolicy.Identity{{Issuer: issuer, Subject: idA}}, IgnoreSCT: true})
	if err != nil {
		b.Fatal(err)
	}
	want, _ := hex.DecodeString(digest)
	b.ReportAllocs()
	for b.Loop() {
		bundle, err := parseBundle(raw, true)
		if err != nil {
			b.Fatal(err)
		}
		var f found
		kv.check(&f, bundle, want)
		if !f.Verified {
			b.Fatalf("not verified: %+v", f)
		}
	}
}
