package pipeline

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"k8s.io/cli-runtime/pkg/genericclioptions"

	"github.com/imgtrust/kubectl-imgtrust/pkg/audit"
	"github.com/imgtrust/kubectl-imgtrust/pkg/workload"
)

const webAndWidget = `apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  template:
    spec:
      containers:
      - {name: web, image: ghcr.io/acme/web:1.2.3}
---
apiVersion: acme.dev/v1
kind: Widget
metadata: {name: gadget}
`

// filesAudit audits manifests written to a temp dir, offline as -f is.
func filesAudit(t *testing.T, files map[string]string, listed bool) (AuditResult, []AuditEvent) {
	t.Helper()
	dir := t.TempDir()
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	var events []AuditEvent
	res, err := Audit(context.Background(), AuditConfig{
		Cluster:       Cluster{Getter: genericclioptions.NewConfigFlags(false), Scope: workload.Scope{Filenames: []string{dir}}},
		Offline:       true,
		SkippedListed: listed,
		Events:        func(e AuditEvent) { events = append(events, e) },
	})
	if err != nil {
		t.Fatal(err)
	}
	return res, events
}

func TestAuditFiles(t *testing.T) {
	res, events := filesAudit(t, map[string]string{"app.yaml": webAndWidget}, false)
	items := res.Report.Items
	if len(items) != 1 || items[0].Name != "web" || items[0].Image != "ghcr.io/acme/web:1.2.3" {
		t.Fatalf("items = %+v, want the one container of deploy/web", items)
	}
	if !slices.ContainsFunc(items[0].Findings, func(f audit.Finding) bool { return f.ID == audit.IDMutableTag }) {
		t.Errorf("findings = %+v, want %s", items[0].Findings, audit.IDMutableTag)
	}
	if res.Skipped != 1 || !res.ListingComplete || res.ContextFailed {
		t.Errorf("skipped %d, listing complete %v, context failed %v; want 1, true, false", res.Skipped, res.ListingComplete, res.ContextFailed)
	}
	want := "skipped 1 object of 1 kind without a pod template or image-paths rule (Widget): images they may hold are not audited; --image-paths adds their image fields; -v=1 lists them"
	if !slices.Equal(res.Report.Summary.Warnings, []string{want}) {
		t.Errorf("warnings = %q, want %q", res.Report.Summary.Warnings, want)
	}
	if len(events) != 1 {
		t.Fatalf("events = %+v, want the skipped Widget", events)
	}
	s, ok := events[0].(SkippedObject)
	if !ok || s.Kind != "Widget" || s.Name != "gadget" || s.Line != 10 || filepath.Base(s.Source) != "app.yaml" {
		t.Errorf("event = %+v, want Widget gadget at app.yaml:10", events[0])
	}
}

func TestAuditFilesListedAndUnreadable(t *testing.T) {
	res, _ := filesAudit(t, map[string]string{"app.yaml": webAndWidget, "bad.yaml": "kind: [\n"}, true)
	if n := len(res.Report.Summary.InputErrors); n != 1 {
		t.Fatalf("input errors = %+v, want bad.yaml's", res.Report.Summary.InputErrors)
	}
	w := res.Report.Summary.Warnings
	if len(w) != 2 || !strings.HasPrefix(w[0], "cannot read ") || !strings.Contains(w[0], "bad.yaml") {
		t.Fatalf("warnings = %q, want the unread file first", w)
	}
	if strings.Contains(w[1], "-v=1") {
		t.Errorf("warning %q points to -v=1, which lists them already", w[1])
	}
	if len(res.Report.Items) != 1 {
		t.Errorf("items = %d, want deploy/web's still", len(res.Report.Items))
	}
}

func TestAuditNeedsResolverOnline(t *testing.T) {
	if _, err := Audit(context.Background(), AuditConfig{}); err == nil {
		t.Fatal("no error for an online audit without a resolver")
	}
}

func TestAuditContextsLost(t *testing.T) {
	names := []string{"prod", "dev"}
	res, err := Audit(context.Background(), AuditConfig{
		Base: kubeconfigFlags(t), Contexts: names, Offline: true,
		ScopeFor: func(genericclioptions.RESTClientGetter) (workload.Scope, error) {
			return workload.Scope{Namespace: "shop"}, nil
		},
	})
	if err != nil {
		t.Fatalf("a lost context failed the audit: %v", err)
	}
	if !res.ContextFailed || res.ListingComplete {
		t.Errorf("context failed %v, listing complete %v; want true, false", res.ContextFailed, res.ListingComplete)
	}
	w := res.Report.Summary.Warnings
	if len(w) != 2 || !strings.HasPrefix(w[0], "context prod: ") || !strings.HasPrefix(w[1], "context dev: ") {
		t.Errorf("warnings = %q, want one per context, in order", w)
	}
	for i, c := range res.Report.Summary.Contexts {
		if c.Name != names[i] || c.Error == "" {
			t.Errorf("contexts[%d] = %+v, want %s with its error", i, c, names[i])
		}
	}
}

func TestMergeContexts(t *testing.T) {
	fix := "kubectl imgtrust pin deploy/web -n shop --apply"
	item := audit.Item{Namespace: "shop", Kind: "Deployment", Name: "web", Image: "web:1",
		Findings: []audit.Finding{{ID: audit.IDMutableTag, Severity: "medium", Fix: fix}}}
	results := []clusterAudit{
		{items: []audit.Item{item}, warnings: []string{"cannot list cronjobs"}, cost: &audit.Cost{}},
		{},
	}
	res := mergeContexts([]string{"prod", "dev"}, results, []error{nil, os.ErrDeadlineExceeded}, true)
	if !res.ContextFailed {
		t.Error("a context failed, the result does not say so")
	}
	got := res.Report.Items
	if len(got) != 1 || got[0].Context != "prod" {
		t.Fatalf("items = %+v, want prod's one", got)
	}
	if want := "kubectl imgtrust pin deploy/web -n shop --context prod --apply"; got[0].Findings[0].Fix != want {
		t.Errorf("fix = %q, want %q", got[0].Findings[0].Fix, want)
	}
	want := []string{"context prod: cannot list cronjobs", "context dev: " + ErrorLine(os.ErrDeadlineExceeded)}
	if !slices.Equal(res.Report.Summary.Warnings, want) {
		t.Errorf("warnings = %q, want %q", res.Report.Summary.Warnings, want)
	}
	if res.Report.Summary.Cost == nil {
		t.Error("the contexts' cost is lost")
	}
}

func TestSkippedSummary(t *testing.T) {
	two := []workload.Skipped{{Kind: "Widget", Name: "a"}, {Kind: "Gadget", Name: "b"}}
	for _, tc := range []struct {
		skipped []workload.Skipped
		listed  bool
		want    string
	}{
		{nil, false, ""},
		{two, true, "skipped 2 objects of 2 kinds without a pod template or image-paths rule (Gadget, Widget): images they may hold are not audited; --image-paths adds their image fields"},
		{two[:1], false, "skipped 1 object of 1 kind without a pod template or image-paths rule (Widget): images they may hold are not audited; --image-paths adds their image fields; -v=1 lists them"},
	} {
		if got := skippedSummary(tc.skipped, tc.listed); got != tc.want {
			t.Errorf("skippedSummary(%v, %v) = %q, want %q", tc.skipped, tc.listed, got, tc.want)
		}
	}
}
