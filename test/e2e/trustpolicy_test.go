//go:build e2e

package e2e

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/imgtrust/kubectl-imgtrust/pkg/audit"
	"github.com/imgtrust/kubectl-imgtrust/pkg/signature"
	"github.com/imgtrust/kubectl-imgtrust/test/fixture"
)

// TestTrustPolicy signs images of two repositories with two real cosign
// keys and checks that one audit --trust-policy holds each image to its
// own rule's key, through kubectl, as cosign verify agrees.
func TestTrustPolicy(t *testing.T) {
	ctx := testContext(t)
	ns := newNamespace(t, "trust")
	dir := t.TempDir()
	keyA, pubA := cosignKeys(t, dir, "acme")
	keyB, pubB := cosignKeys(t, dir, "vendor")
	priv := stack.Registry + "/" + ns
	images := map[string]fixture.Pushed{}
	for name, ref := range map[string]string{
		"web": priv + "/acme/web:1", "other": priv + "/acme/other:1", "unsigned": priv + "/acme/unsigned:1",
		"tool": priv + "/vendor/tool:1", "stray": priv + "/misc/stray:1",
		"attested": priv + "/built/attested:1", "attested-legacy": priv + "/built/attested-legacy:1",
		"unattested": priv + "/built/unattested:1", "attested-by-b": priv + "/built/attested-by-b:1",
	} {
		images[name] = push(t, ref)
	}
	for name, key := range map[string]string{"web": keyA, "other": keyB, "tool": keyB,
		"attested": keyA, "attested-legacy": keyA, "unattested": keyA, "attested-by-b": keyA} {
		if err := stack.CosignSign(ctx, key, images[name].Repo()+"@"+images[name].Digest, false); err != nil {
			t.Fatalf("signing %s: %v", name, err)
		}
	}
	// SLSA v1 provenance attested with the real cosign: by key A as a
	// bundle and as a legacy .att, and by key B, which the rule does not
	// name.
	predicate := filepath.Join(dir, "provenance.json")
	writeFile(t, predicate, slsaPredicate)
	for name, a := range map[string]struct {
		key    string
		legacy bool
	}{"attested": {keyA, false}, "attested-legacy": {keyA, true}, "attested-by-b": {keyB, false}} {
		if err := stack.CosignAttest(ctx, a.key, images[name].Repo()+"@"+images[name].Digest, predicate, "slsaprovenance1", a.legacy); err != nil {
			t.Fatalf("attesting %s: %v", name, err)
		}
	}
	deployEach(t, ns, images)
	// Keys are named relative to the policy file; no catch-all rule.
	policy := filepath.Join(dir, "trust.yaml")
	writeFile(t, policy, `apiVersion: imgtrust.dev/v1alpha1
kind: TrustPolicy
rules:
- images: ["`+priv+`/acme/**"]
  keys: [`+filepath.Base(pubA)+`]
  action: require
- images: ["`+priv+`/vendor/*"]
  keys: [`+filepath.Base(pubB)+`]
- images: ["`+priv+`/built/**"]
  keys: [`+filepath.Base(pubA)+`]
  require: [signature, "attestation:https://slsa.dev/provenance/v1"]
`)
	rep, r := auditJSON(t, "-n", ns, "--trust-policy", policy)
	if r.Code != 0 {
		t.Fatalf("audit --trust-policy: %s", r)
	}
	acme, vendor, built := "rules[0] ("+priv+"/acme/**)", "rules[1] ("+priv+"/vendor/*)", "rules[2] ("+priv+"/built/**)"
	want := map[string]struct {
		status   signature.Status
		rule     string
		finding  string
		severity audit.Severity
	}{
		"web":      {signature.StatusVerified, acme, "", ""},
		"other":    {signature.StatusOtherKey, acme, audit.IDSignedByUnknownKey, audit.SeverityHigh},
		"unsigned": {signature.StatusUnsigned, acme, audit.IDUnsigned, audit.SeverityHigh}, // action: require
		"tool":     {signature.StatusVerified, vendor, "", ""},
		"stray":    {"", "", audit.IDNoTrustRule, audit.SeverityLow},
		// require: [signature, "attestation:..."]: signed by key A, and
		// its attestation missing or by the other key.
		"attested":        {signature.StatusVerified, built, "", ""},
		"attested-legacy": {signature.StatusVerified, built, "", ""},
		"unattested":      {signature.StatusVerified, built, audit.IDAttestationMissing, audit.SeverityHigh},
		"attested-by-b":   {signature.StatusVerified, built, audit.IDAttestationUnverified, audit.SeverityHigh},
	}
	for name, w := range want {
		it := item(t, rep, "Deployment", name, "app")
		switch {
		case w.status == "" && it.Signature != nil:
			t.Errorf("%s: checked (%+v) though no rule covers it", name, it.Signature)
		case w.status != "" && (it.Signature == nil || it.Signature.Status != w.status || it.Signature.Rule != w.rule):
			t.Errorf("%s: signature %+v, want %s by %s", name, it.Signature, w.status, w.rule)
		}
		if w.finding != "" {
			if f := findingFor(t, it, w.finding); f.Severity != w.severity {
				t.Errorf("%s: %s is %s, want %s", name, w.finding, f.Severity, w.severity)
			}
		}
	}
	if f := findingFor(t, item(t, rep, "Deployment", "other", "app"), audit.IDSignedByUnknownKey); !strings.Contains(f.Message, "not by an authority "+acme) {
		t.Errorf("signed-by-unknown-key under a policy names the rule: %q", f.Message)
	}
	// Each required attestation's verdict, by name: verified by key A,
	// missing, or present but not by the rule's key (never "missing").
	const slsaV1 = "https://slsa.dev/provenance/v1"
	for name, w := range map[string]signature.RequiredStatus{"attested": signature.RequiredVerified, "attested-legacy": signature.RequiredVerified,
		"unattested": signature.RequiredMissing, "attested-by-b": signature.RequiredUnverified} {
		it := item(t, rep, "Deployment", name, "app")
		if s := it.Signature; s == nil || len(s.Required) != 1 || s.Required[0].PredicateType != slsaV1 || s.Required[0].Status != w {
			t.Errorf("%s: required attestations %+v, want %s %s", name, it.Signature, slsaV1, w)
			continue
		}
		for _, f := range it.Findings {
			if (f.ID == audit.IDAttestationMissing || f.ID == audit.IDAttestationUnverified) && (!strings.Contains(f.Message, slsaV1) || !strings.Contains(f.Message, built)) {
				t.Errorf("%s: %s names neither the predicate type nor the rule: %q", name, f.ID, f.Message)
			}
		}
		if w == signature.RequiredVerified {
			for _, f := range it.Findings {
				if f.ID == audit.IDAttestationMissing || f.ID == audit.IDAttestationUnverified || f.ID == audit.IDAttestationLookupFailed {
					t.Errorf("%s: %s though its attestation verifies: %s", name, f.ID, f.Message)
				}
			}
		}
	}
	// -o wide names each image's rule.
	wide := kubectl(t, "imgtrust", "audit", "-n", ns, "--trust-policy", policy, "-o", "wide")
	if !strings.Contains(wide.Stdout, "TRUST RULE") || !strings.Contains(wide.Stdout, "rules[1]") {
		t.Errorf("audit -o wide: want a TRUST RULE column naming rules[1]\n%s", wide)
	}
	if !regexp.MustCompile(`(?m)^\s+unsigned\s+high\s`).MatchString(wide.Stderr) {
		t.Errorf("the summary gives unsigned the severity its rule raised it to (high)\n%s", wide)
	}
	t.Logf("audit --trust-policy -o wide:\n%s", wide)

	// cosign's own verify agrees with every verdict.
	for name, c := range map[string]struct {
		pub string
		ok  bool
	}{"web": {pubA, true}, "other": {pubA, false}, "unsigned": {pubA, false}, "tool": {pubB, true}} {
		img := images[name]
		if ok, out := stack.CosignVerify(ctx, c.pub, img.Repo()+"@"+img.Digest); ok != c.ok {
			t.Errorf("cosign verify %s with %s: ok=%v, want %v\n%s", name, filepath.Base(c.pub), ok, c.ok, out)
		}
	}

	// pin holds each digest to its rule: web is pinned, other is refused
	// naming the rule, stray is refused as uncovered.
	r = kubectl(t, "imgtrust", "pin", "-n", ns, "deploy/web", "--source=registry", "--trust-policy", policy)
	if r.Code != 0 || !strings.Contains(r.Stdout+r.Stderr, images["web"].Digest[:19]) {
		t.Errorf("pin deploy/web --trust-policy: want a plan with its digest\n%s", r)
	}
	r = kubectl(t, "imgtrust", "pin", "-n", ns, "deploy/other", "deploy/stray", "--source=registry", "--trust-policy", policy)
	if r.Code != 1 || !strings.Contains(r.Stderr, "not signed by an authority of "+acme) || !strings.Contains(r.Stderr, "no rule of "+policy+" covers") {
		t.Errorf("pin of other and stray: want both refused (exit 1) with their reasons\n%s", r)
	}

	r = kubectl(t, "imgtrust", "pin", "-n", ns, "deploy/attested", "--source=registry", "--trust-policy", policy)
	if r.Code != 0 || !strings.Contains(r.Stdout+r.Stderr, images["attested"].Digest[:19]) {
		t.Errorf("pin deploy/attested --trust-policy: want a plan with its digest\n%s", r)
	}
	r = kubectl(t, "imgtrust", "pin", "-n", ns, "deploy/unattested", "--source=registry", "--trust-policy", policy)
	if r.Code != 1 || !strings.Contains(r.Stderr, "has no "+slsaV1+" attestation verified by an authority of "+built) {
		t.Errorf("pin of unattested: want it refused (exit 1) naming the attestation and the rule\n%s", r)
	}

	// Bad input: one line naming the file, the rule and the field; exit 2,
	// nothing audited.
	bad := filepath.Join(dir, "bad.yaml")
	writeFile(t, bad, "apiVersion: imgtrust.dev/v1alpha1\nkind: TrustPolicy\nrules:\n- images: [\"**\"]\n  keys: [missing.pub]\n")
	r = kubectl(t, "imgtrust", "audit", "-n", ns, "--trust-policy", bad)
	if r.Code != 2 || r.Stdout != "" || !strings.Contains(r.Stderr, "rules[0].keys") || strings.Count(strings.TrimSpace(r.Stderr), "\n") != 0 {
		t.Errorf("a policy naming a missing key: want one line naming rules[0].keys, exit 2, nothing on stdout\n%s", r)
	}
	writeFile(t, bad, "apiVersion: imgtrust.dev/v1alpha1\nkind: TrustPolicy\nrules:\n- images: [\"**\"]\n  keys: ["+filepath.Base(pubA)+"]\n  require: [signature, sbom]\n")
	r = kubectl(t, "imgtrust", "audit", "-n", ns, "--trust-policy", bad)
	if r.Code != 2 || r.Stdout != "" || !strings.Contains(r.Stderr, bad+": rules[0].require[1]: \"sbom\" is not a requirement") || strings.Count(strings.TrimSpace(r.Stderr), "\n") != 0 {
		t.Errorf("an unknown require entry: want one line naming rules[0].require[1], exit 2, nothing on stdout\n%s", r)
	}

	// The vendor key from a Secret in the cluster (k8s://NAMESPACE/NAME,
	// its cosign.pub, as cosign generate-key-pair k8s:// makes it).
	pemB, err := os.ReadFile(pubB)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kube.CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "vendor-key"}, Data: map[string][]byte{"cosign.pub": pemB},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	k8sPolicy := func(secret string) string {
		return `apiVersion: imgtrust.dev/v1alpha1
kind: TrustPolicy
rules:
- images: ["` + priv + `/acme/**"]
  keys: [` + filepath.Base(pubA) + `]
  action: require
- images: ["` + priv + `/vendor/*"]
  keys: ["k8s://` + ns + `/` + secret + `"]
`
	}
	inCluster := filepath.Join(dir, "in-cluster.yaml")
	writeFile(t, inCluster, k8sPolicy("vendor-key"))
	rep, r = auditJSON(t, "-n", ns, "--trust-policy", inCluster)
	if r.Code != 0 {
		t.Fatalf("audit --trust-policy with a k8s:// key: %s", r)
	}
	tool := item(t, rep, "Deployment", "tool", "app")
	if s := tool.Signature; s == nil || s.Status != signature.StatusVerified || s.Rule != vendor || len(s.VerifiedBy) != 1 || s.VerifiedBy[0].File != "k8s://"+ns+"/vendor-key" {
		t.Errorf("tool with the vendor key from k8s://%s/vendor-key: %+v, want verified by %s, the key named by its reference", ns, s, vendor)
	}
	if s := item(t, rep, "Deployment", "web", "app").Signature; s == nil || s.Status != signature.StatusVerified {
		t.Errorf("web (a file key beside the k8s:// one): %+v, want verified", s)
	}
	if strings.Contains(r.Stdout+r.Stderr, "BEGIN PUBLIC KEY") {
		t.Errorf("the key's PEM is printed\n%s", r)
	}
	missing := filepath.Join(dir, "missing-secret.yaml")
	writeFile(t, missing, k8sPolicy("no-such-key"))
	r = kubectl(t, "imgtrust", "audit", "-n", ns, "--trust-policy", missing)
	if r.Code != 2 || r.Stdout != "" || !strings.Contains(r.Stderr, "rules[1].keys[0]: k8s://"+ns+"/no-such-key: no Secret") || strings.Count(strings.TrimSpace(r.Stderr), "\n") != 0 {
		t.Errorf("a policy naming a missing Secret: want one line naming rules[1].keys[0] and the reference, exit 2, nothing on stdout\n%s", r)
	}
}

// deployEach creates the private registry's pull secret regcred in ns and
// a Deployment per image (no replicas), named as the map's keys, each with
// one container "app" pulling the image with it.
func deployEach(t *testing.T, ns string, images map[string]fixture.Pushed) fixture.Workloads {
	t.Helper()
	ctx := testContext(t)
	if _, err := kube.CoreV1().Secrets(ns).Create(ctx, fixture.PullSecret(ns, "regcred", stack.Registry, stack.RegistryUser, stack.RegistryPassword), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	w := fixture.Workloads{CS: kube, NS: ns}
	for name, img := range images {
		if err := w.Deployment(ctx, name, 0, fixture.PodSpec([]string{"regcred"}, fixture.Container("app", img.Ref, corev1.PullAlways))); err != nil {
			t.Fatal(err)
		}
	}
	return w
}

// cosignKeys makes a cosign key pair NAME.key, NAME.pub in dir with the
// real cosign.
func cosignKeys(t *testing.T, dir, name string) (key, pub string) {
	t.Helper()
	key, pub, err := stack.CosignKeyPair(testContext(t), dir, name)
	if err != nil {
		t.Fatal(err)
	}
	return key, pub
}

func writeFile(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}
