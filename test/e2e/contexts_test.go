//go:build e2e

package e2e

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/imgtrust/kubectl-imgtrust/pkg/audit"
	"github.com/imgtrust/kubectl-imgtrust/test/fixture"
)

// secondStack starts another real apiserver (with etcd; no controllers)
// beside the suite's, and returns its kubeconfig path.
func secondStack(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(repoRoot, ".cache", "e2e-stack-2")
	script := filepath.Join(repoRoot, "hack", "local-cluster.sh")
	env := append(os.Environ(), "IMGTRUST_STACK_DIR="+dir, "IMGTRUST_STACK_NO_CONTROLLERS=1")
	up := exec.Command("bash", script, "up")
	up.Env = env
	if out, err := up.CombinedOutput(); err != nil {
		t.Fatalf("second stack: %v\n%s", err, out)
	}
	t.Cleanup(func() {
		down := exec.Command("bash", script, "down")
		down.Env = env
		_ = down.Run()
	})
	return filepath.Join(dir, "kubeconfig")
}

// mergedKubeconfig writes one kubeconfig with contexts "one" (the suite's
// stack), "two" (the second) and "gone" (an API server that is not there).
func mergedKubeconfig(t *testing.T, second string) string {
	t.Helper()
	merged := clientcmdapi.NewConfig()
	add := func(name, path string) {
		cfg, err := clientcmd.LoadFromFile(path)
		if err != nil {
			t.Fatal(err)
		}
		c := cfg.Contexts[cfg.CurrentContext]
		merged.Clusters[name] = cfg.Clusters[c.Cluster].DeepCopy()
		merged.AuthInfos[name] = cfg.AuthInfos[c.AuthInfo].DeepCopy()
		merged.Contexts[name] = &clientcmdapi.Context{Cluster: name, AuthInfo: name}
	}
	add("one", stack.Kubeconfig)
	add("two", second)
	// A port nothing listens on.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().String()
	l.Close()
	add("gone", stack.Kubeconfig)
	merged.Clusters["gone"].Server = "https://" + closed
	merged.CurrentContext = "one"
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*merged, path); err != nil {
		t.Fatal(err)
	}
	return path
}

