//go:build e2e

package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/imgtrust/kubectl-imgtrust/pkg/sign"
	"github.com/imgtrust/kubectl-imgtrust/pkg/signature"
	"github.com/imgtrust/kubectl-imgtrust/test/faultregistry"
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
		// The checks attestation, in the same format family.
		if ok, out := stack.CosignVerifyAttestation(ctx, pub, want.ref, sign.PredicateChecks); !ok {
			t.Errorf("%s: cosign verify-attestation --type %s rejects what sign wrote:\n%s", name, sign.PredicateChecks, out)
		}
		rep, r := auditJSON(t, "-n", ns, "--verify-key", pub, "--provenance", "deploy/"+name)
		if r.Code != 0 && r.Code != 1 {
			t.Fatalf("audit --verify-key --provenance: %s", r)
		}
		it := item(t, rep, "Deployment", name, "app")
		if it.Signature == nil || it.Signature.Status != signature.StatusVerified || len(it.Signature.Artifacts) != 1 || it.Signature.Artifacts[0].Format != want.format {
			t.Errorf("%s: audit --verify-key cosign.pub: %+v, want verified, one %s", name, it.Signature, want.format)
		}
		if p := it.Provenance; p == nil || p.CheckedBy == nil || !p.CheckedBy.Verified || len(p.CheckedBy.Checks) != 0 || !strings.HasPrefix(p.CheckedBy.Tool, "kubectl-imgtrust") {
			t.Errorf("%s: audit --provenance: checkedBy %+v, want verified, no checks asked for", name, it.Provenance)
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

// TestSignGates: --require provenance and --max-age refuse, one line each
// naming the gate, a digest without provenance, without a build time or
// built too long ago, and sign one with both; the checks attestation
// records them and audit --provenance shows it. --require no-critical and
// --max-severity read real Trivy Operator reports: a digest whose report
// lists a critical (or, with --max-severity high, a high) is refused naming
// the report, one with no scan is refused, a clean one is signed.
func TestSignGates(t *testing.T) {
	ctx := testContext(t)
	ns := signNamespace(t, "signgate")
	key, pub := encryptedKeyPair(t, "gate-pass-3")
	env := []string{"DOCKER_CONFIG=" + pushConfig(t, stack.Registry), "COSIGN_PASSWORD=gate-pass-3"}
	craneDir := t.TempDir()
	annotated := func(name, created string) fixture.Pushed {
		repo := stack.Registry + "/" + ns + "/" + name
		base := push(t, repo+":base")
		if _, err := stack.Crane(ctx, craneDir, "mutate", base.Ref, "-t", repo+":1",
			"--annotation", "org.opencontainers.image.source=https://github.com/acme/"+name,
			"--annotation", "org.opencontainers.image.revision=0123456789abcdef0123456789abcdef01234567",
			"--annotation", "org.opencontainers.image.created="+created); err != nil {
			t.Fatal(err)
		}
		digest, err := stack.Crane(ctx, craneDir, "digest", repo+":1")
		if err != nil {
			t.Fatal(err)
		}
		img := fixture.Pushed{Ref: repo + ":1", Digest: digest}
		deployRunning(t, ns, name, img)
		return img
	}
	bare := runningDeployment(t, ns, "bare")
	fresh := annotated("fresh", time.Now().Add(-48*time.Hour).UTC().Format(time.RFC3339))
	stale := annotated("stale", "2020-01-02T00:00:00Z")
	gated := func(name string, extra ...string) result {
		args := append([]string{"imgtrust", "sign", "deploy/" + name, "-n", ns, "--key", key, "--require", "provenance", "--max-age", "30d"}, extra...)
		return kubectlEnv(t, env, args...)
	}

	for name, want := range map[string]string{
		"bare":  "--require provenance: it names no source repository or revision",
		"stale": "--max-age: it was built 2020-01-02",
	} {
		r := gated(name)
		t.Logf("sign --require provenance --max-age 30d, %s:\n%s", name, r)
		if r.Code != 1 || !strings.Contains(r.Stderr, "refused deployment/"+name) || !strings.Contains(r.Stderr, want) || strings.Count(r.Stderr, "\n") != 2 {
			t.Errorf("%s: want exit 1 and one line with %q\n%s", name, want, r)
		}
	}
	for _, img := range []fixture.Pushed{bare, stale} {
		if ok, _ := stack.CosignVerify(ctx, pub, img.Repo()+"@"+img.Digest); ok {
			t.Errorf("a refused digest was signed: %s", img.Ref)
		}
	}
	noAge := kubectlEnv(t, env, "imgtrust", "sign", "deploy/bare", "-n", ns, "--key", key, "--max-age", "30d")
	if noAge.Code != 1 || !strings.Contains(noAge.Stderr, "--max-age: its build time is unknown") {
		t.Errorf("no build time: want refused naming --max-age\n%s", noAge)
	}

	ok := gated("fresh")
	mustSucceed(t, ok, "sign --require provenance --max-age 30d, fresh")
	t.Logf("sign --require provenance --max-age 30d, fresh:\n%s", ok)
	ref := fresh.Repo() + "@" + fresh.Digest
	if ok, out := stack.CosignVerify(ctx, pub, ref); !ok {
		t.Errorf("cosign verify rejects the gated signature:\n%s", out)
	}
	// --type makes cosign accept only an attestation of that predicate.
	if ok, out := stack.CosignVerifyAttestation(ctx, pub, ref, sign.PredicateChecks); !ok {
		t.Errorf("cosign verify-attestation rejects the checks attestation:\n%s", out)
	}
	rep, r := auditJSON(t, "-n", ns, "--verify-key", pub, "--provenance", "deploy/fresh")
	if r.Code != 0 && r.Code != 1 {
		t.Fatalf("audit: %s", r)
	}
	it := item(t, rep, "Deployment", "fresh", "app")
	if p := it.Provenance; p == nil || p.CheckedBy == nil || !p.CheckedBy.Verified || strings.Join(p.CheckedBy.Checks, ",") != "provenance,max-age" {
		t.Errorf("audit --provenance: %+v, want checkedBy provenance,max-age, verified", it.Provenance)
	}
	wide := kubectl(t, "imgtrust", "audit", "-n", ns, "--verify-key", pub, "--provenance", "deploy/fresh", "-o", "wide")
	t.Logf("audit --provenance -o wide:\n%s", wide.Stdout)
	if !strings.Contains(wide.Stdout, "IMGTRUST SIGNED AFTER") || !strings.Contains(wide.Stdout, "provenance,max-age") {
		t.Errorf("-o wide: want the IMGTRUST SIGNED AFTER column\n%s", wide)
	}

	bad := gated("fresh", "--require", "max-severity=high")
	if bad.Code != 2 || strings.TrimSpace(bad.Stderr) != "error: --require max-severity=high is not a gate name: give the severity as audit does, --max-severity critical|high|medium|low" {
		t.Errorf("--require max-severity=high: want exit 2 and one line\n%s", bad)
	}

	// --require no-critical and --max-severity read the Trivy Operator's
	// reports, written as it writes them into its real CRDs, filed under
	// the Deployment's ReplicaSet.
	installTrivyCRDs(t)
	crit := runningDeployment(t, ns, "crit")
	clean := runningDeployment(t, ns, "clean")
	unscanned := runningDeployment(t, ns, "unscanned")
	rsOf := func(deployment string) string {
		list, err := kube.AppsV1().ReplicaSets(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=" + deployment})
		if err != nil || len(list.Items) != 1 {
			t.Fatalf("the ReplicaSet of %s: %v", deployment, err)
		}
		return list.Items[0].Name
	}
	var objs []map[string]any
	for _, s := range []trivyScan{
		{owner: rsOf("crit"), repo: crit.Repo(), digest: crit.Digest, critical: 2, high: 1},
		{owner: rsOf("clean"), repo: clean.Repo(), digest: clean.Digest, high: 1},
	} {
		s.kind, s.contain, s.tag, s.at = "ReplicaSet", "app", "1", time.Now().Add(-time.Hour)
		s.name = "replicaset-" + s.owner + "-app"
		objs = append(objs, trivyReport(ns, s))
	}
	createReports(t, objs)
	vulnSign := func(name string, extra ...string) result {
		return kubectlEnv(t, env, append([]string{"imgtrust", "sign", "deploy/" + name, "-n", ns, "--key", key}, extra...)...)
	}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"crit", []string{"--require", "no-critical"}, "--require no-critical: VulnerabilityReport " + ns + "/replicaset-" + rsOf("crit") + "-app (scanned "},
		{"crit", []string{"--require", "no-critical"}, "lists 2 critical, 1 high, 0 medium, 0 low, 0 unknown: 2 at or above critical: not signed"},
		{"clean", []string{"--max-severity", "high"}, "--max-severity: VulnerabilityReport " + ns + "/replicaset-" + rsOf("clean") + "-app"},
		{"unscanned", []string{"--require", "no-critical"}, "--require no-critical: no vulnerability scan of this digest was found"},
	} {
		r := vulnSign(tc.name, tc.args...)
		t.Logf("sign %s %s:\n%s", tc.name, strings.Join(tc.args, " "), r)
		if r.Code != 1 || !strings.Contains(r.Stderr, "refused deployment/"+tc.name) || !strings.Contains(r.Stderr, tc.want) || strings.Count(r.Stderr, "\n") != 2 {
			t.Errorf("%s %v: want exit 1 and one line with %q\n%s", tc.name, tc.args, tc.want, r)
		}
	}
	for _, img := range []fixture.Pushed{crit, clean, unscanned} {
		if ok, _ := stack.CosignVerify(ctx, pub, img.Repo()+"@"+img.Digest); ok {
			t.Errorf("a digest refused by the vulnerability gate was signed: %s", img.Ref)
		}
	}
	signed := vulnSign("clean", "--require", "no-critical")
	mustSucceed(t, signed, "sign --require no-critical, clean")
	t.Logf("sign --require no-critical, clean:\n%s", signed)
	if ok, out := stack.CosignVerify(ctx, pub, clean.Repo()+"@"+clean.Digest); !ok {
		t.Errorf("cosign verify rejects the signature after no-critical passed:\n%s", out)
	}
	rep, r = auditJSON(t, "-n", ns, "--verify-key", pub, "--provenance", "deploy/clean")
	if r.Code != 0 && r.Code != 1 {
		t.Fatalf("audit: %s", r)
	}
	if p := item(t, rep, "Deployment", "clean", "app").Provenance; p == nil || p.CheckedBy == nil || strings.Join(p.CheckedBy.Checks, ",") != "no-critical" {
		t.Errorf("audit --provenance of clean: %+v, want checkedBy no-critical", p)
	}

	// A user who may read the workloads but not the reports: failed, never
	// "no scan", and nothing signed.
	viewer, err := stack.RestrictedKubeconfig(ctx, kube, ns, "signer", []rbacv1.PolicyRule{
		fixture.ReadRules("", "pods", "secrets", "serviceaccounts"),
		fixture.ReadRules("apps", "deployments", "replicasets"),
	}, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	forbidden := kubectlEnv(t, env, "imgtrust", "sign", "deploy/crit", "-n", ns, "--kubeconfig", viewer, "--key", key, "--require", "no-critical")
	t.Logf("sign --require no-critical without access to the reports:\n%s", forbidden)
	if forbidden.Code != 1 || !strings.Contains(forbidden.Stderr, "failed deployment/crit") || !strings.Contains(forbidden.Stderr, "--require no-critical: cannot read its vulnerability scans (") ||
		!strings.Contains(forbidden.Stderr, "forbidden") || strings.Contains(forbidden.Stderr, "no vulnerability scan") {
		t.Errorf("reports forbidden: want exit 1 and one failed line naming the refusal\n%s", forbidden)
	}
	if ok, _ := stack.CosignVerify(ctx, pub, crit.Repo()+"@"+crit.Digest); ok {
		t.Errorf("crit was signed when its reports could not be read")
	}
}

// TestSignRefusedWrites signs digests on registries that refuse the write
// (403 on every write), cut the connection while a blob is sent, or have
// no referrers API and refuse tag writes, in both formats: each fails with
// one line naming what to fix, exit 1, and the real crane finds no
// signature, attestation or referrers tag written.
func TestSignRefusedWrites(t *testing.T) {
	reg, ca := faultregistry.StartForTest(t)
	key, _ := encryptedKeyPair(t, "write-pass-5")
	env := []string{dockerConfig(t, reg.Host, reg.User, reg.Password), "COSIGN_PASSWORD=write-pass-5"}
	hex := strings.TrimPrefix(reg.Digest, "sha256:")
	for _, tc := range []struct {
		fault string
		want  []string
	}{
		{faultregistry.WriteDenied, []string{"(forbidden)", "log in as an account that may push to " + reg.Host + "/" + faultregistry.WriteDenied + "/app", "nothing signed"}},
		{faultregistry.UploadCut, []string{"nothing signed"}},
		{faultregistry.TagWriteDenied, []string{"(forbidden)", "nothing signed"}},
	} {
		for _, format := range []string{"bundle", "legacy"} {
			want := tc.want
			if tc.fault == faultregistry.TagWriteDenied && format == "bundle" {
				// Stored by digest, not listable: taken back.
				want = append(want[:len(want):len(want)], "has no referrers API and refused the referrers tag", "was deleted again", "use a registry with the OCI referrers API")
			}
			repo := reg.Host + "/" + tc.fault + "/app"
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
      - {name: app, image: "`+repo+"@"+reg.Digest+`"}
`)
			r := kubectlEnv(t, env, "imgtrust", "sign", "-f", file, "--key", key, "--signature-format", format, "--registry-ca-file", ca)
			t.Logf("%s, %s:\n%s", tc.fault, format, r)
			if r.Code != 1 || r.Stdout != "" || !strings.HasPrefix(r.Stderr, "failed Deployment/web ("+file+":1) container \"app\": ") || strings.Count(r.Stderr, "\n") != 2 {
				t.Errorf("%s, %s: want exit 1 and one failed line\n%s", tc.fault, format, r)
			}
			for _, w := range want {
				if !strings.Contains(r.Stderr, w) {
					t.Errorf("%s, %s: want %q in\n%s", tc.fault, format, w, r.Stderr)
				}
			}
			if strings.Contains(r.Stderr, reg.Password) {
				t.Errorf("%s, %s: the output shows the registry password", tc.fault, format)
			}
			// Nothing half-written: no .sig, .att or referrers tag.
			tags := craneAt(t, env, ca, "ls", repo)
			if strings.TrimSpace(tags) != "v1" {
				t.Errorf("%s, %s: tags after a failed sign: %q, want only v1 (no sha256-%s, .sig or .att)", tc.fault, format, tags, hex[:12])
			}
		}
	}
}

// craneAt runs the real crane with env (a DOCKER_CONFIG) trusting ca.
func craneAt(t *testing.T, env []string, ca string, args ...string) string {
	t.Helper()
	cmd := exec.CommandContext(testContext(t), "crane", args...)
	cmd.Env = append(append(os.Environ(), env...), "SSL_CERT_FILE="+ca)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("crane %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}
