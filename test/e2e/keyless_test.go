//go:build e2e

package e2e

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/imgtrust/kubectl-imgtrust/pkg/audit"
	"github.com/imgtrust/kubectl-imgtrust/pkg/signature"
	"github.com/imgtrust/kubectl-imgtrust/test/fixture"
)

// TestKeylessTrustPolicy makes a private keyless PKI at test time (a CA,
// leaf certificates with Fulcio's issuer extension, a trusted_root.json
// from the real cosign), signs images with the real cosign as two
// identities, by a foreign CA and by a key, and checks that one audit
// --trust-policy says verified / other identity / invalid / unsigned per
// rule through kubectl, as cosign verify does. acme/legacy is signed by
// the app identity in cosign's legacy format (the certificate in the .sig
// layer's annotations) and verifies as the bundle does.
func TestKeylessTrustPolicy(t *testing.T) {
	ctx := testContext(t)
	ns := newNamespace(t, "keyless")
	dir := t.TempDir()
	const issuer = "https://token.actions.githubusercontent.com"
	subjectApp := "https://github.com/acme/app/.github/workflows/release.yaml@refs/heads/main"
	subjectOther := "https://github.com/acme/other/.github/workflows/release.yaml@refs/heads/main"
	ca, err := fixture.NewKeylessCA(filepath.Join(dir, "ca"))
	if err != nil {
		t.Fatal(err)
	}
	foreign, err := fixture.NewKeylessCA(filepath.Join(dir, "foreign"))
	if err != nil {
		t.Fatal(err)
	}
	trustedRoot, err := stack.TrustedRoot(ctx, dir, ca)
	if err != nil {
		t.Fatal(err)
	}
	type signer struct{ key, cert, chain string }
	leaf := func(c *fixture.KeylessCA, name, subject string) signer {
		key, cert, err := c.Leaf(filepath.Join(dir, name), name, issuer, subject)
		if err != nil {
			t.Fatal(err)
		}
		return signer{key, cert, c.CertPath}
	}
	app, other, rogue := leaf(ca, "app", subjectApp), leaf(ca, "other", subjectOther), leaf(foreign, "rogue", subjectApp)
	vendorKey, vendorPub := cosignKeys(t, dir, "vendor")

	priv := stack.Registry + "/" + ns
	images := map[string]fixture.Pushed{}
	for name, ref := range map[string]string{
		"app": priv + "/acme/app:1", "other": priv + "/acme/other:1", "rogue": priv + "/acme/rogue:1", "legacy": priv + "/acme/legacy:1",
		"tool": priv + "/vendor/tool:1", "unsigned": priv + "/misc/unsigned:1",
	} {
		images[name] = push(t, ref)
	}
	for name, s := range map[string]signer{"app": app, "other": other, "rogue": rogue} {
		if err := stack.CosignSignKeyless(ctx, s.key, s.cert, s.chain, images[name].Repo()+"@"+images[name].Digest); err != nil {
			t.Fatalf("signing %s keyless: %v", name, err)
		}
	}
	if err := stack.CosignSignKeylessLegacy(ctx, app.key, app.cert, app.chain, images["legacy"].Repo()+"@"+images["legacy"].Digest); err != nil {
		t.Fatalf("signing legacy keyless: %v", err)
	}
	if err := stack.CosignSign(ctx, vendorKey, images["tool"].Repo()+"@"+images["tool"].Digest, false); err != nil {
		t.Fatal(err)
	}
	deployEach(t, ns, images)
	policy := filepath.Join(dir, "trust.yaml")
	writeFile(t, policy, `apiVersion: imgtrust.dev/v1alpha1
kind: TrustPolicy
rules:
- images: ["`+priv+`/acme/**"]
  keyless: [{issuer: `+issuer+`, subjectRegExp: '^https://github\.com/acme/app/'}]
  ignoreTlog: true      # a private PKI: no Rekor, no CT log
  ignoreSCT: true
- images: ["`+priv+`/vendor/*"]
  keys: [`+filepath.Base(vendorPub)+`]
- images: ["**"]
  action: report-unsigned
`)
	rep, r := auditJSON(t, "-n", ns, "--trust-policy", policy, "--trusted-root", trustedRoot)
	if r.Code != 0 {
		t.Fatalf("audit --trust-policy --trusted-root: %s", r)
	}
	want := map[string]struct {
		status  signature.Status
		finding string
		text    string
	}{
		"app":      {signature.StatusVerified, "", ""},
		"legacy":   {signature.StatusVerified, "", ""},
		"other":    {signature.StatusOtherKey, audit.IDSignedByUnknownKey, subjectOther},
		"rogue":    {signature.StatusInvalid, audit.IDSignatureInvalid, ""},
		"tool":     {signature.StatusVerified, "", ""},
		"unsigned": {signature.StatusUnsigned, audit.IDUnsigned, ""},
	}
	for name, w := range want {
		it := item(t, rep, "Deployment", name, "app")
		if it.Signature == nil || it.Signature.Status != w.status {
			t.Errorf("%s: signature %+v, want %s", name, it.Signature, w.status)
			continue
		}
		if w.finding != "" {
			if f := findingFor(t, it, w.finding); !strings.Contains(f.Message, w.text) {
				t.Errorf("%s: %s says %q, want %q in it", name, w.finding, f.Message, w.text)
			}
		}
	}
	if v := item(t, rep, "Deployment", "app", "app").Signature.VerifiedBy; len(v) != 1 || v[0].Kind != "keyless" || v[0].Subject != subjectApp || v[0].Issuer != issuer {
		t.Errorf("app verified by %+v, want the keyless identity %s (%s)", v, subjectApp, issuer)
	}
	if sig := item(t, rep, "Deployment", "legacy", "app").Signature; len(sig.VerifiedBy) != 1 || sig.VerifiedBy[0].Kind != "keyless" || sig.VerifiedBy[0].Subject != subjectApp ||
		len(sig.Artifacts) != 1 || sig.Artifacts[0].Format != signature.FormatCosignSig || sig.Artifacts[0].Via != signature.ViaSigTag {
		t.Errorf("legacy: %+v, want one legacy .sig signature verified by the keyless identity %s", sig, subjectApp)
	}

	// cosign verify with the same trusted root and identity agrees.
	for name, ok := range map[string]bool{"app": true, "legacy": true, "other": false, "rogue": false, "unsigned": false} {
		img := images[name]
		if got, out := stack.CosignVerifyKeyless(ctx, trustedRoot, subjectApp, issuer, img.Repo()+"@"+img.Digest); got != ok {
			t.Errorf("cosign verify --certificate-identity app %s: ok=%v, want %v\n%s", name, got, ok, out)
		}
	}
	if got, out := stack.CosignVerifyKeyless(ctx, trustedRoot, subjectOther, issuer, images["other"].Repo()+"@"+images["other"].Digest); !got {
		t.Errorf("cosign verify --certificate-identity other: want ok\n%s", out)
	}

	// One keyless authority for all images, with cosign's flag names.
	rep, r = auditJSON(t, "-n", ns, "deploy/app", "deploy/other", "--trusted-root", trustedRoot,
		"--certificate-identity", subjectApp, "--certificate-oidc-issuer", issuer, "--insecure-ignore-tlog", "--insecure-ignore-sct")
	if r.Code != 0 {
		t.Fatalf("audit --certificate-identity: %s", r)
	}
	for name, st := range map[string]signature.Status{"app": signature.StatusVerified, "other": signature.StatusOtherKey} {
		if it := item(t, rep, "Deployment", name, "app"); it.Signature == nil || it.Signature.Status != st {
			t.Errorf("--certificate-identity %s: %+v, want %s", name, it.Signature, st)
		}
	}
	// pin holds digests to the keyless rule too.
	r = kubectl(t, "imgtrust", "pin", "-n", ns, "deploy/app", "deploy/other", "--source=registry", "--trust-policy", policy, "--trusted-root", trustedRoot)
	if r.Code != 1 || !strings.Contains(r.Stdout+r.Stderr, images["app"].Digest[:19]) || !strings.Contains(r.Stderr, "not signed by an authority of rules[0]") {
		t.Errorf("pin --trust-policy: want app planned and other refused by rules[0] (exit 1)\n%s", r)
	}

	// Without --trusted-root the public-good root comes from the local
	// Sigstore TUF cache, offline; with none cached, the rule is refused by
	// name, with what to do, and nothing is asked of the network.
	emptyCache := t.TempDir()
	r = kubectlEnv(t, []string{"TUF_ROOT=" + emptyCache}, "imgtrust", "audit", "-n", ns, "--trust-policy", policy)
	if r.Code != 2 || r.Stdout != "" || !strings.Contains(r.Stderr, "rules[0].keyless: no cached Sigstore public-good trusted root in "+emptyCache) || !strings.Contains(r.Stderr, "--trusted-root") {
		t.Errorf("a keyless policy without --trusted-root or a TUF cache: want exit 2 naming rules[0].keyless and the cache\n%s", r)
	}
}