func clientFor(t *testing.T, kubeconfig string) kubernetes.Interface {
	t.Helper()
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

// TestSeveralContexts: two real clusters in one kubeconfig audited in one
// run, the shared image asked for once in total; a third context that
// cannot be reached is a warning that hides neither of the others.
func TestSeveralContexts(t *testing.T) {
	ctx := testContext(t)
	second := secondStack(t)
	kubeconfig := mergedKubeconfig(t, second)
	kube2 := clientFor(t, second)

	ns := newNamespace(t, "contexts")
	// No controllers there: the namespace's default ServiceAccount is ours to make.
	if _, err := kube2.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := kube2.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	img := push(t, stack.Registry+"/"+ns+"/app:1")
	// The same credential under a different name in each cluster.
	for _, c := range []struct {
		cs     kubernetes.Interface
		secret string
		name   string
	}{{kube, "regcred", "web"}, {kube2, "pull", "shop"}} {
		if _, err := c.cs.CoreV1().Secrets(ns).Create(ctx, fixture.PullSecret(ns, c.secret, stack.Registry, stack.RegistryUser, stack.RegistryPassword), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		w := fixture.Workloads{CS: c.cs, NS: ns}
		if err := w.Deployment(ctx, c.name, 0, fixture.PodSpec([]string{c.secret}, fixture.Container("app", img.Ref, corev1.PullAlways))); err != nil {
			t.Fatal(err)
		}
	}
	manifestRequests := func() int {
		return privateLogCount(t, "/v2/"+ns+"/app/manifests/")
	}

	before := manifestRequests()
	rep, r := auditJSON(t, "--kubeconfig", kubeconfig, "--contexts", "one,two", "-n", ns)
	if r.Code != 0 {
		t.Fatalf("audit --contexts one,two: %s", r)
	}
	if got := manifestRequests() - before; got != 1 {
		t.Errorf("the image both clusters run was asked for %d times, want once", got)
	}
	seen := map[string]audit.Item{}
	for _, it := range rep.Items {
		seen[it.Context+"/"+it.Name] = it
	}
	for _, key := range []string{"one/web", "two/shop"} {
		it, ok := seen[key]
		if !ok {
			t.Errorf("no item %s: %+v", key, rep.Items)
			continue
		}
		if it.ResolvedDigest != img.Digest {
			t.Errorf("%s: resolved %q, want %s (credential %q)", key, it.ResolvedDigest, img.Digest, it.CredentialSource)
		}
	}
	if len(rep.Summary.Contexts) != 2 || rep.Summary.Contexts[0].Name != "one" || rep.Summary.Contexts[0].Workloads != 1 || rep.Summary.Contexts[1].Workloads != 1 {
		t.Errorf("summary.contexts %+v", rep.Summary.Contexts)
	}

	t.Run("signatures and provenance are read once for all clusters", func(t *testing.T) {
		args := []string{"imgtrust", "audit", "--kubeconfig", kubeconfig, "-n", ns, "--signatures", "--provenance", "-o", "json"}
		before := privateLogCount(t, "/v2/"+ns+"/app/")
		mustSucceed(t, kubectl(t, append(args, "--context", "one")...), "audit of one context")
		single := privateLogCount(t, "/v2/"+ns+"/app/") - before
		mustSucceed(t, kubectl(t, append(args, "--contexts", "one,two")...), "audit of two contexts")
		both := privateLogCount(t, "/v2/"+ns+"/app/") - before - single
		if single < 2 || both != single {
			t.Errorf("one cluster took %d requests to the repository, two took %d; want the same (and at least a resolution and a signature lookup)", single, both)
		}
	})

	t.Run("an unreachable context hides nothing", func(t *testing.T) {
		r := kubectl(t, "imgtrust", "audit", "--kubeconfig", kubeconfig, "--all-contexts", "-n", ns)
		if r.Code != 2 {
			t.Errorf("want exit 2 for the lost context, got %s", r)
		}
		if !strings.Contains(r.Stderr, "warning: context gone: cannot reach the API server at https://") {
			t.Errorf("no warning for context gone:\n%s", r)
		}
		lines := strings.Split(strings.TrimSpace(r.Stdout), "\n")
		if len(lines) != 3 || !strings.HasPrefix(lines[0], "CONTEXT ") || !strings.HasPrefix(lines[1], "one ") || !strings.HasPrefix(lines[2], "two ") {
			t.Errorf("want a CONTEXT column and rows of one and two:\n%s", r.Stdout)
		}
		if !strings.Contains(r.Stderr, "context two: 1 workload:") {
			t.Errorf("no summary for context two:\n%s", r.Stderr)
		}
		if !strings.Contains(r.Stderr, "kubectl imgtrust pin deployment/web -n "+ns+" --context one") {
			t.Errorf("the fix does not name its context:\n%s", r.Stderr)
		}
	})

	t.Run("resolve", func(t *testing.T) {
		before := manifestRequests()
		r := kubectl(t, "imgtrust", "resolve", "deployments", "--kubeconfig", kubeconfig, "--contexts", "one,two,gone", "-n", ns)
		if r.Code != 2 || !strings.Contains(r.Stderr, "warning: context gone: cannot reach the API server") {
			t.Errorf("want exit 2 and a warning for context gone, got %s", r)
		}
		if !strings.Contains(r.Stdout, img.Digest) || strings.Count(strings.TrimSpace(r.Stdout), "\n") != 1 {
			t.Errorf("want one row, the image both clusters run, resolved to %s:\n%s", img.Digest, r.Stdout)
		}
		if got := manifestRequests() - before; got != 1 {
			t.Errorf("resolve asked for the shared image %d times, want once", got)
		}
	})

	t.Run("secrets", func(t *testing.T) {
		r := kubectl(t, "imgtrust", "secrets", "--kubeconfig", kubeconfig, "--contexts", "two,one", "-n", ns)
		mustSucceed(t, r, "secrets --contexts two,one")
		want := []string{"two ", "one "}
		lines := strings.Split(strings.TrimSpace(r.Stdout), "\n")
		if len(lines) < 3 || !strings.HasPrefix(lines[0], "CONTEXT ") {
			t.Fatalf("want a CONTEXT column:\n%s", r.Stdout)
		}
		for i, prefix := range want {
			if !strings.HasPrefix(lines[i+1], prefix) || !strings.Contains(lines[i+1], "covered") {
				t.Errorf("row %d: want %q and covered: %q", i+1, prefix, lines[i+1])
			}
		}
	})
}
