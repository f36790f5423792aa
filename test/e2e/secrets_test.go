//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	authv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/utils/ptr"

	"github.com/imgtrust/kubectl-imgtrust/test/fixture"
)

// secretsReport is `kubectl imgtrust secrets -o json`.
type secretsReport struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Verified   bool   `json:"verified"`
	Items      []struct {
		Namespace, Kind, Name, Registry, Status, Detail string
		Secrets                                         []struct{ Name, Source string }
	} `json:"items"`
	NamespaceFindings []struct{ Namespace, Type, Object, Detail, Fix string } `json:"namespaceFindings"`
	Warnings          []string                                                `json:"warnings"`
}

// secretsNamespace creates a namespace of its own for one test and deletes
// it afterwards.
func secretsNamespace(t *testing.T) string {
	t.Helper()
	ns := fmt.Sprintf("secrets-%s-%04x", strings.ToLower(strings.ReplaceAll(t.Name(), "/", "-"))[len("TestSecrets"):], rand.IntN(0x10000))
	ns = strings.Trim(strings.ReplaceAll(ns, "_", "-"), "-")
	if len(ns) > 60 {
		ns = ns[:60]
	}
	ctx := context.Background()
	if err := fixture.CreateNamespace(ctx, kube, ns); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = kube.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{}) })
	return ns
}

func noErr(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// createSecret stores s (its namespace set by the caller).
func createSecret(t *testing.T, s *corev1.Secret) {
	t.Helper()
	_, err := kube.CoreV1().Secrets(s.Namespace).Create(context.Background(), s, metav1.CreateOptions{})
	noErr(t, err)
}

// createDeployment creates a one-container Deployment; pods appear through
// the controller-manager and stay Pending (there is no kubelet).
func createDeployment(t *testing.T, ns, name, image, serviceAccount string, pullSecrets ...string) {
	t.Helper()
	labels := map[string]string{"app": name}
	spec := corev1.PodSpec{ServiceAccountName: serviceAccount, Containers: []corev1.Container{{Name: "app", Image: image}}}
	for _, s := range pullSecrets {
		spec.ImagePullSecrets = append(spec.ImagePullSecrets, corev1.LocalObjectReference{Name: s})
	}
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](1),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: spec},
		},
	}
	_, err := kube.AppsV1().Deployments(ns).Create(context.Background(), d, metav1.CreateOptions{})
	noErr(t, err)
}

func createServiceAccount(t *testing.T, ns, name string, pullSecrets ...string) {
	t.Helper()
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
	for _, s := range pullSecrets {
		sa.ImagePullSecrets = append(sa.ImagePullSecrets, corev1.LocalObjectReference{Name: s})
	}
	_, err := kube.CoreV1().ServiceAccounts(ns).Create(context.Background(), sa, metav1.CreateOptions{})
	noErr(t, err)
}

// rawPullSecret is a secret of any type with one data key.
func rawPullSecret(ns, name string, typ corev1.SecretType, key, value string) *corev1.Secret {
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Type:       typ,
		Data:       map[string][]byte{key: []byte(value)},
	}
}

// runSecrets runs `kubectl imgtrust secrets ARGS -o json`, checks that no
// output holds a test password, and decodes the report.
func runSecrets(t *testing.T, env []string, args ...string) (secretsReport, result) {
	t.Helper()
	r := kubectlEnv(t, env, append([]string{"imgtrust", "secrets", "-o", "json"}, args...)...)
	assertNoPasswords(t, r)
	var rep secretsReport
	if r.Code == 0 || r.Code == 1 {
		if err := json.Unmarshal([]byte(r.Stdout), &rep); err != nil {
			t.Fatalf("secrets -o json is not JSON: %v\n%s", err, r)
		}
	}
	return rep, r
}

// wrongPassword is refused by the private registry.
func wrongPassword() string { return "wrong-" + stack.RegistryPassword }

// assertNoPasswords fails when any output holds a test password or its
// base64 forms.
func assertNoPasswords(t *testing.T, r result) {
	t.Helper()
	for _, pw := range []string{stack.RegistryPassword, wrongPassword()} {
		for _, s := range []string{pw, b64(stack.RegistryUser + ":" + pw), b64(pw)} {
			if strings.Contains(r.Stdout, s) || strings.Contains(r.Stderr, s) {
				t.Fatalf("output holds a password or auth value:\n%s", r)
			}
		}
	}
}

