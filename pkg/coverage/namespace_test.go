package coverage

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/imgtrust/kubectl-imgtrust/pkg/pullsecret"
	"github.com/imgtrust/kubectl-imgtrust/pkg/workload"
)

func TestNamespaceFindings(t *testing.T) {
	used := pullSecret("ns", "used", priv, "alice", privPassword)
	bySA := pullSecret("ns", "by-sa", priv, "alice", privPassword)
	unused := pullSecret("ns", "old", priv, "alice", privPassword)
	web := deploy("ns", "web", "", []string{"used"}, 0, priv+"/a:1")
	shared := deploy("ns", "api", "", []string{"shared"}, 0, priv+"/b:1")
	tests := []struct {
		name      string
		workloads []workload.Workload
		objs      []runtime.Object
		whole     bool
		forbid    bool
		elsewhere map[string][]pullsecret.Location
		want      []string // "type object: detail-fragment | fix-fragment"
		warning   string
	}{
		{"unused secret", []workload.Workload{web}, []runtime.Object{used, bySA, unused, serviceAccount("ns", "default", "by-sa")}, true, false, nil,
			[]string{"unused-secret secret/old: no pod template or service account in ns references | kubectl delete secret old -n ns"}, ""},
		{"no unused secrets when the scope is narrowed", []workload.Workload{web}, []runtime.Object{used, unused}, false, false, nil,
			nil, ""},
		{"secret in another namespace", []workload.Workload{shared}, []runtime.Object{serviceAccount("ns", "default", "shared")}, true, false,
			map[string][]pullsecret.Location{"shared": {{Namespace: "ns", Type: corev1.SecretTypeDockerConfigJson}, {Namespace: "infra", Type: corev1.SecretTypeDockerConfigJson}}},
			[]string{`secret-in-other-namespace secret/shared: deployment/api, serviceaccount/default reference it, but it exists only in namespace infra | kubectl get secret shared -n infra -o jsonpath='{.data.\.dockerconfigjson}' | base64 -d | kubectl create secret generic shared -n ns --type=kubernetes.io/dockerconfigjson --from-file=.dockerconfigjson=/dev/stdin`}, ""},
		{"legacy dockercfg in another namespace", []workload.Workload{shared}, nil, true, false,
			map[string][]pullsecret.Location{"shared": {{Namespace: "infra", Type: corev1.SecretTypeDockercfg}}},
			[]string{`secret-in-other-namespace secret/shared: deployment/api references it | --type=kubernetes.io/dockercfg --from-file=.dockercfg=/dev/stdin`}, ""},
		{"service account with a missing secret", nil, []runtime.Object{serviceAccount("ns", "builder", "gone")}, true, false, nil,
			[]string{"service-account-missing-secret serviceaccount/builder: names pull secret gone, which does not exist in ns | kubectl create secret docker-registry gone -n ns"}, ""},
		{"secrets forbidden", []workload.Workload{web}, []runtime.Object{used, unused}, true, true, nil,
			nil, "cannot read secrets in namespace ns (forbidden by RBAC)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := storeOf(t, []string{"ns"}, tt.workloads, tt.forbid, tt.objs...)
			in := Input{Workloads: tt.workloads, Store: store, Namespaces: []string{"ns"}, WholeNamespaces: tt.whole, Elsewhere: tt.elsewhere}
			res := Evaluate(in)
			if len(res.Findings) != len(tt.want) {
				t.Fatalf("got %d findings, want %d: %+v", len(res.Findings), len(tt.want), res.Findings)
			}
			for i, f := range res.Findings {
				head, rest, _ := strings.Cut(tt.want[i], ": ")
				detail, fix, _ := strings.Cut(rest, " | ")
				if got := f.Type + " " + f.Object; got != head {
					t.Errorf("finding %d = %s, want %s", i, got, head)
				}
				if !strings.Contains(f.Detail, detail) || !strings.Contains(f.Fix, fix) {
					t.Errorf("finding %d detail %q fix %q, want them to contain %q and %q", i, f.Detail, f.Fix, detail, fix)
				}
			}
			if got := strings.Join(res.Warnings, "\n"); !strings.Contains(got, tt.warning) || (tt.warning == "") != (got == "") {
				t.Errorf("warnings = %q, want %q", got, tt.warning)
			}
		})
	}
}

func TestMissingNames(t *testing.T) {
	ws := []workload.Workload{deploy("ns", "web", "", []string{"here", "gone"}, 0, priv+"/a:1")}
	store := storeOf(t, []string{"ns"}, ws, false, pullSecret("ns", "here", priv, "a", privPassword), serviceAccount("ns", "default", "also-gone"))
	got := MissingNames(Input{Workloads: ws, Store: store, Namespaces: []string{"ns"}})
	if strings.Join(got, ",") != "also-gone,gone" {
		t.Errorf("MissingNames = %v, want [also-gone gone]", got)
	}
}
