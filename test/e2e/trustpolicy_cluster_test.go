//go:build e2e

package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/imgtrust/kubectl-imgtrust/pkg/audit"
	"github.com/imgtrust/kubectl-imgtrust/pkg/signature"
	"github.com/imgtrust/kubectl-imgtrust/test/fixture"
)

// TestClusterTrustPolicy installs the real policy-controller
// ClusterImagePolicy CRD into the real kube-apiserver, creates policies
// with a cosign key inline, a key in a Secret, a required attestation and
// unsupported fields, and checks that audit --trust-policy=cluster,
// through kubectl, says per image what policy-controller would say today:
// every policy matching an image must pass, any authority of a policy
// will do, an image no policy matches is denied (its default). The
// keyless fixture's private PKI is not used: it has no transparency log,
// and a ClusterImagePolicy cannot waive one for a keyless authority.
func TestClusterTrustPolicy(t *testing.T) {
	ctx := testContext(t)
	const crdName = "clusterimagepolicies.policy.sigstore.dev"
	ns := newNamespace(t, "cip")
	dir := t.TempDir()
	keyA, pubA := cosignKeys(t, dir, "acme")
	keyB, pubB := cosignKeys(t, dir, "vendor")
	pemA, err := os.ReadFile(pubA)
	if err != nil {
		t.Fatal(err)
	}
	pemB, err := os.ReadFile(pubB)
	if err != nil {
		t.Fatal(err)
	}

	// Before the CRD is served: one line, exit 2, nothing audited.
	if kubectl(t, "get", "crd", crdName).Code != 0 {
		r := kubectl(t, "imgtrust", "audit", "-n", ns, "--trust-policy=cluster")
		if r.Code != 2 || r.Stdout != "" || !strings.Contains(r.Stderr, "the cluster serves no ClusterImagePolicy") || strings.Count(strings.TrimSpace(r.Stderr), "\n") != 0 {
			t.Errorf("--trust-policy=cluster without the CRD: want one line, exit 2\n%s", r)
		}
	}
	installEngineCRD(t, filepath.Join(fetchEngineCRDs(t), engineCRDs["policy-controller"].file), crdName)

	priv := stack.Registry + "/" + ns
	images := map[string]fixture.Pushed{}
	for name, ref := range map[string]string{
		"web": priv + "/acme/web:1", "other": priv + "/acme/other:1", "unsigned": priv + "/acme/unsigned:1",
		"tool": priv + "/vendor/tool:1", "one-of-two": priv + "/both/one:1", "two-of-two": priv + "/both/two:1",
		"attested": priv + "/built/attested:1", "unattested": priv + "/built/unattested:1",
		"warned": priv + "/warned/x:1", "stray": priv + "/misc/stray:1", "tagged": priv + "/tagged/app:1.4",
	} {
		images[name] = push(t, ref)
	}
	for _, s := range []struct{ name, key string }{{"web", keyA}, {"other", keyB}, {"tool", keyB}, {"one-of-two", keyA},
		{"two-of-two", keyA}, {"two-of-two", keyB}, {"unattested", keyA}, {"warned", keyA}, {"stray", keyA}, {"tagged", keyA}} {
		if err := stack.CosignSign(ctx, s.key, images[s.name].Repo()+"@"+images[s.name].Digest, false); err != nil {
			t.Fatalf("signing %s: %v", s.name, err)
		}
	}
	// built/attested has no signature, only SLSA provenance attested with
	// key A: the authority that asks for the attestation is met by it.
	predicate := filepath.Join(dir, "provenance.json")
	writeFile(t, predicate, slsaPredicate)
	if err := stack.CosignAttest(ctx, keyA, images["attested"].Repo()+"@"+images["attested"].Digest, predicate, "slsaprovenance1", false); err != nil {
		t.Fatal(err)
	}
	deployEach(t, ns, images)
	// key.secretRef is read from policy-controller's namespace: here ns.
	if _, err := kube.CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "vendor-key"}, Data: map[string][]byte{"cosign.pub": pemB},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	glob := func(g ...string) []any {
		var out []any
		for _, s := range g {
			out = append(out, map[string]any{"glob": priv + "/" + s})
		}
		return out
	}
	cips := []map[string]any{
		{"name": "acme-keyed", "spec": map[string]any{"images": glob("acme/**", "both/**"),
			"authorities": []any{map[string]any{"key": map[string]any{"data": string(pemA)}}}}},
		{"name": "vendor-secret", "spec": map[string]any{"images": glob("vendor/**", "both/**"),
			"authorities": []any{map[string]any{"key": map[string]any{"secretRef": map[string]any{"name": "vendor-key"}}}}}},
		{"name": "built-attested", "spec": map[string]any{"images": glob("built/**"),
			"authorities": []any{map[string]any{"key": map[string]any{"data": string(pemA)},
				"attestations": []any{map[string]any{"name": "provenance", "predicateType": "https://slsa.dev/provenance/v1"}}}}}},
		// Only the 1.x tags: the glob matches the image as written.
		{"name": "tagged", "spec": map[string]any{"images": glob("tagged/app:1*"),
			"authorities": []any{map[string]any{"key": map[string]any{"data": string(pemA)}}}}},
		{"name": "unsupported", "spec": map[string]any{"images": glob("warned/**"), "mode": "warn",
			"authorities": []any{
				map[string]any{"key": map[string]any{"kms": "awskms:///arn:aws:kms:us-east-1:1:key/x"}},
				map[string]any{"key": map[string]any{"data": string(pemA)}, "source": []any{map[string]any{"oci": priv + "/sigs"}}},
			}}},
	}
	var docs []string
	for _, c := range cips {
		b, err := yaml.Marshal(map[string]any{"apiVersion": "policy.sigstore.dev/v1beta1", "kind": "ClusterImagePolicy",
			"metadata": map[string]any{"name": c["name"]}, "spec": c["spec"]})
		if err != nil {
			t.Fatal(err)
		}
		docs = append(docs, string(b))
	}
	cipFile := filepath.Join(dir, "cips.yaml")
	writeFile(t, cipFile, strings.Join(docs, "---\n"))
	mustSucceed(t, kubectl(t, "apply", "-f", cipFile), "creating the ClusterImagePolicies")

	rep, r := auditJSON(t, "-n", ns, "--trust-policy=cluster", "--policy-controller-namespace", ns)
	if r.Code != 0 {
		t.Fatalf("audit --trust-policy=cluster: %s", r)
	}
	acme, vendor, built := "clusterimagepolicy/acme-keyed", "clusterimagepolicy/vendor-secret", "clusterimagepolicy/built-attested"
	want := map[string]struct {
		status  signature.Status
		rule    string
		finding string
	}{
		"web":        {signature.StatusVerified, acme, ""},
		"other":      {signature.StatusOtherKey, acme, audit.IDSignedByUnknownKey},
		"unsigned":   {signature.StatusUnsigned, acme, audit.IDUnsigned},
		"tool":       {signature.StatusVerified, vendor, ""},
		"one-of-two": {signature.StatusOtherKey, vendor, audit.IDSignedByUnknownKey}, // acme-keyed passes, vendor-secret rejects
		"two-of-two": {signature.StatusVerified, acme + "," + vendor, ""},
		"attested":   {signature.StatusVerified, built, ""},
		"unattested": {signature.StatusVerified, built, audit.IDAttestationMissing},
		"warned":     {signature.StatusVerified, "clusterimagepolicy/unsupported", ""},
		"stray":      {"", "", audit.IDNoTrustRule},
		"tagged":     {signature.StatusVerified, "clusterimagepolicy/tagged", ""},
	}
	for name, w := range want {
		it := item(t, rep, "Deployment", name, "app")
		switch {
		case w.status == "" && it.Signature != nil:
			t.Errorf("%s: checked (%+v) though no ClusterImagePolicy matches it", name, it.Signature)
		case w.status != "" && (it.Signature == nil || it.Signature.Status != w.status || it.Signature.Rule != w.rule):
			t.Errorf("%s: signature %+v, want %s by %s", name, it.Signature, w.status, w.rule)
		}
		if w.finding != "" {
			f := findingFor(t, it, w.finding)
			if f.Severity != audit.SeverityHigh {
				t.Errorf("%s: %s is %s, want high (policy-controller would reject it)", name, w.finding, f.Severity)
			}
			if w.rule != "" && !strings.Contains(f.Message, w.rule) && w.finding != audit.IDUnsigned {
				t.Errorf("%s: %s does not name %s: %q", name, w.finding, w.rule, f.Message)
			}
		}
	}
	if f := findingFor(t, item(t, rep, "Deployment", "stray", "app"), audit.IDNoTrustRule); !strings.Contains(f.Message, "no-match-policy is deny") {
		t.Errorf("stray: %q, want it to say policy-controller's no-match-policy denies it", f.Message)
	}
	if v := item(t, rep, "Deployment", "tool", "app").Signature.VerifiedBy; len(v) != 1 || !strings.Contains(v[0].File, "authorities[0].key.secretRef") {
		t.Errorf("tool verified by %+v, want the key of vendor-secret's secretRef", v)
	}
	// Unsupported fields: one warning line each, naming the policy and field.
	for _, w := range []string{
		"warning: clusterimagepolicy/unsupported: spec.mode: warn:",
		"warning: clusterimagepolicy/unsupported: spec.authorities[0].key.kms: KMS keys are not read",
		"warning: clusterimagepolicy/unsupported: spec.authorities[1].source:",
	} {
		if !strings.Contains(r.Stderr, w) {
			t.Errorf("no %q on stderr:\n%s", w, r.Stderr)
		}
	}
	if strings.Contains(r.Stdout+r.Stderr, "BEGIN PUBLIC KEY") {
		t.Errorf("a key's PEM is printed")
	}
	wide := kubectl(t, "imgtrust", "audit", "-n", ns, "--trust-policy=cluster", "--policy-controller-namespace", ns, "-o", "wide")
	if !strings.Contains(wide.Stdout, acme+","+vendor) {
		t.Errorf("-o wide: want the TRUST RULE column to name both policies of two-of-two\n%s", wide)
	}
	t.Logf("audit --trust-policy=cluster -o wide:\n%s", wide)

	// cosign's own verify agrees on the keyed verdicts.
	for name, c := range map[string]struct {
		pub string
		ok  bool
	}{"web": {pubA, true}, "other": {pubA, false}, "tool": {pubB, true}, "one-of-two": {pubB, false}, "two-of-two": {pubB, true}} {
		img := images[name]
		if ok, out := stack.CosignVerify(ctx, c.pub, img.Repo()+"@"+img.Digest); ok != c.ok {
			t.Errorf("cosign verify %s with %s: ok=%v, want %v\n%s", name, filepath.Base(c.pub), ok, c.ok, out)
		}
	}

	// sign --require verified-upstream holds to the same policies, matched
	// as the audit matches them (the tagged glob names the tag). An image
	// no policy matches is refused, also when policy-controller's
	// no-match-policy is allow: nothing verified it.
	ownKey, ownPub := cosignKeys(t, dir, "own")
	signEnv := []string{"DOCKER_CONFIG=" + pushConfig(t, stack.Registry), "COSIGN_PASSWORD="}
	gated := func(name string) result {
		deployRunning(t, ns, "sign-"+name, images[name])
		return kubectlEnv(t, signEnv, "imgtrust", "sign", "deploy/sign-"+name, "-n", ns, "--key", ownKey,
			"--require", "verified-upstream", "--trust-policy=cluster", "--policy-controller-namespace", ns)
	}
	r = gated("tagged")
	t.Logf("sign --require verified-upstream --trust-policy=cluster, deploy/sign-tagged:\n%s", r)
	mustSucceed(t, r, "sign of an image clusterimagepolicy/tagged matches by its tag and verifies")
	if _, err := kube.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "config-policy-controller"},
		Data: map[string]string{"no-match-policy": "allow"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	r = gated("stray")
	t.Logf("no-match-policy allow, deploy/sign-stray:\n%s", r)
	if r.Code != 1 || !strings.Contains(r.Stderr, "--require verified-upstream: no ClusterImagePolicy matches "+images["stray"].Ref+", so nothing verified it: not signed") {
		t.Errorf("sign of an image no ClusterImagePolicy matches, no-match-policy allow: want refused, exit 1\n%s", r)
	}
	for name, want := range map[string]bool{"tagged": true, "stray": false} {
		img := images[name]
		if ok, out := stack.CosignVerify(ctx, ownPub, img.Repo()+"@"+img.Digest); ok != want {
			t.Errorf("cosign verify %s with our key: ok=%v, want %v\n%s", name, ok, want, out)
		}
	}

	// pin holds a digest to the policies that match it.
	r = kubectl(t, "imgtrust", "pin", "-n", ns, "deploy/one-of-two", "--source=registry", "--trust-policy=cluster", "--policy-controller-namespace", ns)
	if r.Code != 1 || !strings.Contains(r.Stderr, vendor) {
		t.Errorf("pin of one-of-two: want it refused (exit 1) naming %s\n%s", vendor, r)
	}
	// A key Secret that is not where policy-controller reads it: one line.
	r = kubectl(t, "imgtrust", "audit", "-n", ns, "--trust-policy=cluster")
	if r.Code != 2 || r.Stdout != "" || !strings.Contains(r.Stderr, `clusterimagepolicy/vendor-secret: spec.authorities[0].key.secretRef: no Secret "vendor-key" in namespace "cosign-system"`) {
		t.Errorf("secretRef in another namespace: want one line naming the policy and field, exit 2\n%s", r)
	}
	// A user who may read the namespace's workloads but not the
	// cluster's policies: one line naming the permission, exit 2.
	restricted, err := stack.RestrictedKubeconfig(ctx, kube, ns, "cip-viewer", []rbacv1.PolicyRule{
		fixture.ReadRules("", "pods", "serviceaccounts", "secrets"),
		fixture.ReadRules("apps", "deployments", "replicasets"),
	}, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	r = kubectl(t, "imgtrust", "audit", "-n", ns, "--kubeconfig", restricted, "--trust-policy=cluster", "--policy-controller-namespace", ns)
	if r.Code != 2 || r.Stdout != "" || !strings.Contains(r.Stderr, "forbidden: reading the cluster's policies needs list on clusterimagepolicies.policy.sigstore.dev") || strings.Count(strings.TrimSpace(r.Stderr), "\n") != 0 {
		t.Errorf("--trust-policy=cluster without list on clusterimagepolicies: want one line naming the permission, exit 2\n%s", r)
	}
	r = kubectl(t, "imgtrust", "audit", "--all-contexts", "--trust-policy=cluster")
	if r.Code != 2 || !strings.Contains(r.Stderr, "--trust-policy=cluster reads one cluster's ClusterImagePolicies") {
		t.Errorf("--trust-policy=cluster with several contexts: want it refused, exit 2\n%s", r)
	}
}
