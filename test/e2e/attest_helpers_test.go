//go:build e2e

package e2e

import (
	"testing"

	"github.com/imgtrust/kubectl-imgtrust/test/fixture"
)

// attestation is one cosign attest: its --type, the predicate file, and
// whether it goes into the legacy .att tag rather than a bundle referrer.
type attestation struct {
	typ, predicate string
	legacy         bool
}

// pushAttested pushes a new image to ref and attests its digest with the
// real cosign and key, once per attestation.
func pushAttested(t *testing.T, ref, key string, atts ...attestation) fixture.Pushed {
	t.Helper()
	img := push(t, ref)
	for _, a := range atts {
		if err := stack.CosignAttest(testContext(t), key, img.Repo()+"@"+img.Digest, a.predicate, a.typ, a.legacy); err != nil {
			t.Fatalf("cosign attest --type %s %s: %v", a.typ, img.Ref, err)
		}
	}
	return img
}
