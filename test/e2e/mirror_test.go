//go:build e2e

package e2e

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/imgtrust/kubectl-imgtrust/pkg/audit"
	"github.com/imgtrust/kubectl-imgtrust/test/faultregistry"
	"github.com/imgtrust/kubectl-imgtrust/test/fixture"
)

// pushConfig writes a docker config that logs in to the private registry
// under each of hosts, for the plugin's pushes (authn.DefaultKeychain).
func pushConfig(t *testing.T, hosts ...string) string {
	t.Helper()
	dir := t.TempDir()
	auths := map[string]any{}
	for _, h := range hosts {
		auths[h] = map[string]string{"auth": base64.StdEncoding.EncodeToString([]byte(stack.RegistryUser + ":" + stack.RegistryPassword))}
	}
	b, _ := json.Marshal(map[string]any{"auths": auths})
	if err := os.WriteFile(filepath.Join(dir, "config.json"), b, 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

// mirrorWrites counts the private registry's writes (PUT, POST, PATCH)
// under a repository path prefix so far.
func mirrorWrites(t *testing.T, prefix string) int {
	return privateLogCount(t, `"PUT /v2/`+prefix+"/", `"POST /v2/`+prefix+"/", `"PATCH /v2/`+prefix+"/")
}

// TestMirrorThroughKubectl mirrors a signed multi-arch image that a
// deployment runs from the anonymous registry into the private one, and
// pins the deployment to the copy, through the real kubectl.
func TestMirrorThroughKubectl(t *testing.T) {
	ctx := testContext(t)
	ns := newNamespace(t, "mirror")
	dir := t.TempDir()
	key, pub, err := stack.CosignKeyPair(ctx, dir, "a")
	if err != nil {
		t.Fatal(err)
	}
	src, err := stack.PushIndex(ctx, stack.PublicRegistry+"/"+ns+"/web:1.0", "linux/amd64", "linux/arm64")
	if err != nil {
		t.Fatal(err)
	}
	srcDigestRef := src.Repo() + "@" + src.Digest
	if err := stack.CosignSign(ctx, key, srcDigestRef, false); err != nil { // a bundle in the referrers
		t.Fatal(err)
	}
	if err := stack.CosignSign(ctx, key, srcDigestRef, true); err != nil { // a legacy .sig tag
		t.Fatal(err)
	}
	w := fixture.Workloads{CS: kube, NS: ns}
	if err := w.Deployment(ctx, "web", 1, fixture.PodSpec(nil, fixture.Container("web", src.Ref, corev1.PullIfNotPresent))); err != nil {
		t.Fatal(err)
	}
	pods, err := fixture.WaitForPods(ctx, kube, ns, "app=web", 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := fixture.SetRunning(ctx, kube, &pods[0], map[string]string{"web": srcDigestRef}); err != nil {
		t.Fatal(err)
	}

	prefix := stack.Registry + "/" + ns + "/mirror"
	prefixPath := ns + "/mirror"
	srcHost := strings.ReplaceAll(stack.PublicRegistry, ":", "-")
	target := prefix + "/" + srcHost + "/" + ns + "/web:1.0"
	env := []string{"DOCKER_CONFIG=" + pushConfig(t, stack.Registry)}
	pinMirror := func(extra ...string) result {
		return kubectlEnv(t, env, append([]string{"imgtrust", "pin", "deploy/web", "-n", ns, "--mirror-to", prefix}, extra...)...)
	}

	// The plan: what would be copied, and the patch; nothing is written.
	before := mirrorWrites(t, prefixPath)
	plan := pinMirror()
	mustSucceed(t, plan, "pin --mirror-to (plan)")
	if !strings.Contains(plan.Stderr, "would copy "+src.Repo()+"@"+src.Digest+" -> "+target+"@"+src.Digest) || !strings.Contains(plan.Stdout, target+"@"+src.Digest) {
		t.Errorf("the plan names the copy and the patch:\n%s", plan)
	}
	if n := mirrorWrites(t, prefixPath) - before; n != 0 {
		t.Errorf("the plan wrote %d times to the mirror", n)
	}

	// --verify-key applies to the source: only what our key signed.
	_, otherPub, err := stack.CosignKeyPair(ctx, dir, "b")
	if err != nil {
		t.Fatal(err)
	}
	unsigned := pinMirror("--verify-key", otherPub, "--apply")
	if !strings.Contains(unsigned.Stderr, "is not signed by a --verify-key") || strings.Contains(unsigned.Stderr, "copied ") {
		t.Errorf("a source not signed by the key is neither copied nor pinned:\n%s", unsigned)
	}
	if n := mirrorWrites(t, prefixPath) - before; n != 0 {
		t.Errorf("an unverified source was written %d times to the mirror", n)
	}
	if ok := pinMirror("--verify-key", pub); ok.Code != 0 || !strings.Contains(ok.Stderr, "would copy") {
		t.Errorf("signed by the key: the plan stands:\n%s", ok)
	}

	// --apply: the pods have no credential for the private mirror, so the
	// copy is made but nothing is patched, and the fix is named.
	refused := pinMirror("--apply")
	if refused.Code != 1 || !strings.Contains(refused.Stderr, "would have no credential for "+stack.Registry) ||
		!strings.Contains(refused.Stderr, "kubectl create secret docker-registry mirror-pull -n "+ns+" --docker-server="+stack.Registry) {
		t.Errorf("want a refusal naming the secret to create:\n%s", refused)
	}
	if img := deploymentImage(t, ns, "web"); img != src.Ref {
		t.Errorf("refused, yet the image is now %s", img)
	}

	// With a pull secret on the service account, it is pinned to the copy.
	if _, err := kube.CoreV1().Secrets(ns).Create(ctx, fixture.PullSecret(ns, "mirror-pull", stack.Registry, stack.RegistryUser, stack.RegistryPassword), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	sa, err := kube.CoreV1().ServiceAccounts(ns).Get(ctx, "default", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sa.ImagePullSecrets = []corev1.LocalObjectReference{{Name: "mirror-pull"}}
	if _, err := kube.CoreV1().ServiceAccounts(ns).Update(ctx, sa, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	applied := pinMirror("--apply")
	mustSucceed(t, applied, "pin --mirror-to --apply")
	t.Logf("pin --mirror-to --apply:\n%s", applied.Stderr)
	if img := deploymentImage(t, ns, "web"); img != target+"@"+src.Digest {
		t.Fatalf("image %s, want %s", img, target+"@"+src.Digest)
	}
	if !strings.Contains(applied.Stderr, "mirror: images copied: 0, already present: 1") {
		t.Errorf("the first --apply made the copy; this one found it:\n%s", applied.Stderr)
	}
	if !strings.Contains(refused.Stderr, "copied "+src.Repo()+"@"+src.Digest) || !strings.Contains(refused.Stderr, "manifests checked: 3") ||
		!strings.Contains(refused.Stderr, "signatures: 2") || !strings.Contains(refused.Stderr, "pushed with local-docker-config") {
		t.Errorf("the copy says what it copied, with which credentials:\n%s", refused.Stderr)
	}

	// The mirror holds exactly what ran: the digest, every platform, and
	// signatures that verify there.
	craneDir := t.TempDir()
	if got, err := stack.Crane(ctx, craneDir, "digest", target); err != nil || got != src.Digest {
		t.Errorf("crane digest %s = %q (%v), want %s", target, got, err, src.Digest)
	}
	for platform, d := range src.Platforms {
		mref := strings.TrimSuffix(target, ":1.0") + "@" + d
		if got, err := stack.Crane(ctx, craneDir, "digest", mref); err != nil || got != d {
			t.Errorf("%s manifest %s in the mirror: %q (%v)", platform, mref, got, err)
		}
	}
	if ok, out := stack.CosignVerify(ctx, pub, strings.TrimSuffix(target, ":1.0")+"@"+src.Digest); !ok {
		t.Errorf("cosign verify against the mirror:\n%s", out)
	}
	rep, r := auditJSON(t, "-n", ns, "--allowed-registries", stack.Registry, "deploy/web")
	if r.Code != 0 {
		t.Fatalf("audit: %s", r)
	}
	for _, f := range item(t, rep, "Deployment", "web", "web").Findings {
		if f.ID == audit.IDDisallowedRegistry {
			t.Errorf("the mirrored image is still disallowed: %s", f.Message)
		}
	}

	// Once mirrored, a second run copies nothing and changes nothing.
	before = mirrorWrites(t, prefixPath)
	again := pinMirror("--apply")
	mustSucceed(t, again, "pin --mirror-to --apply (again)")
	if n := mirrorWrites(t, prefixPath) - before; n != 0 {
		t.Errorf("a second run wrote %d times to the mirror:\n%s", n, again)
	}
	if !strings.Contains(again.Stderr, "already pinned") {
		t.Errorf("a second run finds it done:\n%s", again.Stderr)
	}
}

// TestMirrorRefusals: a target tag that names another digest is refused
// without --overwrite-tags, and a copy cut mid-way patches nothing.
func TestMirrorRefusals(t *testing.T) {
	ctx := testContext(t)
	ns := newNamespace(t, "mirror-refused")
	src := push(t, stack.PublicRegistry+"/"+ns+"/api:2.0")
	w := fixture.Workloads{CS: kube, NS: ns}
	if err := w.Deployment(ctx, "api", 0, fixture.PodSpec([]string{"regcred"}, fixture.Container("api", src.Ref, corev1.PullAlways))); err != nil {
		t.Fatal(err)
	}
	if _, err := kube.CoreV1().Secrets(ns).Create(ctx, fixture.PullSecret(ns, "regcred", stack.Registry, stack.RegistryUser, stack.RegistryPassword), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	prefix := stack.Registry + "/" + ns + "/mirror"
	target := prefix + "/" + strings.ReplaceAll(stack.PublicRegistry, ":", "-") + "/" + ns + "/api:2.0"
	// Someone already pushed another image under the target tag.
	other := push(t, target)
	env := []string{"DOCKER_CONFIG=" + pushConfig(t, stack.Registry)}
	args := []string{"imgtrust", "pin", "deploy/api", "-n", ns, "--source=registry", "--mirror-to", prefix, "--apply"}
	r := kubectlEnv(t, env, args...)
	if r.Code != 1 || !strings.Contains(r.Stderr, "already points at "+other.Digest) || !strings.Contains(r.Stderr, "--overwrite-tags") {
		t.Errorf("want the tag conflict refused:\n%s", r)
	}
	if img := deploymentImage(t, ns, "api"); img != src.Ref {
		t.Errorf("refused, yet the image is %s", img)
	}

	// A mirror whose connection is cut mid-copy: nothing is patched.
	proxy, err := fixture.StartProxy(strings.Replace(stack.Registry, "localhost", "127.0.0.1", 1))
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Close()
	proxy.CutAfter(3000)
	cutEnv := []string{"DOCKER_CONFIG=" + pushConfig(t, stack.Registry, proxy.Addr)}
	cut := kubectlEnv(t, cutEnv, "imgtrust", "pin", "deploy/api", "-n", ns, "--source=registry", "--mirror-to", proxy.Addr+"/"+ns+"/cut", "--apply")
	if cut.Code != 1 || !strings.Contains(cut.Stderr, "failed deployment/api") || !strings.Contains(cut.Stderr, "nothing patched") {
		t.Errorf("want the cut copy to fail the object:\n%s", cut)
	}
	if img := deploymentImage(t, ns, "api"); img != src.Ref {
		t.Errorf("a failed copy, yet the image is %s", img)
	}

	// --overwrite-tags moves the tag; then the pin lands.
	ok := kubectlEnv(t, env, append(args, "--overwrite-tags")...)
	mustSucceed(t, ok, "pin --mirror-to --overwrite-tags")
	if img := deploymentImage(t, ns, "api"); img != target+"@"+src.Digest {
		t.Errorf("image %s, want %s", img, target+"@"+src.Digest)
	}
	bad := kubectl(t, "imgtrust", "pin", "deploy/api", "-n", ns, "--mirror-to", "mirror")
	if bad.Code != 2 || !strings.Contains(bad.Stderr, `--mirror-to "mirror" is not a registry host`) {
		t.Errorf("a prefix without a host: %s", bad)
	}
}

// TestMirrorIncompleteTarget: targets that take the manifest but lose its
// blobs (test/faultregistry's upload faults) fail the copy, naming the
// blob or the other host; nothing is patched and no blob or credential
// reaches the other host.
func TestMirrorIncompleteTarget(t *testing.T) {
	ctx := testContext(t)
	reg, ca := faultregistry.StartForTest(t)
	ns := newNamespace(t, "mirror-lost")
	src := push(t, stack.PublicRegistry+"/"+ns+"/api:3.0")
	w := fixture.Workloads{CS: kube, NS: ns}
	if err := w.Deployment(ctx, "api", 0, fixture.PodSpec(nil, fixture.Container("api", src.Ref, corev1.PullAlways))); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	b, _ := json.Marshal(map[string]any{"auths": map[string]any{reg.Host: map[string]string{
		"auth": base64.StdEncoding.EncodeToString([]byte(reg.User + ":" + reg.Password))}}})
	if err := os.WriteFile(filepath.Join(dir, "config.json"), b, 0o600); err != nil {
		t.Fatal(err)
	}
	for fault, says := range map[string]string{
		faultregistry.UploadLost:      "accepted the manifest but does not have blob sha256:",
		faultregistry.UploadElsewhere: "sent a blob upload to another host (its upload went to " + reg.TokenHost + ")",
	} {
		r := kubectlEnv(t, []string{"DOCKER_CONFIG=" + dir}, "imgtrust", "pin", "deploy/api", "-n", ns, "--source=registry",
			"--registry-ca-file", ca, "--mirror-to", reg.Host+"/"+fault, "--apply")
		if r.Code != 1 || !strings.Contains(r.Stderr, "incomplete-copy: ") || !strings.Contains(r.Stderr, says) ||
			!strings.Contains(r.Stderr, "nothing patched") || strings.Contains(r.Stderr, "copied ") {
			t.Errorf("%s: want the copy refused, naming what is missing:\n%s", fault, r)
		}
		if n := reg.Requests(fault); n > 30 {
			t.Errorf("%s: %d requests to the target, want at most 30", fault, n)
		}
		t.Logf("%s: %d requests; %s", fault, reg.Requests(fault), strings.TrimSpace(r.Stderr))
	}
	if img := deploymentImage(t, ns, "api"); img != src.Ref {
		t.Errorf("the copies failed, yet the image is %s", img)
	}
	if n, leaks := reg.Requests("off-host"), reg.Leaks(); n != 0 || len(leaks) != 0 {
		t.Errorf("the other host got %d requests (credentials: %v)", n, leaks)
	}
}

// deploymentImage is the first container image of a Deployment.
func deploymentImage(t *testing.T, ns, name string) string {
	t.Helper()
	d, err := kube.AppsV1().Deployments(ns).Get(testContext(t), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return d.Spec.Template.Spec.Containers[0].Image
}

// TestMirrorManifestFiles: pin -f --mirror-to --write copies each image
// and rewrites only the image strings, byte for byte.
func TestMirrorManifestFiles(t *testing.T) {
	ctx := testContext(t)
	ns := "mirror-files-" + randomSuffix()
	tool := push(t, stack.PublicRegistry+"/"+ns+"/tool:1.0")
	pinned := push(t, stack.PublicRegistry+"/"+ns+"/side:2.0")
	prefix := stack.Registry + "/" + ns + "/mirror"
	host := strings.ReplaceAll(stack.PublicRegistry, ":", "-")
	manifest := `# the tools job
apiVersion: batch/v1
kind: Job
metadata:
  name: tool   # keep this comment
spec:
  template:
    spec:
      containers:
        - name: tool
          image: "` + tool.Ref + `"
        - name: side
          image: ` + pinned.Pinned() + `
      restartPolicy: Never
`
	want := strings.Replace(strings.Replace(manifest,
		`"`+tool.Ref+`"`, `"`+prefix+"/"+host+"/"+ns+"/tool:1.0@"+tool.Digest+`"`, 1),
		pinned.Pinned(), prefix+"/"+host+"/"+ns+"/side:2.0@"+pinned.Digest, 1)
	path := filepath.Join(t.TempDir(), "job.yaml")
	if err := os.WriteFile(path, []byte(manifest), 0o644); err != nil {
		t.Fatal(err)
	}
	env := []string{"DOCKER_CONFIG=" + pushConfig(t, stack.Registry)}
	diff := kubectlEnv(t, env, "imgtrust", "pin", "-f", path, "--mirror-to", prefix)
	mustSucceed(t, diff, "pin -f --mirror-to (diff)")
	if !strings.Contains(diff.Stderr, "would copy "+tool.Repo()+"@"+tool.Digest) || !strings.Contains(diff.Stdout, "+          image: \""+prefix) {
		t.Errorf("the diff and the copies it would make:\n%s", diff)
	}
	wrote := kubectlEnv(t, env, "imgtrust", "pin", "-f", path, "--mirror-to", prefix, "--write")
	mustSucceed(t, wrote, "pin -f --mirror-to --write")
	got, _ := os.ReadFile(path)
	if string(got) != want {
		t.Errorf("rewritten file:\n%s\nwant:\n%s", got, want)
	}
	if !strings.Contains(wrote.Stderr, "mirror: images copied: 2, already present: 0") {
		t.Errorf("the summary of the copies:\n%s", wrote.Stderr)
	}
	craneDir := t.TempDir()
	for _, p := range []fixture.Pushed{tool, pinned} {
		ref := prefix + "/" + host + "/" + strings.TrimPrefix(p.Repo(), stack.PublicRegistry+"/") + "@" + p.Digest
		if d, err := stack.Crane(ctx, craneDir, "digest", ref); err != nil || d != p.Digest {
			t.Errorf("crane digest %s: %q %v", ref, d, err)
		}
	}
	again := kubectlEnv(t, env, "imgtrust", "pin", "-f", path, "--mirror-to", prefix, "--write")
	mustSucceed(t, again, "pin -f --mirror-to --write (again)")
	if got2, _ := os.ReadFile(path); string(got2) != want || !strings.Contains(again.Stderr, "0 files rewritten, 1 unchanged") {
		t.Errorf("a second run changes nothing:\n%s", again)
	}
}