// row returns the status and detail of a workload's row for a registry.
func row(t *testing.T, rep secretsReport, name, registry string) (status, detail string, secrets []string) {
	t.Helper()
	for _, it := range rep.Items {
		if it.Name == name && it.Registry == registry {
			for _, s := range it.Secrets {
				secrets = append(secrets, s.Source+"/"+s.Name)
			}
			return it.Status, it.Detail, secrets
		}
	}
	t.Fatalf("no row for %s and %s in %+v", name, registry, rep.Items)
	return "", "", nil
}

func TestSecretsStatuses(t *testing.T) {
	ns := secretsNamespace(t)
	reg, pub := stack.Registry, stack.PublicRegistry
	good := fixture.PullSecret(ns, "regcred", reg, stack.RegistryUser, stack.RegistryPassword)
	createSecret(t, good)
	createSecret(t, fixture.PullSecret(ns, "sa-cred", reg, stack.RegistryUser, stack.RegistryPassword))
	createSecret(t, fixture.PullSecret(ns, "othercred", "other.example.com", "bob", stack.RegistryPassword))
	createSecret(t, fixture.PullSecret(ns, "wrongcred", reg, stack.RegistryUser, wrongPassword()))
	createSecret(t, rawPullSecret(ns, "opaque", corev1.SecretTypeOpaque, corev1.DockerConfigJsonKey, string(good.Data[corev1.DockerConfigJsonKey])))
	createSecret(t, rawPullSecret(ns, "badauth", corev1.SecretTypeDockerConfigJson, corev1.DockerConfigJsonKey, `{"auths":{"`+reg+`":{"auth":"%%%not-base64"}}}`))
	createServiceAccount(t, ns, "builder", "sa-cred")

	createDeployment(t, ns, "pod-secret", reg+"/team/app:1", "", "regcred")
	createDeployment(t, ns, "sa-secret", reg+"/team/app:1", "builder")
	createDeployment(t, ns, "missing", reg+"/team/app:1", "", "nope")
	createDeployment(t, ns, "other-registry", reg+"/team/app:1", "", "othercred")
	createDeployment(t, ns, "wrong-type", reg+"/team/app:1", "", "opaque")
	createDeployment(t, ns, "bad-base64", reg+"/team/app:1", "", "regcred", "badauth")
	createDeployment(t, ns, "rejected", reg+"/team/app:1", "", "wrongcred")
	createDeployment(t, ns, "public", pub+"/lib/tool:1", "")

	// A bare pod without secrets whose status says it runs the image.
	pod, err := kube.CoreV1().Pods(ns).Create(context.Background(), &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "cached"},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: reg + "/team/cached:1"}}},
	}, metav1.CreateOptions{})
	noErr(t, err)
	if err := fixture.SetRunning(context.Background(), kube, pod, map[string]string{"app": "docker-pullable://" + reg + "/team/cached@sha256:" + strings.Repeat("ab", 32)}); err != nil {
		t.Fatal(err)
	}

	offline, r := runSecrets(t, nil, "-n", ns)
	mustSucceed(t, r, "secrets")
	verified, r := runSecrets(t, nil, "-n", ns, "--verify")
	mustSucceed(t, r, "secrets --verify")
	if !verified.Verified || offline.Verified {
		t.Errorf("verified = %t without --verify and %t with it", offline.Verified, verified.Verified)
	}
	tests := []struct {
		name, registry string
		verify         bool
		status, detail string
		secrets        []string
	}{
		{"pod-secret", reg, false, "covered", `user "imgtrust" from regcred`, []string{"pod-secret/regcred"}},
		{"sa-secret", reg, false, "covered", `from sa-cred`, []string{"service-account-secret/sa-cred"}},
		{"missing", reg, false, "missing-secret", "secret nope does not exist in " + ns, []string{"pod-secret/nope"}},
		{"other-registry", reg, false, "no-matching-credential", "othercred has no key for " + reg, []string{"pod-secret/othercred"}},
		{"wrong-type", reg, false, "invalid-secret", `type "Opaque" is not kubernetes.io/dockerconfigjson`, []string{"pod-secret/opaque"}},
		{"bad-base64", reg, false, "invalid-secret", "auth is not valid base64", []string{"pod-secret/badauth"}},
		{"rejected", reg, false, "covered", `user "imgtrust" from wrongcred`, []string{"pod-secret/wrongcred"}},
		{"rejected", reg, true, "credential-rejected", "refused the credential", []string{"pod-secret/wrongcred"}},
		{"pod-secret", reg, true, "covered", "verified: " + reg + " accepts", []string{"pod-secret/regcred"}},
		{"public", pub, false, "unknown", "--verify checks it", nil},
		{"public", pub, true, "not-needed", "serves without authentication", nil},
		{"other-registry", reg, true, "no-matching-credential", "refuses anonymous pulls", []string{"pod-secret/othercred"}},
		{"cached", reg, false, "node-provided?", "yet 1 pod run it", nil},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s verify=%t", tt.name, tt.verify), func(t *testing.T) {
			rep := offline
			if tt.verify {
				rep = verified
			}
			status, detail, secrets := row(t, rep, tt.name, tt.registry)
			if status != tt.status || !strings.Contains(detail, tt.detail) || strings.Join(secrets, ",") != strings.Join(tt.secrets, ",") {
				t.Errorf("got %s %v %q\nwant %s %v and a detail containing %q", status, secrets, detail, tt.status, tt.secrets, tt.detail)
			}
		})
	}

	// The table and YAML say the same without a password.
	for _, args := range [][]string{{"-n", ns, "--verify"}, {"-n", ns, "-o", "yaml", "--verify"}} {
		r := kubectl(t, append([]string{"imgtrust", "secrets"}, args...)...)
		mustSucceed(t, r, "secrets "+strings.Join(args, " "))
		assertNoPasswords(t, r)
		if !strings.Contains(r.Stdout, "credential-rejected") {
			t.Errorf("secrets %v does not show credential-rejected:\n%s", args, r)
		}
	}
}

