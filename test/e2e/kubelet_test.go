//go:build e2e

package e2e

import (
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/imgtrust/kubectl-imgtrust/pkg/audit"
	"github.com/imgtrust/kubectl-imgtrust/test/faultregistry"
	"github.com/imgtrust/kubectl-imgtrust/test/fixture"
)

// The kubelet's answer, case by case: the items 1–4 through the
// real kubectl on the real stack.

// findingFor returns the item's finding with that ID, failing if absent.
func findingFor(t *testing.T, it audit.Item, id string) audit.Finding {
	t.Helper()
	for _, f := range it.Findings {
		if f.ID == id {
			return f
		}
	}
	t.Fatalf("%s/%s: no %s finding among %v", it.Kind, it.Name, id, findingIDs(it))
	return audit.Finding{}
}

// An allowlist entry on Docker Hub means exactly the path written: no
// implicit "library/".
func TestAllowlistDockerHubNamespaces(t *testing.T) {
	ctx := testContext(t)
	ns := newNamespace(t, "allow")
	w := fixture.Workloads{CS: kube, NS: ns}
	for name, image := range map[string]string{
		"org":      "acme/web:1",
		"org-full": "docker.io/acme/api:1",
		"library":  "nginx:1",
		"prefix":   "acmecorp/web:1",
	} {
		if err := w.Deployment(ctx, name, 0, fixture.PodSpec(nil, fixture.Container("app", image, corev1.PullIfNotPresent))); err != nil {
			t.Fatal(err)
		}
	}
	for _, tt := range []struct {
		entry      string
		disallowed []string
	}{
		{"docker.io/acme", []string{"library", "prefix"}},
		{"index.docker.io/acme/", []string{"library", "prefix"}},
		{"docker.io/library", []string{"org", "org-full", "prefix"}},
		{"docker.io", nil},
	} {
		rep, r := auditJSON(t, "-n", ns, "--offline", "--allowed-registries", tt.entry)
		if r.Code != 0 && r.Code != 1 {
			t.Fatalf("audit --allowed-registries %s: %s", tt.entry, r)
		}
		for _, name := range []string{"org", "org-full", "library", "prefix"} {
			it := item(t, rep, "Deployment", name, "app")
			got := strings.Contains(strings.Join(findingIDs(it), ","), audit.IDDisallowedRegistry)
			want := slices.Contains(tt.disallowed, name)
			if got != want {
				t.Errorf("--allowed-registries %s, %s (%s): disallowed = %v, want %v", tt.entry, name, it.Image, got, want)
			}
		}
	}
}

