//go:build e2e

package e2e

import (
	"strings"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/imgtrust/kubectl-imgtrust/pkg/audit"
	"github.com/imgtrust/kubectl-imgtrust/test/fixture"
)

// A user who may read most workload kinds in one namespace, but neither
// StatefulSets nor Secrets, nor anything cluster-wide.
func TestAuditWithOneNamespaceRBAC(t *testing.T) {
	ctx := testContext(t)
	ns := newNamespace(t, "rbac")
	img := push(t, stack.Registry+"/"+ns+"/app:1")
	w := fixture.Workloads{CS: kube, NS: ns}
	if err := w.Deployment(ctx, "web", 1, fixture.PodSpec(nil, fixture.Container("web", img.Ref, ""))); err != nil {
		t.Fatal(err)
	}
	if err := w.StatefulSet(ctx, "db", 1, fixture.PodSpec(nil, fixture.Container("db", img.Ref, ""))); err != nil {
		t.Fatal(err)
	}
	kubeconfig, err := stack.RestrictedKubeconfig(ctx, kube, ns, "viewer", []rbacv1.PolicyRule{
		fixture.ReadRules("", "pods", "replicationcontrollers", "serviceaccounts"),
		fixture.ReadRules("apps", "deployments", "replicasets", "daemonsets"),
		fixture.ReadRules("batch", "jobs", "cronjobs"),
	}, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fixture.WaitForPods(ctx, kube, ns, "app=web", 1); err != nil {
		t.Fatal(err)
	}

	rep, r := auditJSON(t, "--kubeconfig", kubeconfig)
	mustSucceed(t, r, "audit as a one-namespace user")
	web := item(t, rep, "Deployment", "web", "web")
	wantFindings(t, web, audit.IDMutableTag, audit.IDPullPolicyStaleRisk, audit.IDUnresolvable)
	for _, it := range rep.Items {
		if it.Kind == "StatefulSet" || (it.Kind == "Pod" && it.Name != "db-0") {
			t.Errorf("%s/%s should not be reported: statefulsets are forbidden and web's pod rolls up", it.Kind, it.Name)
		}
	}
	// The StatefulSet cannot be read, so its pod is what can be audited.
	wantFindings(t, item(t, rep, "Pod", "db-0", "db"), audit.IDMutableTag, audit.IDPullPolicyStaleRisk, audit.IDUnresolvable)
	warned := strings.Join(rep.Summary.Warnings, "\n")
	for _, want := range []string{"statefulsets.apps", "forbidden by RBAC", "pull secrets"} {
		if !strings.Contains(warned, want) {
			t.Errorf("warnings should mention %q:\n%s", want, warned)
		}
	}
	if !strings.Contains(r.Stderr, "statefulsets.apps") {
		t.Errorf("the warning should reach stderr too:\n%s", r.Stderr)
	}

	r = kubectl(t, "imgtrust", "audit", "-A", "--kubeconfig", kubeconfig, "--offline")
	if r.Code != 2 || !strings.Contains(r.Stderr, "nothing could be read") || !strings.Contains(r.Stderr, "forbidden") {
		t.Errorf("-A without cluster-wide rights: want exit 2 saying nothing could be read, got %s", r)
	}
}
