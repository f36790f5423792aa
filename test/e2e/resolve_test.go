//go:build e2e

package e2e

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/imgtrust/kubectl-imgtrust/pkg/cmd"
	"github.com/imgtrust/kubectl-imgtrust/pkg/registry"
	"github.com/imgtrust/kubectl-imgtrust/test/fixture"
)

func resolveJSON(t *testing.T, env []string, args ...string) (cmd.ResolveReport, result) {
	t.Helper()
	r := kubectlEnv(t, env, append(append([]string{"imgtrust", "resolve"}, args...), "-o", "json")...)
	var rep cmd.ResolveReport
	if r.Code == 0 || r.Code == 1 {
		if err := json.Unmarshal([]byte(r.Stdout), &rep); err != nil {
			t.Fatalf("resolve -o json is not a ResolveReport: %v\n%s", err, r)
		}
	}
	return rep, r
}

func resolved(t *testing.T, rep cmd.ResolveReport, image string) registry.Result {
	t.Helper()
	for _, it := range rep.Items {
		if it.Image == image {
			return it
		}
	}
	t.Fatalf("no result for %s in %+v", image, rep.Items)
	return registry.Result{}
}

// dockerConfig writes a docker config.json holding one registry's login and
// returns DOCKER_CONFIG=dir for the plugin's environment.
func dockerConfig(t *testing.T, registryHost, user, password string) string {
	t.Helper()
	dir := t.TempDir()
	auth := base64.StdEncoding.EncodeToString([]byte(user + ":" + password))
	b, _ := json.Marshal(map[string]any{"auths": map[string]any{registryHost: map[string]string{"auth": auth}}})
	if err := os.WriteFile(filepath.Join(dir, "config.json"), b, 0o600); err != nil {
		t.Fatal(err)
	}
	return "DOCKER_CONFIG=" + dir
}

