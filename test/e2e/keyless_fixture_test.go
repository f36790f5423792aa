//go:build e2e

package e2e

import (
	"crypto/x509"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/imgtrust/kubectl-imgtrust/test/fixture"
)

const (
	keylessSubject = "https://github.com/acme/app/.github/workflows/release.yaml@refs/heads/main"
	keylessIssuer  = "https://token.actions.githubusercontent.com"
)

// TestKeylessFixtureOracle checks the keyless fixture with no internet: a
// Fulcio-like CA made now, the real cosign signing with its leaves (no
// Rekor, no CT log), and the real cosign verify against the private
// trusted_root.json as the oracle. It logs where the bundles land.
func TestKeylessFixtureOracle(t *testing.T) {
	ctx := testContext(t)
	dirA, dirB := filepath.Join(t.TempDir(), "a"), filepath.Join(t.TempDir(), "b")
	for _, d := range []string{dirA, dirB} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	caA, err := fixture.NewKeylessCA(dirA)
	if err != nil {
		t.Fatal(err)
	}
	caB, err := fixture.NewKeylessCA(dirB)
	if err != nil {
		t.Fatal(err)
	}
	keyA, certA, err := caA.Leaf(dirA, "release", keylessIssuer, keylessSubject)
	if err != nil {
		t.Fatal(err)
	}
	// Same identity and issuer, another CA: only the chain tells them apart.
	keyB, certB, err := caB.Leaf(dirB, "release", keylessIssuer, keylessSubject)
	if err != nil {
		t.Fatal(err)
	}
	trustedRoot, err := stack.TrustedRoot(ctx, dirA, caA)
	if err != nil {
		t.Fatal(err)
	}
	rootB, err := stack.TrustedRoot(ctx, dirB, caB)
	if err != nil {
		t.Fatal(err)
	}
	if raw, err := os.ReadFile(trustedRoot); err == nil {
		t.Logf("trusted_root.json: %s", raw)
	}

	base := stack.Registry + "/keyless-" + randomSuffix()
	signed, otherCA, noChain := push(t, base+"/signed:1"), push(t, base+"/other-ca:1"), push(t, base+"/no-chain:1")
	signedRef := signed.Repo() + "@" + signed.Digest
	otherCARef := otherCA.Repo() + "@" + otherCA.Digest
	noChainRef := noChain.Repo() + "@" + noChain.Digest
	if err := stack.CosignSignKeyless(ctx, keyA, certA, caA.CertPath, signedRef); err != nil {
		t.Fatal(err)
	}
	if err := stack.CosignSignKeyless(ctx, keyB, certB, caB.CertPath, otherCARef); err != nil {
		t.Fatal(err)
	}
	if err := stack.CosignSignKeyless(ctx, keyA, certA, "", noChainRef); err != nil {
		t.Fatal(err)
	}

	// Each refusal must be for its own reason: cosign says "no signatures
	// found" for a bundle it could not even load.
	for _, c := range []struct {
		name, root, ref, identity, issuer string
		wantErr                           string // "" for a pass
	}{
		{"right identity and issuer", trustedRoot, signedRef, keylessSubject, keylessIssuer, ""},
		{"right identity, bundle without chain", trustedRoot, noChainRef, keylessSubject, keylessIssuer, ""},
		{"another subject", trustedRoot, signedRef, "https://github.com/acme/other/.github/workflows/release.yaml@refs/heads/main", keylessIssuer, "expected SAN value"},
		{"another issuer", trustedRoot, signedRef, keylessSubject, "https://accounts.google.com", "expected issuer value"},
		{"leaf of another CA", trustedRoot, otherCARef, keylessSubject, keylessIssuer, "leaf certificate verification failed"},
		{"leaf of another CA, its own root", rootB, otherCARef, keylessSubject, keylessIssuer, ""},
	} {
		ok, out := stack.CosignVerifyKeyless(ctx, c.root, c.identity, c.issuer, c.ref)
		switch {
		case c.wantErr == "" && !ok:
			t.Errorf("%s: cosign verify failed:\n%s", c.name, out)
		case c.wantErr != "" && ok:
			t.Errorf("%s: cosign verify passed, want %q:\n%s", c.name, c.wantErr, out)
		case c.wantErr != "" && !strings.Contains(out, c.wantErr):
			t.Errorf("%s: cosign verify failed, but not with %q:\n%s", c.name, c.wantErr, out)
		case !ok:
			t.Logf("%s: cosign verify fails as it should: %s", c.name, lastLine(out))
		default:
			t.Logf("%s: cosign verify passes", c.name)
		}
	}

	// Where the bundles are and what they carry, for the plugin's side.
	for _, ref := range []string{signedRef, noChainRef} {
		bundles, err := stack.SigstoreBundles(ctx, ref)
		if err != nil {
			t.Fatal(err)
		}
		if len(bundles) != 1 {
			t.Fatalf("%s: %d sigstore bundles among the referrers, want 1", ref, len(bundles))
		}
		b := bundles[0]
		t.Logf("%s: bundle %s via %s, artifactType %s, layer %s, annotations %v",
			ref, b.Manifest, b.Via, b.ArtifactType, b.LayerType, b.Annotations)
		var bundle struct {
			MediaType            string `json:"mediaType"`
			VerificationMaterial struct {
				Certificate *struct {
					RawBytes []byte `json:"rawBytes"`
				} `json:"certificate"`
				X509CertificateChain *struct {
					Certificates []struct {
						RawBytes []byte `json:"rawBytes"`
					} `json:"certificates"`
				} `json:"x509CertificateChain"`
				PublicKey   json.RawMessage `json:"publicKey"`
				TlogEntries json.RawMessage `json:"tlogEntries"`
			} `json:"verificationMaterial"`
			DSSE json.RawMessage `json:"dsseEnvelope"`
		}
		if err := json.Unmarshal(b.JSON, &bundle); err != nil {
			t.Fatalf("%s: bundle is not JSON: %v\n%s", ref, err, b.JSON)
		}
		vm := bundle.VerificationMaterial
		var leaf []byte
		kind := ""
		switch {
		case vm.Certificate != nil:
			leaf, kind = vm.Certificate.RawBytes, "certificate"
		case vm.X509CertificateChain != nil && len(vm.X509CertificateChain.Certificates) > 0:
			leaf, kind = vm.X509CertificateChain.Certificates[0].RawBytes, "x509CertificateChain"
			t.Logf("%s: chain of %d certificate(s)", ref, len(vm.X509CertificateChain.Certificates))
		default:
			t.Fatalf("%s: bundle carries no certificate (public key hint: %s):\n%s", ref, vm.PublicKey, b.JSON)
		}
		cert, err := x509.ParseCertificate(leaf)
		if err != nil {
			t.Fatalf("%s: %s does not parse: %v", ref, kind, err)
		}
		if len(cert.URIs) != 1 || cert.URIs[0].String() != keylessSubject {
			t.Errorf("%s: leaf SAN URIs %v, want [%s]", ref, cert.URIs, keylessSubject)
		}
		if len(vm.PublicKey) > 0 || len(vm.TlogEntries) > 0 && string(vm.TlogEntries) != "[]" {
			t.Errorf("%s: bundle has a public key hint or tlog entries:\n%s", ref, b.JSON)
		}
		t.Logf("%s: bundle %s, verification material %s, no tlogEntries, DSSE envelope %v",
			ref, bundle.MediaType, kind, len(bundle.DSSE) > 0)
	}
}
