//go:build e2e

package e2e

import (
	"encoding/json"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/imgtrust/kubectl-imgtrust/pkg/coverage"
	"github.com/imgtrust/kubectl-imgtrust/test/fixture"
)

// tokenRequests counts the token service's answers so far for a
// repository: granted (200) and refused (401).
func tokenRequests(t *testing.T, repo string) (granted, refused int) {
	t.Helper()
	for _, line := range accessLogLines(t, stack.TokenLog) {
		if !strings.Contains(line, "repository:"+repo+":") {
			continue
		}
		switch {
		case strings.Contains(line, "status=200") && !strings.Contains(line, `user=""`):
			granted++
		case strings.Contains(line, "status=401"):
			refused++
		}
	}
	return granted, refused
}

// TestTokenAuthRegistry runs resolve, audit, secrets --verify and pin
// against the stack's token-auth registry (Bearer challenge, JWTs from the
// stack's token service), as Docker Hub, ghcr, quay, Harbor and ECR work:
// a good pull secret resolves with one token per repository, a wrong
// password is refused by the token service and said as such.
func TestTokenAuthRegistry(t *testing.T) {
	ctx := testContext(t)
	ns := newNamespace(t, "token")
	repo := ns + "/app"
	img := push(t, stack.TokenRegistry+"/"+repo+":1")
	for name, password := range map[string]string{"regcred": stack.RegistryPassword, "badcred": "not-the-password"} {
		if _, err := kube.CoreV1().Secrets(ns).Create(ctx, fixture.PullSecret(ns, name, stack.TokenRegistry, stack.RegistryUser, password), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	w := fixture.Workloads{CS: kube, NS: ns}
	for name, secret := range map[string]string{"good": "regcred", "bad": "badcred"} {
		if err := w.Deployment(ctx, name, 0, fixture.PodSpec([]string{secret}, fixture.Container("app", img.Ref, corev1.PullAlways))); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("resolve", func(t *testing.T) {
		r := kubectl(t, "imgtrust", "resolve", "deploy/good", "-n", ns, "-o", "json")
		mustSucceed(t, r, "resolve through the token registry")
		var rep struct {
			Items []struct {
				Digest           string `json:"digest"`
				CredentialSource string `json:"credentialSource"`
			} `json:"items"`
		}
		if err := json.Unmarshal([]byte(r.Stdout), &rep); err != nil {
			t.Fatal(err)
		}
		if len(rep.Items) != 1 || rep.Items[0].Digest != img.Digest || rep.Items[0].CredentialSource != "pod-secret "+ns+"/regcred" {
			t.Errorf("want %s with pod-secret %s/regcred, got %+v", img.Digest, ns, rep.Items)
		}
	})

	t.Run("audit", func(t *testing.T) {
		granted, refused := tokenRequests(t, repo)
		rep, r := auditJSON(t, "-n", ns)
		if r.Code != 0 {
			t.Fatalf("audit: %s", r)
		}
		good := item(t, rep, "Deployment", "good", "app")
		if good.ResolvedDigest != img.Digest {
			t.Errorf("good: resolved %q, want %s", good.ResolvedDigest, img.Digest)
		}
		wantFindings(t, good, "mutable-tag")
		wantFindings(t, item(t, rep, "Deployment", "bad", "app"), "mutable-tag", "no-credentials")
		g, f := tokenRequests(t, repo)
		if g-granted != 1 {
			t.Errorf("%d tokens granted for one repository and one good credential, want 1", g-granted)
		}
		if f-refused < 1 {
			t.Errorf("the wrong password never reached the token service")
		}
	})

	t.Run("secrets --verify", func(t *testing.T) {
		r := kubectl(t, "imgtrust", "secrets", "-n", ns, "--verify", "-o", "json")
		mustSucceed(t, r, "secrets --verify")
		var rep coverage.Report
		if err := json.Unmarshal([]byte(r.Stdout), &rep); err != nil {
			t.Fatal(err)
		}
		status := map[string]coverage.Status{}
		for _, row := range rep.Items {
			status[row.Name] = row.Status
		}
		if status["good"] != coverage.Covered || status["bad"] != coverage.CredentialRejected {
			t.Errorf("want good covered and bad credential-rejected, got %v", status)
		}
		if strings.Contains(r.Stdout+r.Stderr, "not-the-password") || strings.Contains(r.Stdout+r.Stderr, stack.RegistryPassword) {
			t.Error("a password was printed")
		}
	})

	t.Run("pin", func(t *testing.T) {
		r := kubectl(t, "imgtrust", "pin", "deploy/good", "-n", ns, "--source=registry", "--apply")
		mustSucceed(t, r, "pin --apply through the token registry")
		d, err := kube.AppsV1().Deployments(ns).Get(ctx, "good", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if got := d.Spec.Template.Spec.Containers[0].Image; got != img.Ref+"@"+img.Digest {
			t.Errorf("pinned to %q, want %s@%s", got, img.Ref, img.Digest)
		}
	})
}