func TestSecretsNamespaceFindings(t *testing.T) {
	ns := secretsNamespace(t)
	other := secretsNamespace(t)
	reg := stack.Registry
	// A name no other test or namespace uses: the lookup is cluster-wide.
	shared := fmt.Sprintf("shared-%04x", rand.IntN(0x10000))
	createSecret(t, fixture.PullSecret(ns, "unused", reg, stack.RegistryUser, stack.RegistryPassword))
	createSecret(t, fixture.PullSecret(other, shared, reg, stack.RegistryUser, stack.RegistryPassword))
	createServiceAccount(t, ns, "builder", "gone")
	createDeployment(t, ns, "web", reg+"/team/app:1", "", shared)

	rep, r := runSecrets(t, nil, "-n", ns)
	mustSucceed(t, r, "secrets")
	got := map[string]string{}
	for _, f := range rep.NamespaceFindings {
		got[f.Type+" "+f.Object] = f.Detail + " | " + f.Fix
	}
	want := map[string][]string{
		"unused-secret secret/unused":                           {"no pod template or service account", "kubectl delete secret unused -n " + ns},
		"secret-in-other-namespace secret/" + shared:            {"exists only in namespace " + other, "kubectl get secret " + shared + " -n " + other},
		"service-account-missing-secret serviceaccount/builder": {"names pull secret gone", "kubectl create secret docker-registry gone -n " + ns},
	}
	if len(got) != len(want) {
		t.Errorf("findings %v, want %d", got, len(want))
	}
	for k, frags := range want {
		for _, f := range frags {
			if !strings.Contains(got[k], f) {
				t.Errorf("finding %s = %q, want it to contain %q", k, got[k], f)
			}
		}
	}
	if status, detail, _ := row(t, rep, "web", reg); status != "missing-secret" || !strings.Contains(detail, shared+" exists in namespace "+other) {
		t.Errorf("web: %s %q, want missing-secret naming %s", status, detail, other)
	}

	// The fix works: after it the deployment is covered.
	fix := rep.NamespaceFindings[0].Fix
	for _, f := range rep.NamespaceFindings {
		if f.Type == "secret-in-other-namespace" {
			fix = f.Fix
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if out, err := execBash(ctx, fix); err != nil {
		t.Fatalf("running the fix %q: %v\n%s", fix, err, out)
	}
	rep, r = runSecrets(t, nil, "-n", ns)
	mustSucceed(t, r, "secrets after the fix")
	if status, _, _ := row(t, rep, "web", reg); status != "covered" {
		t.Errorf("after the fix web is %s, want covered", status)
	}

	// The table prints the findings after the rows.
	r = kubectl(t, "imgtrust", "secrets", "-n", ns)
	mustSucceed(t, r, "secrets table")
	if !strings.Contains(r.Stdout, "Namespace findings:") || !strings.Contains(r.Stdout, "unused-secret") {
		t.Errorf("table lacks the namespace findings:\n%s", r)
	}
}

func TestSecretsJSONShape(t *testing.T) {
	ns := secretsNamespace(t)
	createSecret(t, fixture.PullSecret(ns, "regcred", stack.Registry, stack.RegistryUser, stack.RegistryPassword))
	createDeployment(t, ns, "web", stack.Registry+"/team/app:1", "", "regcred")
	r := kubectl(t, "imgtrust", "secrets", "-n", ns, "-o", "json")
	mustSucceed(t, r, "secrets -o json")
	var raw map[string]any
	if err := json.Unmarshal([]byte(r.Stdout), &raw); err != nil {
		t.Fatal(err)
	}
	if raw["apiVersion"] != "imgtrust.dev/v1alpha1" || raw["kind"] != "SecretsReport" {
		t.Errorf("apiVersion/kind = %v/%v", raw["apiVersion"], raw["kind"])
	}
	items, _ := raw["items"].([]any)
	if len(items) != 1 {
		t.Fatalf("items = %v, want one", raw["items"])
	}
	var keys []string
	for k := range items[0].(map[string]any) {
		keys = append(keys, k)
	}
	if got := strings.Join(sorted(keys), ","); got != "detail,kind,name,namespace,registry,secrets,status" {
		t.Errorf("item keys = %s", got)
	}
	if _, ok := raw["namespaceFindings"].([]any); !ok {
		t.Errorf("namespaceFindings missing: %v", raw)
	}

	// --fail-on: exit 1 on a listed status, 2 on an unknown one.
	if r := kubectl(t, "imgtrust", "secrets", "-n", ns, "--fail-on=covered"); r.Code != 1 {
		t.Errorf("--fail-on=covered: want exit 1, got %s", r)
	}
	if r := kubectl(t, "imgtrust", "secrets", "-n", ns, "--fail-on=missing-secret,invalid-secret"); r.Code != 0 {
		t.Errorf("--fail-on=missing-secret,invalid-secret: want exit 0, got %s", r)
	}
	if r := kubectl(t, "imgtrust", "secrets", "-n", ns, "--fail-on=bogus"); r.Code != 2 || !strings.Contains(r.Stderr, "--fail-on") {
		t.Errorf("--fail-on=bogus: want exit 2 naming the flag, got %s", r)
	}
}

// TestSecretsWithoutPermissionToReadSecrets runs as a service account that
// may list workloads and service accounts but not secrets.
func TestSecretsWithoutPermissionToReadSecrets(t *testing.T) {
	ns := secretsNamespace(t)
	ctx := context.Background()
	createSecret(t, fixture.PullSecret(ns, "regcred", stack.Registry, stack.RegistryUser, stack.RegistryPassword))
	createDeployment(t, ns, "web", stack.Registry+"/team/app:1", "", "regcred")
	createServiceAccount(t, ns, "reader")
	_, err := kube.RbacV1().Roles(ns).Create(ctx, &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "reader"},
		Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{""}, Resources: []string{"pods", "serviceaccounts", "replicationcontrollers"}, Verbs: []string{"get", "list"}},
			{APIGroups: []string{"apps"}, Resources: []string{"deployments", "replicasets", "statefulsets", "daemonsets"}, Verbs: []string{"get", "list"}},
			{APIGroups: []string{"batch"}, Resources: []string{"jobs", "cronjobs"}, Verbs: []string{"get", "list"}},
		},
	}, metav1.CreateOptions{})
	noErr(t, err)
	_, err = kube.RbacV1().RoleBindings(ns).Create(ctx, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "reader"},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: "reader"},
		Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Name: "reader", Namespace: ns}},
	}, metav1.CreateOptions{})
	noErr(t, err)
	tok, err := kube.CoreV1().ServiceAccounts(ns).CreateToken(ctx, "reader", &authv1.TokenRequest{
		Spec: authv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](600)},
	}, metav1.CreateOptions{})
	noErr(t, err)

	cfg, err := clientcmd.LoadFromFile(stack.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	for name, ai := range cfg.AuthInfos {
		ai.ClientCertificateData, ai.ClientKeyData, ai.ClientCertificate, ai.ClientKey = nil, nil, "", ""
		ai.Token = tok.Status.Token
		cfg.AuthInfos[name] = ai
	}
	kubeconfig := filepath.Join(t.TempDir(), "reader.kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, kubeconfig); err != nil {
		t.Fatal(err)
	}
	if r := kubectl(t, "--kubeconfig", kubeconfig, "get", "secrets", "-n", ns); r.Code == 0 {
		t.Fatalf("the reader may read secrets; the test proves nothing:\n%s", r)
	}

	rep, r := runSecrets(t, nil, "--kubeconfig", kubeconfig, "-n", ns)
	mustSucceed(t, r, "secrets as reader")
	status, detail, _ := row(t, rep, "web", stack.Registry)
	if status != "unknown" || !strings.Contains(detail, "cannot read secrets in "+ns) {
		t.Errorf("web: %s %q, want unknown saying secrets cannot be read", status, detail)
	}
	if !strings.Contains(r.Stderr, "cannot read secrets in namespace "+ns) {
		t.Errorf("stderr does not warn about the secrets:\n%s", r)
	}
	_ = os.Remove(kubeconfig)
}