func TestResolveCredentialsInKubeletOrder(t *testing.T) {
	ctx := testContext(t)
	ns := newNamespace(t, "resolve")
	priv := stack.Registry + "/" + ns
	viaPod, viaSA, wrong, local := push(t, priv+"/via-pod:1"), push(t, priv+"/via-sa:1"), push(t, priv+"/wrong:1"), push(t, priv+"/local:1")
	for _, s := range []*corev1.Secret{
		fixture.PullSecret(ns, "regcred", stack.Registry, stack.RegistryUser, stack.RegistryPassword),
		fixture.PullSecret(ns, "stale", stack.Registry, stack.RegistryUser, "not-the-password"),
	} {
		if _, err := kube.CoreV1().Secrets(ns).Create(ctx, s, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := kube.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{
		ObjectMeta:       metav1.ObjectMeta{Name: "builder"},
		ImagePullSecrets: []corev1.LocalObjectReference{{Name: "regcred"}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	w := fixture.Workloads{CS: kube, NS: ns}
	saSpec := fixture.PodSpec(nil, fixture.Container("app", viaSA.Ref, ""))
	saSpec.ServiceAccountName = "builder"
	for name, spec := range map[string]corev1.PodSpec{
		"via-pod": fixture.PodSpec([]string{"regcred"}, fixture.Container("app", viaPod.Ref, "")),
		"via-sa":  saSpec,
		"wrong":   fixture.PodSpec([]string{"stale"}, fixture.Container("app", wrong.Ref, "")),
	} {
		if err := w.Deployment(ctx, name, 0, spec); err != nil {
			t.Fatal(err)
		}
	}

	rep, r := resolveJSON(t, nil, "-n", ns)
	if r.Code != 1 {
		t.Fatalf("one image cannot be pulled: want exit 1, got %s", r)
	}
	if rep.Kind != "ResolveReport" || rep.APIVersion != "imgtrust.dev/v1alpha1" {
		t.Errorf("report header: %s %s", rep.APIVersion, rep.Kind)
	}
	if got := resolved(t, rep, viaPod.Ref); got.Digest != viaPod.Digest || got.CredentialSource != "pod-secret "+ns+"/regcred" {
		t.Errorf("via-pod: %s via %q, want %s via the pod's secret", got.Digest, got.CredentialSource, viaPod.Digest)
	}
	if got := resolved(t, rep, viaSA.Ref); got.Digest != viaSA.Digest || got.CredentialSource != "service-account-secret "+ns+"/regcred" {
		t.Errorf("via-sa: %s via %q, want %s via the service account's secret", got.Digest, got.CredentialSource, viaSA.Digest)
	}
	if got := resolved(t, rep, wrong.Ref); got.Err == nil || got.Err.Reason != registry.ReasonUnauthorized || got.Digest != "" {
		t.Errorf("wrong password: want unauthorized, got %+v", got)
	}
	if strings.Contains(r.Stdout+r.Stderr, stack.RegistryPassword) || strings.Contains(r.Stdout+r.Stderr, "not-the-password") {
		t.Fatalf("a password leaked into the output:\n%s", r)
	}

	// An IMAGE argument: the local docker config, then anonymous.
	withLogin := dockerConfig(t, stack.Registry, stack.RegistryUser, stack.RegistryPassword)
	rep, r = resolveJSON(t, []string{withLogin}, local.Ref)
	mustSucceed(t, r, "resolve with the local docker config")
	if got := resolved(t, rep, local.Ref); got.Digest != local.Digest || got.CredentialSource != "local-docker-config" {
		t.Errorf("local: %s via %q, want %s via local-docker-config", got.Digest, got.CredentialSource, local.Digest)
	}
	r = kubectl(t, "imgtrust", "resolve", local.Ref)
	if r.Code != 1 || !strings.Contains(r.Stdout, "unauthorized") {
		t.Errorf("without any login: want exit 1 and unauthorized, got %s", r)
	}
	if r := kubectl(t, "imgtrust", "resolve", local.Ref, "--ignore-errors"); r.Code != 0 {
		t.Errorf("--ignore-errors: want exit 0, got %s", r)
	}
	if r := kubectl(t, "imgtrust", "resolve", local.Ref, "--platform", "linux"); r.Code != 2 || !strings.Contains(r.Stderr, "--platform") {
		t.Errorf("a bad --platform: want exit 2 naming the flag, got %s", r)
	}
}

func TestResolveMultiArch(t *testing.T) {
	ns := "multi-" + randomSuffix()
	idx, err := stack.PushIndex(testContext(t), stack.PublicRegistry+"/"+ns+"/app:1", "linux/amd64", "linux/arm64")
	if err != nil {
		t.Fatal(err)
	}
	rep, r := resolveJSON(t, nil, idx.Ref)
	mustSucceed(t, r, "resolve a multi-arch tag")
	if got := resolved(t, rep, idx.Ref); got.Digest != idx.Digest || got.CredentialSource != "anonymous" || !strings.Contains(got.MediaType, "index") {
		t.Errorf("index: got %s (%s) via %q, want the index digest %s anonymously", got.Digest, got.MediaType, got.CredentialSource, idx.Digest)
	}
	rep, r = resolveJSON(t, nil, idx.Ref, "--platform", "linux/arm64")
	mustSucceed(t, r, "resolve --platform")
	if got := resolved(t, rep, idx.Ref); got.PlatformDigest != idx.Platforms["linux/arm64"] || got.Platform != "linux/arm64" {
		t.Errorf("--platform linux/arm64: got %s %s, want %s", got.Platform, got.PlatformDigest, idx.Platforms["linux/arm64"])
	}
	r = kubectl(t, "imgtrust", "resolve", idx.Ref, "--platform", "linux/arm64", "--quiet")
	mustSucceed(t, r, "resolve --quiet")
	if got, want := strings.TrimSpace(r.Stdout), idx.Ref+"@"+idx.Platforms["linux/arm64"]; got != want {
		t.Errorf("--quiet: got %q, want %q", got, want)
	}
}

// manifestRequests counts the registry's access-log lines for manifests of
// one repository.
func manifestRequests(t *testing.T, accessLog, repo string) int {
	t.Helper()
	b, err := os.ReadFile(accessLog)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, line := range strings.Split(string(b), "\n") {
		if strings.Contains(line, " /v2/"+repo+"/manifests/") {
			n++
		}
	}
	return n
}

func TestOneManifestRequestPerUniqueReference(t *testing.T) {
	ctx := testContext(t)
	ns := newNamespace(t, "dedupe")
	shared := push(t, stack.Registry+"/"+ns+"/shared:1")
	public := push(t, stack.PublicRegistry+"/"+ns+"/public:1")
	if _, err := kube.CoreV1().Secrets(ns).Create(ctx,
		fixture.PullSecret(ns, "regcred", stack.Registry, stack.RegistryUser, stack.RegistryPassword), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	w := fixture.Workloads{CS: kube, NS: ns}
	for i := range 6 {
		spec := fixture.PodSpec([]string{"regcred"}, fixture.Container("app", shared.Ref, ""), fixture.Container("sidecar", public.Ref, ""))
		if err := w.Deployment(ctx, "app-"+string(rune('a'+i)), 0, spec); err != nil {
			t.Fatal(err)
		}
	}
	before := manifestRequests(t, stack.RegistryAccessLog, ns+"/shared")
	beforePublic := manifestRequests(t, stack.PublicAccessLog, ns+"/public")
	_, r := resolveJSON(t, nil, "-n", ns)
	mustSucceed(t, r, "resolve")
	rep, r := auditJSON(t, "-n", ns)
	mustSucceed(t, r, "audit")
	if len(rep.Items) != 12 {
		t.Fatalf("want 12 usages audited, got %d", len(rep.Items))
	}
	time.Sleep(200 * time.Millisecond) // the registry writes its log after answering
	if got := manifestRequests(t, stack.RegistryAccessLog, ns+"/shared") - before; got != 2 {
		t.Errorf("private: want exactly one manifest request per run (2 runs), the access log shows %d", got)
	}
	if got := manifestRequests(t, stack.PublicAccessLog, ns+"/public") - beforePublic; got != 2 {
		t.Errorf("public: want exactly one manifest request per run (2 runs), the access log shows %d", got)
	}
}
