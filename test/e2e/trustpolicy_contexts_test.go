//go:build e2e

package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/imgtrust/kubectl-imgtrust/pkg/audit"
	"github.com/imgtrust/kubectl-imgtrust/pkg/signature"
	"github.com/imgtrust/kubectl-imgtrust/test/fixture"
)

// TestTrustPolicyKeysPerContext: one trust policy's k8s://NS/vendor-key
// is another key in each of two real clusters; audited together with
// --contexts, each cluster's images are held to its own key, and a
// cluster whose Secret is gone is a warning for that context alone.
func TestTrustPolicyKeysPerContext(t *testing.T) {
	ctx := testContext(t)
	second := secondStack(t)
	kubeconfig := mergedKubeconfig(t, second)
	kube2 := clientFor(t, second)
	ns := newNamespace(t, "trust-ctx")
	if _, err := kube2.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := kube2.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	keyA, pubA := cosignKeys(t, dir, "a")
	keyB, pubB := cosignKeys(t, dir, "b")
	byA, byB := push(t, stack.Registry+"/"+ns+"/by-a:1"), push(t, stack.Registry+"/"+ns+"/by-b:1")
	for _, s := range []struct {
		key string
		img fixture.Pushed
	}{{keyA, byA}, {keyB, byB}} {
		if err := stack.CosignSign(ctx, s.key, s.img.Repo()+"@"+s.img.Digest, false); err != nil {
			t.Fatal(err)
		}
	}
	// Cluster one's vendor-key is key A, cluster two's key B.
	for _, c := range []struct {
		cs  kubernetes.Interface
		pub string
	}{{kube, pubA}, {kube2, pubB}} {
		pem, err := os.ReadFile(c.pub)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.cs.CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "vendor-key"}, Data: map[string][]byte{"cosign.pub": pem}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.cs.CoreV1().Secrets(ns).Create(ctx, fixture.PullSecret(ns, "regcred", stack.Registry, stack.RegistryUser, stack.RegistryPassword), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		w := fixture.Workloads{CS: c.cs, NS: ns}
		for name, img := range map[string]fixture.Pushed{"by-a": byA, "by-b": byB} {
			if err := w.Deployment(ctx, name, 0, fixture.PodSpec([]string{"regcred"}, fixture.Container("app", img.Ref, corev1.PullAlways))); err != nil {
				t.Fatal(err)
			}
		}
	}
	policy := filepath.Join(dir, "trust.yaml")
	writeFile(t, policy, "apiVersion: imgtrust.dev/v1alpha1\nkind: TrustPolicy\nrules:\n- images: [\"**\"]\n  keys: [\"k8s://"+ns+"/vendor-key\"]\n")

	audited := func(t *testing.T) (map[string]audit.Item, result) {
		rep, r := auditJSON(t, "--kubeconfig", kubeconfig, "--contexts", "one,two", "-n", ns, "--trust-policy", policy)
		seen := map[string]audit.Item{}
		for _, it := range rep.Items {
			seen[it.Context+"/"+it.Name] = it
		}
		return seen, r
	}
	seen, r := audited(t)
	if r.Code != 0 {
		t.Fatalf("audit --contexts one,two --trust-policy: %s", r)
	}
	for key, want := range map[string]signature.Status{
		"one/by-a": signature.StatusVerified, "one/by-b": signature.StatusOtherKey,
		"two/by-a": signature.StatusOtherKey, "two/by-b": signature.StatusVerified,
	} {
		if s := seen[key].Signature; s == nil || s.Status != want {
			t.Errorf("%s: signature %+v, want %s (each cluster's own vendor-key)", key, s, want)
		}
	}

	// Cluster two's key gone: a warning for context two, whose signatures
	// are then not checked; cluster one's are.
	if err := kube2.CoreV1().Secrets(ns).Delete(ctx, "vendor-key", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	seen, r = audited(t)
	if !strings.Contains(r.Stderr, "context two: signatures not checked: "+policy+": rules[0].keys[0]: k8s://"+ns+"/vendor-key: no Secret") {
		t.Errorf("want a warning for context two naming the key\n%s", r)
	}
	if s := seen["one/by-a"].Signature; s == nil || s.Status != signature.StatusVerified {
		t.Errorf("one/by-a with cluster two's key gone: %+v, want verified", s)
	}
	if s := seen["two/by-b"].Signature; s != nil {
		t.Errorf("two/by-b checked without its cluster's key: %+v", s)
	}
}
