package pipeline

import (
	"context"
	"slices"
	"testing"

	v1alpha1 "github.com/openreports/reports-api/apis/openreports.io/v1alpha1"
	"github.com/openreports/reports-api/pkg/client/clientset/versioned/fake"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	k8stesting "k8s.io/client-go/testing"

	"github.com/imgtrust/kubectl-imgtrust/pkg/audit"
	"github.com/imgtrust/kubectl-imgtrust/pkg/openreports"
	"github.com/imgtrust/kubectl-imgtrust/pkg/workload"
)

// staleReport is our Report in a namespace the audit found nothing in.
func staleReport(ns string) *v1alpha1.Report {
	return &v1alpha1.Report{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: openreports.ReportName,
		Labels: map[string]string{openreports.ManagedByLabel: openreports.Source}}}
}

func TestWriteReportsPrunesInScope(t *testing.T) {
	rep := audit.NewReport("imgtrust.dev/v1alpha1", []audit.Item{{Namespace: "shop", Kind: "Deployment", Name: "web", Image: "web:1"}}, true, nil)
	for _, tc := range []struct {
		name   string
		scope  workload.Scope
		prune  bool
		pruned []string
	}{
		{"one namespace", workload.Scope{Namespace: "shop"}, true, nil},
		{"all namespaces", workload.Scope{AllNamespaces: true}, true, []string{"old"}},
		{"incomplete listing", workload.Scope{AllNamespaces: true}, false, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			client := fake.NewClientset(staleReport("old"))
			// The fake tracker cannot server-side apply; what is written is
			// not the point here, where pruning looks is.
			client.PrependReactor("patch", "reports", func(k8stesting.Action) (bool, runtime.Object, error) {
				return true, &v1alpha1.Report{}, nil
			})
			w := &openreports.Writer{Client: client.OpenreportsV1alpha1()}
			out := WriteReports(context.Background(), w, rep, tc.scope, tc.prune)
			if len(out.Errors) > 0 {
				t.Fatalf("errors: %v", out.Errors)
			}
			if len(out.Written) != 1 || out.Written[0].Namespace != "shop" {
				t.Errorf("written = %+v, want shop's Report", out.Written)
			}
			if !slices.Equal(out.Pruned, tc.pruned) {
				t.Errorf("pruned = %q, want %q", out.Pruned, tc.pruned)
			}
		})
	}
}
