//go:build e2e

package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/imgtrust/kubectl-imgtrust/pkg/signature"
	"github.com/imgtrust/kubectl-imgtrust/test/fixture"
)

// signNamespace is a new namespace with the pull secret regcred for the
// private registry.
func signNamespace(t *testing.T, prefix string) string {
	t.Helper()
	ns := newNamespace(t, prefix)
	if _, err := kube.CoreV1().Secrets(ns).Create(testContext(t), fixture.PullSecret(ns, "regcred", stack.Registry, stack.RegistryUser, stack.RegistryPassword), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	return ns
}

// runningDeployment deploys an image pushed to the private registry as
// deploy/NAME with the pull secret regcred, one pod reporting its digest.
func runningDeployment(t *testing.T, ns, name string) fixture.Pushed {
	t.Helper()
	img := push(t, stack.Registry+"/"+ns+"/"+name+":1")
	deployRunning(t, ns, name, img)
	return img
}

// deployRunning deploys img as deploy/NAME with the pull secret regcred,
// one pod reporting its digest.
func deployRunning(t *testing.T, ns, name string, img fixture.Pushed) {
	t.Helper()
	ctx := testContext(t)
	w := fixture.Workloads{CS: kube, NS: ns}
	if err := w.Deployment(ctx, name, 1, fixture.PodSpec([]string{"regcred"}, fixture.Container("app", img.Ref, corev1.PullIfNotPresent))); err != nil {
		t.Fatal(err)
	}
	pods, err := fixture.WaitForPods(ctx, kube, ns, "app="+name, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := fixture.SetRunning(ctx, kube, &pods[0], map[string]string{"app": img.Repo() + "@" + img.Digest}); err != nil {
		t.Fatal(err)
	}
}

// cosignRun runs the real cosign in dir with extra environment.
func cosignRun(t *testing.T, dir string, env []string, args ...string) string {
	t.Helper()
	cmd := exec.CommandContext(testContext(t), "cosign", args...)
	cmd.Dir, cmd.Env = dir, append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("cosign %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// encryptedKeyPair is cosign.key and cosign.pub as the real cosign
// generate-key-pair writes them, the key encrypted with password.
func encryptedKeyPair(t *testing.T, password string) (key, pub string) {
	t.Helper()
	dir := t.TempDir()
	cosignRun(t, dir, []string{"COSIGN_PASSWORD=" + password}, "generate-key-pair", "--output-key-prefix", "cosign")
	return filepath.Join(dir, "cosign.key"), filepath.Join(dir, "cosign.pub")
}

// TestSign signs what a deployment runs with an encrypted cosign key file,
// and checks it with the real cosign verify and with audit; a second run
// signs nothing new, and bad keys and refused writes fail with one line.
func TestSign(t *testing.T) {
	ctx := testContext(t)
	ns := signNamespace(t, "sign")
	const password = "correct-horse-7"
	key, pub := encryptedKeyPair(t, password)
	img := runningDeployment(t, ns, "web")
	target := img.Repo() + "@" + img.Digest
	env := []string{"DOCKER_CONFIG=" + pushConfig(t, stack.Registry), "COSIGN_PASSWORD=" + password}
	signWeb := func(env []string, extra ...string) result {
		return kubectlEnv(t, env, append([]string{"imgtrust", "sign", "deploy/web", "-n", ns}, extra...)...)
	}

	if ok, _ := stack.CosignVerify(ctx, pub, target); ok {
		t.Fatal("cosign verify accepts the digest before it is signed")
	}
	first := signWeb(env, "--key", key)
	mustSucceed(t, first, "sign deploy/web")
	t.Logf("sign:\n%s", first)
	if want := "signed deployment/web -n " + ns + ` container "app": ` + target; !strings.Contains(first.Stdout, want) {
		t.Errorf("want %q on stdout\n%s", want, first)
	}
	// The legacy .sig format, on a digest of its own.
	old := runningDeployment(t, ns, "old")
	legacy := kubectlEnv(t, env, "imgtrust", "sign", "deploy/old", "-n", ns, "--key", key, "--signature-format", "legacy")
	mustSucceed(t, legacy, "sign --signature-format legacy")
	t.Logf("sign --signature-format legacy:\n%s", legacy)
	for name, want := range map[string]struct {
		ref, format string
	}{"web": {target, signature.FormatCosignBundle}, "old": {old.Repo() + "@" + old.Digest, signature.FormatCosignSig}} {
		if ok, out := stack.CosignVerify(ctx, pub, want.ref); !ok {
			t.Errorf("%s: cosign verify --key cosign.pub --insecure-ignore-tlog rejects what sign wrote:\n%s", name, out)
		}
		rep, r := auditJSON(t, "-n", ns, "--verify-key", pub, "deploy/"+name)
		if r.Code != 0 {
			t.Fatalf("audit --verify-key: %s", r)
		}
		it := item(t, rep, "Deployment", name, "app")
		if it.Signature == nil || it.Signature.Status != signature.StatusVerified || len(it.Signature.Artifacts) != 1 || it.Signature.Artifacts[0].Format != want.format {
			t.Errorf("%s: audit --verify-key cosign.pub: %+v, want verified, one %s", name, it.Signature, want.format)
		}
	}

	// A second run checks, finds our signature and writes nothing.
	writes := mirrorWrites(t, ns)
	second := signWeb(env, "--key", key)
	mustSucceed(t, second, "sign deploy/web again")
	if !strings.Contains(second.Stdout, "already signed deployment/web -n "+ns+` container "app": `+target+" (by "+key+", bundle format)") || !strings.Contains(second.Stderr, "0 signed, 1 already signed") {
		t.Errorf("second run: want already signed\n%s", second)
	}
	if n := mirrorWrites(t, ns) - writes; n != 0 {
		t.Errorf("the second run wrote %d times", n)
	}

	badInput(t, signWeb, env, key, pub, password)
	upstreamGate(t, ns, env, key, pub)
	signFiles(t, env, key, img)

	// No push credential: the registry refuses the write; one line, exit 1.
	other := runningDeployment(t, ns, "api")
	refused := kubectlEnv(t, []string{"DOCKER_CONFIG=" + t.TempDir(), "COSIGN_PASSWORD=" + password}, "imgtrust", "sign", "deploy/api", "-n", ns, "--key", key)
	if refused.Code != 1 || !strings.Contains(refused.Stderr, "failed deployment/api") || !strings.Contains(refused.Stderr, "docker login "+stack.Registry) || strings.Count(refused.Stderr, "\n") != 2 {
		t.Errorf("a refused write: want exit 1 and one line naming docker login %s\n%s", stack.Registry, refused)
	}
	t.Logf("a refused write:\n%s", refused)
	if ok, _ := stack.CosignVerify(ctx, pub, other.Repo()+"@"+other.Digest); ok {
		t.Errorf("a refused write left a signature")
	}
}

// badInput: a wrong password, a public key and a missing file fail with
// one line naming the fix, exit 2, nothing on stdout and no secret shown.
func badInput(t *testing.T, signWeb func([]string, ...string) result, env []string, key, pub, password string) {
	t.Helper()
	wrongEnv := append(append([]string(nil), env...), "COSIGN_PASSWORD=not-the-password")
	for _, tc := range []struct {
		name string
		env  []string
		key  string
		want string
	}{
		{"wrong password", wrongEnv, key, "wrong password"},
		{"public key", env, pub, "is a public key"},
		{"no such file", env, key + ".missing", "no such file"},
	} {
		r := signWeb(tc.env, "--key", tc.key)
		t.Logf("%s:\n%s", tc.name, r)
		if r.Code != 2 || r.Stdout != "" || !strings.Contains(r.Stderr, tc.want) || strings.Count(strings.TrimSpace(r.Stderr), "\n") != 0 {
			t.Errorf("%s: want exit 2 and one line with %q\n%s", tc.name, tc.want, r)
		}
		if strings.Contains(r.Stderr, password) || strings.Contains(r.Stderr, "not-the-password") || strings.Contains(r.Stderr, "PRIVATE KEY") {
			t.Errorf("%s: the output shows a secret\n%s", tc.name, r)
		}
	}
}

// TestSignK8sKey signs with a key pair the real cosign made in a Secret
// (cosign generate-key-pair k8s://NS/NAME), password from the Secret.
func TestSignK8sKey(t *testing.T) {
	ctx := testContext(t)
	ns := signNamespace(t, "signk8s")
	dir := t.TempDir()
	ref := "k8s://" + ns + "/cosign-key"
	cosignRun(t, dir, []string{"COSIGN_PASSWORD=k8s-pass-9"}, "generate-key-pair", ref)
	s, err := kube.CoreV1().Secrets(ns).Get(ctx, "cosign-key", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pub := filepath.Join(dir, "from-secret.pub")
	writeFile(t, pub, string(s.Data["cosign.pub"]))
	img := runningDeployment(t, ns, "web")

	// COSIGN_PASSWORD is wrong on purpose: a k8s:// key uses its Secret's.
	env := []string{"DOCKER_CONFIG=" + pushConfig(t, stack.Registry), "COSIGN_PASSWORD=unrelated"}
	r := kubectlEnv(t, env, "imgtrust", "sign", "deploy/web", "-n", ns, "--key", ref)
	mustSucceed(t, r, "sign --key "+ref)
	t.Logf("sign --key %s:\n%s", ref, r)
	if ok, out := stack.CosignVerify(context.Background(), pub, img.Repo()+"@"+img.Digest); !ok {
		t.Errorf("cosign verify with the Secret's cosign.pub rejects it:\n%s", out)
	}
	missing := kubectlEnv(t, env, "imgtrust", "sign", "deploy/web", "-n", ns, "--key", "k8s://"+ns+"/no-such-key")
	if missing.Code != 2 || !strings.Contains(missing.Stderr, "no Secret") || strings.Count(strings.TrimSpace(missing.Stderr), "\n") != 0 {
		t.Errorf("a missing Secret: want exit 2 and one line\n%s", missing)
	}
}

// signFiles: -f signs the digests manifests name and refuses tags, one
// line each; img is already signed by key.
func signFiles(t *testing.T, env []string, key string, img fixture.Pushed) {
	t.Helper()
	file := filepath.Join(t.TempDir(), "web.yaml")
	writeFile(t, file, `apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - {name: app, image: "`+img.Repo()+"@"+img.Digest+`"}
      - {name: sidecar, image: "`+img.Ref+`"}
`)
	r := kubectlEnv(t, env, "imgtrust", "sign", "-f", file, "--key", key)
	t.Logf("sign -f:\n%s", r)
	if r.Code != 1 || !strings.Contains(r.Stdout, "already signed Deployment/web ("+file+":1) container \"app\"") ||
		!strings.Contains(r.Stderr, "refused Deployment/web ("+file+":1) container \"sidecar\": "+img.Ref+" names a tag, not a digest") {
		t.Errorf("sign -f: want the digest already signed and the tag refused, exit 1\n%s", r)
	}
}

// upstreamGate: --require verified-upstream refuses a digest the vendor
// key has not signed, and signs it once the real cosign has.
func upstreamGate(t *testing.T, ns string, env []string, key, pub string) {
	t.Helper()
	ctx := testContext(t)
	vendorKey, vendorPub := cosignKeys(t, t.TempDir(), "vendor")
	img := runningDeployment(t, ns, "vendor")
	ref := img.Repo() + "@" + img.Digest
	gated := func() result {
		return kubectlEnv(t, env, "imgtrust", "sign", "deploy/vendor", "-n", ns, "--key", key, "--require", "verified-upstream", "--verify-key", vendorPub)
	}
	refused := gated()
	t.Logf("--require verified-upstream, unsigned upstream:\n%s", refused)
	if refused.Code != 1 || !strings.Contains(refused.Stderr, "refused deployment/vendor") || !strings.Contains(refused.Stderr, "upstream signature is not verified") {
		t.Errorf("an unsigned upstream: want refused, exit 1\n%s", refused)
	}
	if ok, _ := stack.CosignVerify(ctx, pub, ref); ok {
		t.Errorf("a refused digest was signed")
	}
	if err := stack.CosignSign(ctx, vendorKey, ref, false); err != nil {
		t.Fatal(err)
	}
	mustSucceed(t, gated(), "sign --require verified-upstream, signed upstream")
	if ok, out := stack.CosignVerify(ctx, pub, ref); !ok {
		t.Errorf("cosign verify with our key after the gate passed:\n%s", out)
	}
}
