package pipeline

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/imgtrust/kubectl-imgtrust/pkg/coverage"
	"github.com/imgtrust/kubectl-imgtrust/pkg/registry"
	"github.com/imgtrust/kubectl-imgtrust/pkg/workload"
)

// pullSecretFor is a dockerconfigjson secret with user:password for host.
func pullSecretFor(ns, name, host, user, password string) *corev1.Secret {
	cfg, _ := json.Marshal(map[string]any{"auths": map[string]any{
		host: map[string]string{"username": user, "password": password},
	}})
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Type:       corev1.SecretTypeDockerConfigJson,
		Data:       map[string][]byte{corev1.DockerConfigJsonKey: cfg},
	}
}

// deployment is a Deployment running image with the given pull secrets.
func deployment(ns, name, image string, pullSecrets ...string) workload.Workload {
	c := workload.ContainerSpec{Name: "app", Type: workload.Container, Image: image}
	return workload.Workload{
		Object: workload.Object{APIVersion: "apps/v1", Kind: "Deployment", Namespace: ns, Name: name,
			Spec: &workload.PodSpec{PullSecrets: pullSecrets, Containers: []workload.ContainerSpec{c}}},
		Containers: []workload.Usage{{ContainerSpec: c}},
	}
}

// One cluster's coverage: the registry is asked about each credential,
// a secret found only in another namespace is located, and an
// unreferenced one is unused.
func TestSecretsCoverageOfOneNamespace(t *testing.T) {
	reg := newTestRegistry(t)
	reg.locked.Store(true)
	client := fake.NewClientset(
		pullSecretFor("shop", "regcred", reg.Host, testUser, testPassword),
		pullSecretFor("shop", "badcred", reg.Host, testUser, "wrong"),
		pullSecretFor("shop", "spare", reg.Host, testUser, testPassword),
		pullSecretFor("other", "shared", reg.Host, testUser, testPassword),
	)
	found := &workload.Discovery{Workloads: []workload.Workload{
		deployment("shop", "web", reg.Host+"/shop/web:1.0", "regcred"),
		deployment("shop", "db", reg.Host+"/shop/db:1.0", "badcred"),
		deployment("shop", "api", reg.Host+"/shop/api:1.0", "shared"),
	}}
	verifier, err := registry.NewVerifier(registry.Options{Insecure: []string{reg.Host}})
	if err != nil {
		t.Fatal(err)
	}
	res := coverageOf(context.Background(), client, workload.Scope{Namespace: "shop"}, found, SecretsConfig{Verifier: verifier})

	status := map[string]coverage.Status{}
	for _, row := range res.Rows {
		status[row.Name] = row.Status
	}
	want := map[string]coverage.Status{"web": coverage.Covered, "db": coverage.CredentialRejected, "api": coverage.MissingSecret}
	for name, s := range want {
		if status[name] != s {
			t.Errorf("%s: status %q, want %q (rows %+v)", name, status[name], s, res.Rows)
		}
	}
	findings := map[string]string{}
	for _, f := range res.Findings {
		findings[f.Type] = f.Object
	}
	if findings[coverage.FindingUnused] != "secret/spare" || findings[coverage.FindingOtherNamespace] != "secret/shared" {
		t.Errorf("findings %+v", res.Findings)
	}
}

// unreachable is the scope of each context of the two-context kubeconfig,
// whose API servers refuse connections.
func unreachable(t *testing.T) Clusters {
	base := kubeconfigFlags(t)
	return Clusters{Base: base, Contexts: []string{"prod", "dev"},
		ScopeFor: func(g genericclioptions.RESTClientGetter) (workload.Scope, error) {
			ns, _, err := g.ToRawKubeConfigLoader().Namespace()
			return workload.Scope{Namespace: ns}, err
		}}
}

// A context that cannot be read is a warning naming it, in the order of
// the contexts, and the report still comes.
func TestSecretsSeveralContextsLoseOne(t *testing.T) {
	res, err := Secrets(context.Background(), SecretsConfig{Clusters: unreachable(t)})
	if err != nil {
		t.Fatal(err)
	}
	if !res.ContextFailed {
		t.Error("ContextFailed not set")
	}
	w := res.Report.Warnings
	if len(w) != 2 || !strings.HasPrefix(w[0], "context prod: cannot reach the API server at https://127.0.0.1:1") ||
		!strings.HasPrefix(w[1], "context dev: cannot reach the API server at https://127.0.0.1:2") {
		t.Errorf("warnings %q", w)
	}
	if res.Report.Kind != "SecretsReport" || res.Report.Items == nil || res.Report.Verified {
		t.Errorf("report %+v", res.Report)
	}
}

// One cluster that cannot be read is an error, not a warning.
func TestSecretsOneClusterUnreadable(t *testing.T) {
	c := unreachable(t)
	one := Clusters{Cluster: Cluster{Getter: ForContext(c.Base, "prod"), Scope: workload.Scope{Namespace: "shop"}}}
	if _, err := Secrets(context.Background(), SecretsConfig{Clusters: one}); err == nil {
		t.Error("no error")
	}
}