// A running pod keeps the pull secrets it was created with; the template's
// service account decides for new pods. Both views are reported where they
// differ, each with its own fix.
func TestRunningPodsKeepTheirPullSecrets(t *testing.T) {
	ctx := testContext(t)
	ns := newNamespace(t, "podsecrets")
	img := push(t, stack.Registry+"/"+ns+"/app:1")
	if _, err := kube.CoreV1().Secrets(ns).Create(ctx, fixture.PullSecret(ns, "regcred", stack.Registry, stack.RegistryUser, stack.RegistryPassword), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// "late" gains the secret after its pods exist; "lost" loses it.
	for sa, secrets := range map[string][]corev1.LocalObjectReference{"late": nil, "lost": {{Name: "regcred"}}} {
		if _, err := kube.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: sa}, ImagePullSecrets: secrets}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	w := fixture.Workloads{CS: kube, NS: ns}
	for _, name := range []string{"late", "lost"} {
		spec := fixture.PodSpec(nil, fixture.Container("app", img.Ref, corev1.PullIfNotPresent))
		spec.ServiceAccountName = name
		if err := w.Deployment(ctx, name, 1, spec); err != nil {
			t.Fatal(err)
		}
		if _, err := fixture.WaitForPods(ctx, kube, ns, "app="+name, 1); err != nil {
			t.Fatal(err)
		}
	}
	for sa, secrets := range map[string][]corev1.LocalObjectReference{"late": {{Name: "regcred"}}, "lost": nil} {
		acct, err := kube.CoreV1().ServiceAccounts(ns).Get(ctx, sa, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		acct.ImagePullSecrets = secrets
		if _, err := kube.CoreV1().ServiceAccounts(ns).Update(ctx, acct, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}

	rep, r := auditJSON(t, "-n", ns, "--fail-on", "high")
	if r.Code != 1 {
		t.Fatalf("audit: want exit 1 (findings), got %s", r)
	}
	late := findingFor(t, item(t, rep, "Deployment", "late", "app"), audit.IDNoCredentials)
	if !strings.Contains(late.Message, "running pods were created with pull secrets (none)") || !strings.Contains(late.Message, "pods created now get [regcred]") || !strings.Contains(late.Fix, "kubectl rollout restart deployment/late") {
		t.Errorf("late: %+v; want the running pods' view and a rollout restart", late)
	}
	lost := findingFor(t, item(t, rep, "Deployment", "lost", "app"), audit.IDNoCredentials)
	if !strings.Contains(lost.Message, "still pull with the secrets they were created with ([regcred])") || !strings.Contains(lost.Fix, "add the secret to the template") {
		t.Errorf("lost: %+v; want the new pods' view and a fix to the template", lost)
	}
}

// Once a pull secret matched, the kubelet never falls back to anonymous: a
// wrong login for a public registry fails the pull. resolve still answers,
// and says the pod's own credentials failed.
func TestNoAnonymousFallbackOnceMatched(t *testing.T) {
	ctx := testContext(t)
	reg, ca := faultregistry.StartForTest(t)
	ns := newNamespace(t, "noanon")
	if _, err := kube.CoreV1().Secrets(ns).Create(ctx, fixture.PullSecret(ns, "stale", reg.Host, reg.User, "not-the-password"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	w := fixture.Workloads{CS: kube, NS: ns}
	public := reg.Image(faultregistry.Public)
	if err := w.Deployment(ctx, "web", 0, fixture.PodSpec([]string{"stale"}, fixture.Container("app", public, corev1.PullIfNotPresent))); err != nil {
		t.Fatal(err)
	}
	if err := w.Deployment(ctx, "anon", 0, fixture.PodSpec(nil, fixture.Container("app", public, corev1.PullIfNotPresent))); err != nil {
		t.Fatal(err)
	}

	rep, r := auditJSON(t, "-n", ns, "--registry-ca-file", ca, "--fail-on", "high")
	if r.Code != 1 {
		t.Fatalf("audit: want exit 1, got %s", r)
	}
	f := findingFor(t, item(t, rep, "Deployment", "web", "app"), audit.IDNoCredentials)
	if !strings.Contains(f.Message, "refused") {
		t.Errorf("web: %+v, want the refusal named", f)
	}
	anon := item(t, rep, "Deployment", "anon", "app")
	if slices.Contains(findingIDs(anon), audit.IDNoCredentials) {
		t.Errorf("anon: %v; no secret matched, so the anonymous pull works", findingIDs(anon))
	}
	if anon.CredentialSource != "anonymous" {
		t.Errorf("anon: credential source %q, want anonymous (no secret matched)", anon.CredentialSource)
	}

	res, rr := resolveJSON(t, nil, "-n", ns, "deploy/web", "--registry-ca-file", ca)
	if rr.Code != 0 {
		t.Fatalf("resolve deploy/web: want exit 0 (answered anonymously), got %s", rr)
	}
	got := resolved(t, res, public)
	if got.Digest != reg.Digest || got.CredentialSource != "anonymous" || !strings.Contains(got.Note, "a node's pull would fail") || len(got.Refused) != 1 {
		t.Errorf("resolve: %+v; want the digest, answered anonymously, with the refused pod secret named", got)
	}
	if strings.Contains(r.Stdout+r.Stderr+rr.Stdout+rr.Stderr, "not-the-password") {
		t.Error("a password reached the output")
	}
}

// A digest-pinned image from a private registry still needs a pull secret
// on a new node: one HEAD by digest tells.
func TestPinnedPrivateImageNeedsCredentials(t *testing.T) {
	ctx := testContext(t)
	ns := newNamespace(t, "pinnedpriv")
	img := push(t, stack.Registry+"/"+ns+"/app:1")
	if _, err := kube.CoreV1().Secrets(ns).Create(ctx, fixture.PullSecret(ns, "regcred", stack.Registry, stack.RegistryUser, stack.RegistryPassword), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	w := fixture.Workloads{CS: kube, NS: ns}
	if err := w.Deployment(ctx, "bare", 0, fixture.PodSpec(nil, fixture.Container("app", img.Pinned(), corev1.PullIfNotPresent))); err != nil {
		t.Fatal(err)
	}
	if err := w.Deployment(ctx, "covered", 0, fixture.PodSpec([]string{"regcred"}, fixture.Container("app", img.Pinned(), corev1.PullIfNotPresent))); err != nil {
		t.Fatal(err)
	}
	rep, r := auditJSON(t, "-n", ns, "--fail-on", "high")
	if r.Code != 1 {
		t.Fatalf("audit: want exit 1, got %s", r)
	}
	wantFindings(t, item(t, rep, "Deployment", "bare", "app"), audit.IDNoCredentials)
	covered := item(t, rep, "Deployment", "covered", "app")
	wantFindings(t, covered)
	if covered.CredentialSource != "pod-secret "+ns+"/regcred" {
		t.Errorf("covered: credential source %q, want the pod secret", covered.CredentialSource)
	}
}
