//go:build e2e

package e2e

import (
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	v1alpha1 "github.com/openreports/reports-api/apis/openreports.io/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/imgtrust/kubectl-imgtrust/test/fixture"
)

const reportsCRD = "reports.openreports.io"

// reportsServed says whether discovery lists openreports.io/v1alpha1 reports.
func reportsServed() bool {
	list, err := kube.Discovery().ServerResourcesForGroupVersion("openreports.io/v1alpha1")
	if err != nil {
		return false
	}
	for _, r := range list.APIResources {
		if r.Name == "reports" {
			return true
		}
	}
	return false
}

// waitServed polls discovery until reports are (or are no longer) served.
func waitServed(t *testing.T, want bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for reportsServed() != want {
		if time.Now().After(deadline) {
			t.Fatalf("openreports.io reports served = %v after 60s, want %v", !want, want)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// installReportsCRD applies the CRD of the reports-api module this build
// uses, from the module cache.
func installReportsCRD(t *testing.T) {
	t.Helper()
	list := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/openreports/reports-api")
	list.Dir = repoRoot
	dir, err := list.Output()
	if err != nil {
		t.Fatalf("go list -m github.com/openreports/reports-api: %v", err)
	}
	crd := filepath.Join(strings.TrimSpace(string(dir)), "config", "crd", "openreports.io_reports.yaml")
	mustSucceed(t, kubectl(t, "apply", "--server-side", "-f", crd), "installing the OpenReports CRD")
	mustSucceed(t, kubectl(t, "wait", "--for=condition=Established", "--timeout=60s", "crd/"+reportsCRD), "waiting for the CRD")
	waitServed(t, true)
}

func getReport(t *testing.T, ns string) (v1alpha1.Report, bool) {
	t.Helper()
	r := kubectl(t, "get", "reports", "-n", ns, "kubectl-imgtrust", "-o", "json", "--show-managed-fields", "--ignore-not-found")
	mustSucceed(t, r, "kubectl get reports")
	if strings.TrimSpace(r.Stdout) == "" {
		return v1alpha1.Report{}, false
	}
	var rep v1alpha1.Report
	if err := json.Unmarshal([]byte(r.Stdout), &rep); err != nil {
		t.Fatal(err)
	}
	return rep, true
}

// results maps "workload/policy" to the result.
func results(rep v1alpha1.Report) map[string]v1alpha1.ReportResult {
	m := map[string]v1alpha1.ReportResult{}
	for _, res := range rep.Results {
		m[res.Subjects[0].Name+"/"+res.Policy] = res
	}
	return m
}

// TestWriteReports: without the CRD one clear error and nothing done; with
// it, audit --write-reports creates a Report per namespace, updates it
// server-side when a finding goes away, and prunes it when the namespace
// has no workloads left; the shipped roles allow exactly that.
func TestWriteReports(t *testing.T) {
	ctx := testContext(t)
	ns := newNamespace(t, "reports")
	w := fixture.Workloads{CS: kube, NS: ns}
	img := push(t, stack.Registry+"/"+ns+"/api:1")
	pinned := img.Repo() + "@" + img.Digest
	if err := w.Deployment(ctx, "web", 0, fixture.PodSpec(nil, fixture.Container("web", "nginx:latest", corev1.PullAlways))); err != nil {
		t.Fatal(err)
	}
	if err := w.Deployment(ctx, "api", 0, fixture.PodSpec(nil, fixture.Container("api", pinned, ""))); err != nil {
		t.Fatal(err)
	}

	if reportsServed() {
		mustSucceed(t, kubectl(t, "delete", "crd", reportsCRD, "--wait"), "removing the CRD")
		waitServed(t, false)
	}
	t.Run("missing CRD", func(t *testing.T) {
		r := kubectl(t, "imgtrust", "audit", "-n", ns, "--offline", "--write-reports")
		if r.Code != 2 || !strings.Contains(r.Stderr, "OpenReports CRD") || !strings.Contains(r.Stderr, "kubectl apply --server-side -f https://github.com/openreports/reports-api/releases/download/") {
			t.Errorf("want exit 2 and the install command, got %s", r)
		}
		if lines := strings.Count(strings.TrimSpace(r.Stderr), "\n"); lines != 0 || r.Stdout != "" {
			t.Errorf("want one line on stderr and nothing audited, got %s", r)
		}
	})

	installReportsCRD(t)
	r := kubectl(t, "imgtrust", "audit", "-n", ns, "--offline", "--write-reports")
	mustSucceed(t, r, "audit --write-reports")
	if !strings.Contains(r.Stderr, "openreports: wrote Report kubectl-imgtrust in 1 namespace(s)") {
		t.Errorf("no write summary on stderr:\n%s", r)
	}
	if !strings.Contains(r.Stdout, "deployment/web") {
		t.Errorf("the table is printed as usual:\n%s", r)
	}
	get := kubectl(t, "get", "reports", "-A")
	if !strings.Contains(get.Stdout, ns) || !strings.Contains(get.Stdout, "kubectl-imgtrust") {
		t.Errorf("kubectl get reports -A does not show %s/kubectl-imgtrust:\n%s", ns, get)
	}
	rep, ok := getReport(t, ns)
	if !ok {
		t.Fatal("no Report written")
	}
	got := results(rep)
	latest, ok := got["web/latest-tag"]
	if !ok || latest.Result != "fail" || latest.Severity != "high" || latest.Properties["image"] != "nginx:latest" || latest.Subjects[0].Kind != "Deployment" || latest.Subjects[0].UID == "" {
		t.Errorf("web/latest-tag: %+v (all: %v)", latest, got)
	}
	pass, ok := got["api/imgtrust-audit"]
	if !ok || pass.Result != "pass" || pass.Properties["digest"] != img.Digest {
		t.Errorf("api: want one pass result with its digest, got %+v", pass)
	}
	if rep.Source != "kubectl-imgtrust" || rep.Summary.Pass != 1 || rep.Summary.Fail == 0 {
		t.Errorf("source %q summary %+v", rep.Source, rep.Summary)
	}
	managed := false
	for _, f := range rep.ManagedFields {
		managed = managed || f.Manager == "kubectl-imgtrust" && f.Operation == metav1.ManagedFieldsOperationApply
	}
	if !managed {
		t.Errorf("not server-side applied by field manager kubectl-imgtrust: %+v", rep.ManagedFields)
	}

	t.Run("a finding that no longer holds is removed", func(t *testing.T) {
		d, err := kube.AppsV1().Deployments(ns).Get(ctx, "web", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		d.Spec.Template.Spec.Containers[0].Image = pinned
		if _, err := kube.AppsV1().Deployments(ns).Update(ctx, d, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		mustSucceed(t, kubectl(t, "imgtrust", "audit", "-n", ns, "--offline", "--write-reports"), "second audit --write-reports")
		rep, _ := getReport(t, ns)
		got := results(rep)
		if _, still := got["web/latest-tag"]; still || got["web/imgtrust-audit"].Result != "pass" || len(got) != 2 || rep.Summary.Fail != 0 || rep.Summary.Pass != 2 {
			t.Errorf("want two pass results and no fail, got %v (summary %+v)", got, rep.Summary)
		}
	})

	t.Run("-o openreports prints what the server accepts", func(t *testing.T) {
		r := kubectl(t, "imgtrust", "audit", "-n", ns, "--offline", "-o", "openreports")
		mustSucceed(t, r, "audit -o openreports")
		if !strings.Contains(r.Stdout, "kind: List") || !strings.Contains(r.Stdout, "kind: Report") {
			t.Fatalf("not a List of Reports:\n%s", r.Stdout)
		}
		cmd := exec.Command("kubectl", "apply", "--dry-run=server", "--server-side", "--field-manager=kubectl-imgtrust", "-f", "-")
		cmd.Stdin = strings.NewReader(r.Stdout)
		if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "serverside-applied (server dry run)") {
			t.Errorf("the API server refuses -o openreports output: %v\n%s", err, out)
		}
	})

	t.Run("shipped roles", func(t *testing.T) {
		readonly := asServiceAccount(t, ns, "auditor-ro", shippedRole(t, "imgtrust-readonly.yaml", nil), "")
		r := kubectl(t, "imgtrust", "audit", "-n", ns, "--offline", "--write-reports", "--kubeconfig", readonly)
		if r.Code != 2 || !strings.Contains(r.Stderr, "cannot write Report "+ns+"/kubectl-imgtrust") || !strings.Contains(r.Stderr, "forbidden") || !strings.Contains(r.Stdout, "deployment/web") {
			t.Errorf("imgtrust-readonly alone: want the audit printed, a forbidden write and exit 2, got %s", r)
		}
		writer := asServiceAccount(t, ns, "auditor", shippedRole(t, "imgtrust-readonly.yaml", nil), "")
		cleanup, err := fixture.BindClusterRole(ctx, kube, shippedRole(t, "imgtrust-reports.yaml", nil), ns, "auditor", "")
		t.Cleanup(cleanup)
		if err != nil {
			t.Fatal(err)
		}
		r = kubectl(t, "imgtrust", "audit", "-n", ns, "--offline", "--write-reports", "--kubeconfig", writer)
		noForbidden(t, r, "audit --write-reports as imgtrust-readonly + imgtrust-reports")
	})

	t.Run("a namespace without workloads loses its Report", func(t *testing.T) {
		for _, name := range []string{"web", "api"} {
			if err := kube.AppsV1().Deployments(ns).Delete(ctx, name, metav1.DeleteOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		r := kubectl(t, "imgtrust", "audit", "-n", ns, "--offline", "--write-reports")
		mustSucceed(t, r, "audit --write-reports of an empty namespace")
		if !strings.Contains(r.Stderr, "removed 1 stale ("+ns+")") {
			t.Errorf("no prune said:\n%s", r)
		}
		if _, ok := getReport(t, ns); ok {
			t.Errorf("the Report of %s is still there", ns)
		}
	})
}
