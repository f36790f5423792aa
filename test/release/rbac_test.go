package release

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	"sigs.k8s.io/yaml"
)

// grant is one (apiGroup, resource, verb) a ClusterRole allows.
type grant struct{ group, resource, verb string }

func loadClusterRole(t *testing.T, file string) rbacv1.ClusterRole {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(repoRoot, "deploy", "rbac", file))
	if err != nil {
		t.Fatal(err)
	}
	var role rbacv1.ClusterRole
	if err := yaml.UnmarshalStrict(raw, &role); err != nil {
		t.Fatalf("%s is not an rbac/v1 ClusterRole: %v", file, err)
	}
	if role.APIVersion != "rbac.authorization.k8s.io/v1" || role.Kind != "ClusterRole" {
		t.Fatalf("%s: apiVersion %q kind %q, want rbac.authorization.k8s.io/v1 ClusterRole", file, role.APIVersion, role.Kind)
	}
	if role.AggregationRule != nil {
		t.Errorf("%s: aggregationRule would let other roles widen it", file)
	}
	return role
}

// grants expands the rules and rejects anything broader than a list of named
// resources: wildcards, resourceNames-free non-resource URLs and empty lists.
func grants(t *testing.T, file string, role rbacv1.ClusterRole) map[grant]bool {
	t.Helper()
	out := map[grant]bool{}
	for i, r := range role.Rules {
		for _, field := range [][]string{r.APIGroups, r.Resources, r.Verbs, r.ResourceNames, r.NonResourceURLs} {
			if slices.Contains(field, rbacv1.ResourceAll) || slices.Contains(field, rbacv1.VerbAll) {
				t.Errorf("%s: rules[%d] uses a wildcard: %+v", file, i, r)
			}
		}
		if len(r.NonResourceURLs) > 0 {
			t.Errorf("%s: rules[%d] grants non-resource URLs %v", file, i, r.NonResourceURLs)
		}
		if len(r.APIGroups) == 0 || len(r.Resources) == 0 || len(r.Verbs) == 0 {
			t.Errorf("%s: rules[%d] grants nothing: %+v", file, i, r)
		}
		for _, g := range r.APIGroups {
			for _, res := range r.Resources {
				for _, v := range r.Verbs {
					out[grant{g, res, v}] = true
				}
			}
		}
	}
	return out
}

var (
	readResources = map[string][]string{
		"":      {"pods", "replicationcontrollers", "serviceaccounts", "secrets", "namespaces"},
		"apps":  {"deployments", "statefulsets", "daemonsets", "replicasets"},
		"batch": {"jobs", "cronjobs"},
		// The custom resources of the built-in image-paths catalogue.
		"tekton.dev":                   {"tasks", "clustertasks", "taskruns", "pipelines", "pipelineruns", "stepactions"},
		"monitoring.coreos.com":        {"prometheuses", "prometheusagents", "alertmanagers", "thanosrulers"},
		"caching.internal.knative.dev": {"images"},
		"keda.sh":                      {"scaledjobs"},
		"argoproj.io":                  {"workflows", "workflowtemplates", "clusterworkflowtemplates", "cronworkflows", "rollouts"},
		"serving.knative.dev":          {"services"},
		// audit --vulnerabilities and --trust-policy=cluster.
		"aquasecurity.github.io": {"vulnerabilityreports", "clustervulnerabilityreports", "sbomreports"},
		"policy.sigstore.dev":    {"clusterimagepolicies"},
	}
	// What pin patches: every workload kind whose pod template names images,
	// and bare pods.
	patchResources = map[string][]string{
		"":      {"pods", "replicationcontrollers"},
		"apps":  {"deployments", "statefulsets", "daemonsets", "replicasets"},
		"batch": {"jobs", "cronjobs"},
		// Custom resources, but not runs (immutable once created).
		"tekton.dev":                   {"tasks", "clustertasks", "pipelines", "stepactions"},
		"monitoring.coreos.com":        {"prometheuses", "prometheusagents", "alertmanagers", "thanosrulers"},
		"caching.internal.knative.dev": {"images"},
		"keda.sh":                      {"scaledjobs"},
		"argoproj.io":                  {"workflowtemplates", "clusterworkflowtemplates", "cronworkflows", "rollouts"},
		"serving.knative.dev":          {"services"},
	}
)

func expand(resources map[string][]string, verbs ...string) map[grant]bool {
	out := map[grant]bool{}
	for g, rs := range resources {
		for _, r := range rs {
			for _, v := range verbs {
				out[grant{g, r, v}] = true
			}
		}
	}
	return out
}

// checkExactly fails unless got grants exactly want: the roles should be
// minimal, so an extra grant is as wrong as a missing one.
func checkExactly(t *testing.T, file string, got, want map[grant]bool) {
	t.Helper()
	for g := range want {
		if !got[g] {
			t.Errorf("%s: missing %s on %s (group %q)", file, g.verb, g.resource, g.group)
		}
	}
	for g := range got {
		if !want[g] {
			t.Errorf("%s: grants %s on %s (group %q), which kubectl imgtrust does not need", file, g.verb, g.resource, g.group)
		}
	}
}

func TestReadonlyClusterRole(t *testing.T) {
	const file = "imgtrust-readonly.yaml"
	role := loadClusterRole(t, file)
	if role.Name != "imgtrust-readonly" {
		t.Errorf("%s: name %q, want imgtrust-readonly", file, role.Name)
	}
	want := expand(readResources, "get", "list")
	// audit --provenance reads the platform of the nodes pods run on.
	want[grant{"", "nodes", "get"}] = true
	checkExactly(t, file, grants(t, file, role), want)
	// Audit-only users drop the secrets rule, which works only if it stands
	// alone.
	for i, r := range role.Rules {
		if slices.Contains(r.Resources, "secrets") && len(r.Resources) != 1 {
			t.Errorf("%s: rules[%d] mixes secrets with %v; keep secrets in a rule of its own", file, i, r.Resources)
		}
	}
}

func TestPinClusterRole(t *testing.T) {
	const file = "imgtrust-pin.yaml"
	role := loadClusterRole(t, file)
	if role.Name != "imgtrust-pin" {
		t.Errorf("%s: name %q, want imgtrust-pin", file, role.Name)
	}
	want := expand(readResources, "get", "list")
	want[grant{"", "nodes", "get"}] = true
	for g := range expand(patchResources, "patch") {
		want[g] = true
	}
	checkExactly(t, file, grants(t, file, role), want)

	readonly := grants(t, "imgtrust-readonly.yaml", loadClusterRole(t, "imgtrust-readonly.yaml"))
	pin := grants(t, file, role)
	for g := range readonly {
		if !pin[g] {
			t.Errorf("%s lacks %s on %s, which imgtrust-readonly grants", file, g.verb, g.resource)
		}
	}
}

// imgtrust-reports adds exactly what --write-reports does: apply
// (create, patch) and prune (list, delete) our Reports.
func TestReportsClusterRole(t *testing.T) {
	const file = "imgtrust-reports.yaml"
	role := loadClusterRole(t, file)
	if role.Name != "imgtrust-reports" {
		t.Errorf("%s: name %q, want imgtrust-reports", file, role.Name)
	}
	want := map[grant]bool{}
	for _, verb := range []string{"create", "patch", "list", "delete"} {
		want[grant{"openreports.io", "reports", verb}] = true
	}
	checkExactly(t, file, grants(t, file, role), want)
}
