package signature

import (
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sigstore/sigstore-go/pkg/root"

	"github.com/imgtrust/kubectl-imgtrust/pkg/trustpolicy"
)

// The real public-good signature the tests verify, offline. Both files ship
// in the module github.com/sigstore/sigstore-go v1.3.0 (the version go.mod
// requires) and are read from the local module cache at test time:
//
//   - examples/bundle-provenance.json: a v0.1 sigstore bundle made by the
//     public-good Sigstore instance on 2023-04-18 (Fulcio certificate with an
//     embedded SCT, Rekor entry with its inclusion promise): the DSSE
//     envelope of the npm SLSA v0.2 provenance of pkg:npm/sigstore@1.3.0,
//     signed by sigstore-js's release workflow on GitHub Actions. Its
//     statement (examples/statement-provenance-sigstorejs1.3.0.json) names
//     the package by its sha512 only.
//   - examples/trusted-root-public-good.json: the public-good trusted root
//     (Fulcio CAs, Rekor and CT log keys) as sigstore-go's examples ship it.
const (
	pgBundle      = "examples/bundle-provenance.json"
	pgTrustedRoot = "examples/trusted-root-public-good.json"
	// pgSubject is the statement's subject: npm's sha512 of
	// sigstore-1.3.0.tgz.
	pgSubjectSHA512 = "76176ffa33808b54602c7c35de5c6e9a4deb96066dba6533f50ac234f4f1f4c6b3527515dc17c06fbe2860030f410eee69ea20079bd3a2c6f3dcf3b329b10751"
	// The certificate's SAN and Fulcio OIDC issuer extension.
	pgSubject = "https://github.com/sigstore/sigstore-js/.github/workflows/release.yml@refs/heads/main"
	pgIssuer  = "https://token.actions.githubusercontent.com"
)

// sigstoreGoFile reads a file of the sigstore-go module go.mod requires from
// the module cache (`go list -m` finds it; go test runs in this module). It
// skips the test when the module's directory cannot be found (no go
// command, or the module is not downloaded).
func sigstoreGoFile(t testing.TB, name string) []byte {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/sigstore/sigstore-go").Output()
	dir := strings.TrimSpace(string(out))
	if err != nil || dir == "" {
		t.Skipf("the sigstore-go module's directory cannot be found (go list -m: %v): no public-good test data", err)
	}
	b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(name)))
	if err != nil {
		t.Fatal(err) // the module is there but not the file: the test data moved
	}
	return b
}

// TestKeylessPublicGood verifies a real signature of the public-good
// Sigstore instance against the public-good trusted root, offline, with the
// functions Check uses for a certificate-signed bundle (parseBundle,
// bundleCertificate, newKeylessVerifier, keylessVerifier.check), with the
// transparency-log and SCT requirements (no ignore flag). The subject is an
// npm package named by its sha512, so the verification goes through
// checkDigest, which check calls with "sha256" for images.
func TestKeylessPublicGood(t *testing.T) {
	raw := sigstoreGoFile(t, pgBundle)
	material, err := LoadTrustedRoot(writeTemp(t, "trusted_root.json", sigstoreGoFile(t, pgTrustedRoot)))
	if err != nil {
		t.Fatal(err)
	}
	verifyPublicGood(t, raw, material)
}

// verifyPublicGood is TestKeylessPublicGood's cases over any trusted
// material (a trusted_root.json, or the TUF cache's).
func verifyPublicGood(t *testing.T, raw []byte, material root.TrustedMaterial) {
	t.Helper()
	b, err := parseBundle(raw, true)
	if err != nil {
		t.Fatal(err)
	}
	signedBy, ok := bundleCertificate(b)
	if wantBy := pgSubject + " (" + pgIssuer + ")"; !ok || signedBy != wantBy {
		t.Fatalf("bundleCertificate = %q, %v; want %q, true", signedBy, ok, wantBy)
	}
	digest, _ := hex.DecodeString(pgSubjectSHA512)
	tampered := append([]byte(nil), digest...)
	tampered[0] ^= 1

	run := func(id trustpolicy.Identity, alg string, d []byte) found {
		t.Helper()
		kv, err := newKeylessVerifier(&Keyless{Material: material, Identities: []trustpolicy.Identity{id}})
		if err != nil {
			t.Fatal(err)
		}
		f := found{Artifact: Artifact{SignedBy: signedBy}}
		if alg == "sha256" {
			kv.check(&f, b, d) // what Check calls for an image
		} else {
			kv.checkDigest(&f, b, alg, d)
		}
		return f
	}
	exact := trustpolicy.Identity{Issuer: pgIssuer, Subject: pgSubject}
	want := Signer{Kind: "keyless", Subject: pgSubject, Issuer: pgIssuer}

	for name, id := range map[string]trustpolicy.Identity{
		"exact":  exact,
		"regexp": {Issuer: pgIssuer, SubjectRegExp: `^https://github\.com/sigstore/sigstore-js/\.github/workflows/release\.yml@refs/heads/`},
	} {
		f := run(id, "sha512", digest)
		if !f.Verified || !f.claims || f.Problem != "" || len(f.verified) != 1 || f.verified[0] != want || f.SignedBy != signedBy {
			t.Errorf("%s identity: %+v, want verified by %+v", name, f, want)
		}
	}

	// Verified, by an identity not configured: other-key, nothing claimed.
	for name, id := range map[string]trustpolicy.Identity{
		"other subject": {Issuer: pgIssuer, Subject: "https://github.com/sigstore/sigstore-js/.github/workflows/other.yml@refs/heads/main"},
		"other issuer":  {Issuer: "https://accounts.google.com", Subject: pgSubject},
	} {
		f := run(id, "sha512", digest)
		if f.Verified || f.claims || f.Problem != "" || len(f.verified) != 0 || f.SignedBy != signedBy {
			t.Errorf("%s: %+v, want signed by %s, not verified, nothing claimed", name, f, signedBy)
		}
	}

	// Another digest: it claims the configured identity and is invalid,
	// with the reason. The sha256 path (images) finds no sha256 subject in
	// this statement: invalid too.
	for name, c := range map[string]struct {
		alg string
		d   []byte
	}{
		"tampered sha512": {"sha512", tampered},
		"sha256 (image)":  {"sha256", digest[:32]},
	} {
		f := run(exact, c.alg, c.d)
		if f.Verified || !f.claims || len(f.verified) != 0 || !strings.HasPrefix(f.Problem, "signed by "+signedBy+" but does not verify: ") || strings.ContainsAny(f.Problem, "\n\r") {
			t.Errorf("%s: %+v, want invalid with the reason on one line", name, f)
		}
	}
}

// TestKeylessPublicGoodStatement checks that the test's subject digest is
// the one the signed statement names (the published statement file).
func TestKeylessPublicGoodStatement(t *testing.T) {
	var st struct {
		Subject []struct {
			Digest map[string]string `json:"digest"`
		} `json:"subject"`
	}
	if err := json.Unmarshal(sigstoreGoFile(t, "examples/statement-provenance-sigstorejs1.3.0.json"), &st); err != nil {
		t.Fatal(err)
	}
	if len(st.Subject) != 1 || st.Subject[0].Digest["sha512"] != pgSubjectSHA512 {
		t.Fatalf("statement subjects %+v, want the sha512 %s", st.Subject, pgSubjectSHA512)
	}
}

func writeTemp(t testing.TB, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