// TestSecretsCachedPulls: on nodes reporting kubelet 1.34 and 1.37, a pod
// with a pull secret runs a private image, and beside it a pod without
// one runs the same image — only because the first pulled it there.
func TestSecretsCachedPulls(t *testing.T) {
	ns := secretsNamespace(t)
	reg := stack.Registry
	suffix := randomSuffix()
	oldNode, newNode := "kubelet-134-"+suffix, "kubelet-137-"+suffix
	createKubeletNode(t, oldNode, "v1.34.2")
	createKubeletNode(t, newNode, "v1.37.0")
	createSecret(t, fixture.PullSecret(ns, "regcred", reg, stack.RegistryUser, stack.RegistryPassword))
	image := reg + "/team/app:1"
	imageID := "docker-pullable://" + reg + "/team/app@sha256:" + strings.Repeat("cd", 32)
	runPodOn(t, ns, "holder-old", oldNode, image, imageID, "regcred")
	runPodOn(t, ns, "holder-new", newNode, image, imageID, "regcred")
	runPodOn(t, ns, "borrower-old", oldNode, image, imageID)
	runPodOn(t, ns, "borrower-new", newNode, image, imageID)

	rep, r := runSecrets(t, nil, "-n", ns, "--verify")
	mustSucceed(t, r, "secrets --verify")
	tests := []struct{ name, status, detail string }{
		{"holder-old", "covered", "verified: " + reg + " accepts"},
		{"holder-new", "covered", "verified: " + reg + " accepts"},
		{"borrower-new", "runs-on-cached-pull", "node " + newNode + " runs kubelet v1.37.0"},
		{"borrower-new", "runs-on-cached-pull", "pulled there by pod/holder-new -n " + ns},
		{"borrower-old", "shares-cached-pull", "node " + oldNode + " runs kubelet v1.34.2"},
		{"borrower-old", "shares-cached-pull", "a pod without access runs a private image"},
	}
	for _, tt := range tests {
		status, detail, _ := row(t, rep, tt.name, reg)
		if status != tt.status || !strings.Contains(detail, tt.detail) {
			t.Errorf("%s: %s %q\nwant %s and a detail containing %q", tt.name, status, detail, tt.status, tt.detail)
		}
	}
	if !strings.Contains(strings.Join(rep.Warnings, "\n"), "assumed each kubelet's imagePullCredentialsVerificationPolicy is the default, NeverVerifyPreloadedImages") ||
		strings.Count(r.Stderr, "imagePullCredentialsVerificationPolicy") != 1 {
		t.Errorf("the assumed policy is not said once:\nwarnings %q\nstderr %s", rep.Warnings, r.Stderr)
	}

	// Without --verify nothing proves the image private: node-provided?.
	offline, r := runSecrets(t, nil, "-n", ns)
	mustSucceed(t, r, "secrets")
	for _, name := range []string{"borrower-old", "borrower-new"} {
		if status, detail, _ := row(t, offline, name, reg); status != "node-provided?" {
			t.Errorf("%s without --verify: %s %q, want node-provided?", name, status, detail)
		}
	}

	// --read-kubelet-config asks each kubelet through the node proxy; no
	// kubelet answers here, which is a per-node warning, not a failure.
	rep, r = runSecrets(t, nil, "-n", ns, "--verify", "--read-kubelet-config")
	mustSucceed(t, r, "secrets --verify --read-kubelet-config")
	if status, _, _ := row(t, rep, "borrower-new", reg); status != "runs-on-cached-pull" {
		t.Errorf("borrower-new with --read-kubelet-config: %s, want runs-on-cached-pull on the default policy", status)
	}
	if !strings.Contains(r.Stderr, "the configuration of the kubelet on node "+newNode+" could not be read") {
		t.Errorf("stderr does not name the node whose configuration is unknown:\n%s", r)
	}

	// CI gate, the table, and bad input.
	if r := kubectl(t, "imgtrust", "secrets", "-n", ns, "--verify", "--fail-on=runs-on-cached-pull"); r.Code != 1 {
		t.Errorf("--fail-on=runs-on-cached-pull: want exit 1, got %s", r)
	}
	r = kubectl(t, "imgtrust", "secrets", "-n", ns, "--verify")
	mustSucceed(t, r, "secrets table")
	assertNoPasswords(t, r)
	if !strings.Contains(r.Stdout, "runs-on-cached-pull") || !strings.Contains(r.Stdout, "shares-cached-pull") {
		t.Errorf("the table lacks the cached-pull statuses:\n%s", r)
	}
	for _, args := range [][]string{{"--read-kubelet-config"}, {"--node-credential-registries", "https://reg.example.com"}} {
		r := kubectl(t, append([]string{"imgtrust", "secrets", "-n", ns}, args...)...)
		if r.Code != 2 || strings.Count(strings.TrimSpace(r.Stderr), "\n") != 0 || !strings.Contains(r.Stderr, args[0]) {
			t.Errorf("secrets %v: want exit 2 and one line naming the flag, got %s", args, r)
		}
	}

	// SARIF: the re-checking kubelet's row is an error, the other a warning.
	r = kubectl(t, "imgtrust", "secrets", "-n", ns, "--verify", "-o", "sarif")
	mustSucceed(t, r, "secrets -o sarif")
	var log struct {
		Runs []struct {
			Results []struct{ RuleID, Level string } `json:"results"`
		} `json:"runs"`
	}
	noErr(t, json.Unmarshal([]byte(r.Stdout), &log))
	levels := map[string]string{}
	for _, res := range log.Runs[0].Results {
		levels[res.RuleID] = res.Level
	}
	if levels["runs-on-cached-pull"] != "error" || levels["shares-cached-pull"] != "warning" {
		t.Errorf("SARIF levels %v, want runs-on-cached-pull error and shares-cached-pull warning", levels)
	}

	// Without permission to read nodes, nothing is assumed of their
	// kubelets: unknown, the missing permission said once; nothing fails.
	readRules := []rbacv1.PolicyRule{
		{APIGroups: []string{""}, Resources: []string{"pods", "secrets", "serviceaccounts", "replicationcontrollers"}, Verbs: []string{"get", "list"}},
		{APIGroups: []string{"apps"}, Resources: []string{"deployments", "replicasets", "statefulsets", "daemonsets"}, Verbs: []string{"get", "list"}},
		{APIGroups: []string{"batch"}, Resources: []string{"jobs", "cronjobs"}, Verbs: []string{"get", "list"}},
	}
	reader := roleKubeconfig(t, ns, "no-nodes", readRules)
	if r := kubectl(t, "--kubeconfig", reader, "get", "node", newNode); r.Code == 0 {
		t.Fatalf("the reader may read nodes; the test proves nothing:\n%s", r)
	}
	rep, r = runSecrets(t, nil, "--kubeconfig", reader, "-n", ns, "--verify")
	mustSucceed(t, r, "secrets --verify without nodes")
	for _, name := range []string{"borrower-old", "borrower-new"} {
		if status, detail, _ := row(t, rep, name, reg); status != "unknown" || !strings.Contains(detail, "could not be read (get nodes is forbidden by RBAC), so whether its kubelet re-checks the credentials of cached images is unknown") ||
			strings.Contains(detail, "ErrImagePull") {
			t.Errorf("%s without nodes: %s %q, want unknown, predicting no failure", name, status, detail)
		}
	}
	if strings.Count(r.Stderr, "cannot read nodes (get nodes is forbidden by RBAC): whether their kubelets re-check the credentials of cached private images") != 1 ||
		!strings.Contains(r.Stderr, "grant get on nodes to know") {
		t.Errorf("want the missing permission said once on stderr:\n%s", r)
	}
	t.Logf("secrets --verify without get on nodes:\n%s", r.Stderr)

	// Allowed to read one node only: each node is judged by what was read
	// of it.
	oneNode := roleKubeconfig(t, ns, "one-node", readRules)
	ctx := testContext(t)
	crName := "imgtrust-e2e-one-node-" + suffix
	_, err := kube.RbacV1().ClusterRoles().Create(ctx, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: crName},
		Rules: []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"nodes"}, ResourceNames: []string{newNode}, Verbs: []string{"get"}}}}, metav1.CreateOptions{})
	noErr(t, err)
	t.Cleanup(func() { _ = kube.RbacV1().ClusterRoles().Delete(context.Background(), crName, metav1.DeleteOptions{}) })
	_, err = kube.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: crName},
		RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: crName},
		Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Name: "one-node", Namespace: ns}}}, metav1.CreateOptions{})
	noErr(t, err)
	t.Cleanup(func() {
		_ = kube.RbacV1().ClusterRoleBindings().Delete(context.Background(), crName, metav1.DeleteOptions{})
	})
	if r := kubectl(t, "--kubeconfig", oneNode, "get", "node", oldNode); r.Code == 0 {
		t.Fatalf("the one-node reader may read node %s; the test proves nothing:\n%s", oldNode, r)
	}
	rep, r = runSecrets(t, nil, "--kubeconfig", oneNode, "-n", ns, "--verify")
	mustSucceed(t, r, "secrets --verify with get on one node")
	for _, tt := range []struct{ name, status, detail string }{
		{"borrower-new", "runs-on-cached-pull", "node " + newNode + " runs kubelet v1.37.0"},
		{"borrower-old", "unknown", "node " + oldNode + " could not be read (get nodes is forbidden by RBAC)"},
	} {
		if status, detail, _ := row(t, rep, tt.name, reg); status != tt.status || !strings.Contains(detail, tt.detail) {
			t.Errorf("%s with get on node %s only: %s %q, want %s and %q", tt.name, newNode, status, detail, tt.status, tt.detail)
		}
	}

	// A registry the nodes' credential provider serves is node-provided?,
	// naming the service account whose token the provider may use.
	rep, r = runSecrets(t, nil, "-n", ns, "--verify", "--node-credential-registries", reg+"/team")
	mustSucceed(t, r, "secrets --node-credential-registries")
	if status, detail, _ := row(t, rep, "borrower-new", reg); status != "node-provided?" || !strings.Contains(detail, "service account "+ns+"/default") {
		t.Errorf("borrower-new with --node-credential-registries: %s %q, want node-provided? naming service account %s/default", status, detail, ns)
	}
}
