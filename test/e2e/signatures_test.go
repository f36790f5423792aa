//go:build e2e

package e2e

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/imgtrust/kubectl-imgtrust/pkg/audit"
	"github.com/imgtrust/kubectl-imgtrust/pkg/signature"
	"github.com/imgtrust/kubectl-imgtrust/test/faultregistry"
	"github.com/imgtrust/kubectl-imgtrust/test/fixture"
)

// TestSignaturesWithRealSigners signs images on the stack's private
// registry with the real cosign (legacy .sig and bundle) and notation,
// and checks what audit says through kubectl against cosign's own verify.
func TestSignaturesWithRealSigners(t *testing.T) {
	ctx := testContext(t)
	ns := newNamespace(t, "sigs")
	dir := t.TempDir()
	keyA, pubA := cosignKeys(t, dir, "a")
	keyB, pubB := cosignKeys(t, dir, "b")
	notationDir := t.TempDir()
	notationCert, err := stack.NotationSetup(ctx, notationDir)
	if err != nil {
		t.Fatal(err)
	}

	priv := stack.Registry + "/" + ns
	images := map[string]fixture.Pushed{}
	for _, name := range []string{"legacy", "bundle", "other", "unsigned", "notation"} {
		images[name] = push(t, priv+"/"+name+":1")
	}
	for name, sign := range map[string]func(string) error{
		"legacy":   func(ref string) error { return stack.CosignSign(ctx, keyA, ref, true) },
		"bundle":   func(ref string) error { return stack.CosignSign(ctx, keyA, ref, false) },
		"other":    func(ref string) error { return stack.CosignSign(ctx, keyB, ref, false) },
		"notation": func(ref string) error { return stack.NotationSign(ctx, notationDir, ref, false) },
	} {
		if err := sign(images[name].Repo() + "@" + images[name].Digest); err != nil {
			t.Fatalf("signing %s: %v", name, err)
		}
	}

	w := deployEach(t, ns, images)
	// A registry that refuses every signature lookup.
	reg, ca := faultregistry.StartForTest(t)
	if _, err := kube.CoreV1().Secrets(ns).Create(ctx, fixture.PullSecret(ns, "faultcred", reg.Host, reg.User, reg.Password), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := w.Deployment(ctx, "denied", 0, fixture.PodSpec([]string{"faultcred"}, fixture.Container("app", reg.Image(faultregistry.SignaturesDenied), corev1.PullAlways))); err != nil {
		t.Fatal(err)
	}

	rep, r := auditJSON(t, "-n", ns, "--verify-key", pubA, "--trust-cert", notationCert, "--registry-ca-file", ca)
	if r.Code != 0 {
		t.Fatalf("audit --verify-key: %s", r)
	}
	want := map[string]struct {
		status  signature.Status
		finding string
		format  string
	}{
		"legacy":   {signature.StatusVerified, "", signature.FormatCosignSig},
		"bundle":   {signature.StatusVerified, "", signature.FormatCosignBundle},
		"other":    {signature.StatusOtherKey, audit.IDSignedByUnknownKey, signature.FormatCosignBundle},
		"unsigned": {signature.StatusUnsigned, audit.IDUnsigned, ""},
		"notation": {signature.StatusVerified, "", signature.FormatNotation},
		"denied":   {signature.StatusLookupFailed, audit.IDSignatureLookupFailed, ""},
	}
	for name, w := range want {
		it := item(t, rep, "Deployment", name, "app")
		if it.Signature == nil || it.Signature.Status != w.status {
			t.Errorf("%s: signature %+v, want %s", name, it.Signature, w.status)
			continue
		}
		if it.Signature.DigestFrom != audit.DigestFromRegistry {
			t.Errorf("%s: digest from %q, want registry (no pods run)", name, it.Signature.DigestFrom)
		}
		if w.finding != "" {
			findingFor(t, it, w.finding)
		}
		if w.format != "" && (len(it.Signature.Artifacts) == 0 || it.Signature.Artifacts[0].Format != w.format) {
			t.Errorf("%s: artifacts %+v, want format %s", name, it.Signature.Artifacts, w.format)
		}
		t.Logf("%-8s %-14s %+v", name, it.Signature.Status, it.Signature.Artifacts)
	}

	// cosign's own verify agrees on every cosign case.
	for name, wantOK := range map[string]bool{"legacy": true, "bundle": true, "other": false, "unsigned": false} {
		img := images[name]
		ok, out := stack.CosignVerify(ctx, pubA, img.Repo()+"@"+img.Digest)
		if ok != wantOK {
			t.Errorf("cosign verify --key a.pub %s: ok=%v, want %v\n%s", name, ok, wantOK, out)
		}
	}
	if ok, out := stack.CosignVerify(ctx, pubB, images["other"].Repo()+"@"+images["other"].Digest); !ok {
		t.Errorf("cosign verify --key b.pub other: want ok\n%s", out)
	}

	// Presence only: who signed, unverified.
	rep, r = auditJSON(t, "-n", ns, "--signatures", "deploy/bundle", "deploy/notation", "deploy/unsigned")
	if r.Code != 0 {
		t.Fatalf("audit --signatures: %s", r)
	}
	for name, st := range map[string]signature.Status{"bundle": signature.StatusUnverified, "notation": signature.StatusUnverified, "unsigned": signature.StatusUnsigned} {
		if it := item(t, rep, "Deployment", name, "app"); it.Signature == nil || it.Signature.Status != st {
			t.Errorf("--signatures %s: %+v, want %s", name, it.Signature, st)
		}
	}

	// The table's SIGNED column.
	table := kubectl(t, "imgtrust", "audit", "-n", ns, "--verify-key", pubA, "deploy/bundle", "deploy/other")
	if !strings.Contains(table.Stdout, "SIGNED") || !strings.Contains(table.Stdout, "verified") || !strings.Contains(table.Stdout, "other-key") {
		t.Errorf("audit table: want a SIGNED column with verified and other-key\n%s", table)
	}

	// pin --verify-key pins what our key signed and refuses the rest.
	ok := kubectl(t, "imgtrust", "pin", "-n", ns, "deploy/bundle", "--source=registry", "--verify-key", pubA)
	if ok.Code != 0 || !strings.Contains(ok.Stdout+ok.Stderr, images["bundle"].Digest[:19]) {
		t.Errorf("pin deploy/bundle --verify-key: want a plan with the digest\n%s", ok)
	}
	refused := kubectl(t, "imgtrust", "pin", "-n", ns, "deploy/other", "--source=registry", "--verify-key", pubA, "--apply")
	if !strings.Contains(refused.Stdout+refused.Stderr, "not signed by a --verify-key") {
		t.Errorf("pin deploy/other --verify-key: want a refusal\n%s", refused)
	}
	d, err := kube.AppsV1().Deployments(ns).Get(ctx, "other", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if img := d.Spec.Template.Spec.Containers[0].Image; img != images["other"].Ref {
		t.Errorf("deploy/other image = %s, want it untouched", img)
	}
}
