package openreports

import (
	"testing"
	"time"

	"github.com/imgtrust/kubectl-imgtrust/pkg/audit"
	"github.com/imgtrust/kubectl-imgtrust/pkg/vulns"
	"github.com/imgtrust/kubectl-imgtrust/pkg/workload"
)

// Vulnerability findings are results of category vulnerabilities; a
// report that could not be read is an error (a check not made), not a fail.
func TestVulnerabilityFindingsAreCategorised(t *testing.T) {
	items := audit.Evaluate([]workload.Workload{deployment("shop", "web", pinned), deployment("shop", "api", pinned)}, audit.Options{})
	audit.ApplyVulnerabilities(&items[0], vulns.Result{Source: "VulnerabilityReport shop/r", Match: vulns.MatchRunning, Counts: &vulns.Counts{Critical: 2}}, audit.VulnerabilityOptions{})
	audit.ApplyVulnerabilities(&items[1], vulns.Result{Error: "cannot list vulnerabilityreports.aquasecurity.github.io in namespace \"shop\": forbidden by RBAC"}, audit.VulnerabilityOptions{})
	reports := FromAudit(audit.NewReport("imgtrust.dev/v1alpha1", items, true, nil), time.Unix(1700000000, 0))
	if len(reports) != 1 {
		t.Fatalf("%d reports", len(reports))
	}
	got := map[string]string{}
	for _, r := range reports[0].Results {
		if r.Category == "vulnerabilities" {
			got[r.Policy] = string(r.Result) + "/" + string(r.Severity)
		}
	}
	want := map[string]string{audit.IDVulnerable: "fail/high", audit.IDVulnerabilityLookupFailed: "error/medium"}
	for id, w := range want {
		if got[id] != w {
			t.Errorf("%s: %q, want %q (all: %v)", id, got[id], w, got)
		}
	}
}
