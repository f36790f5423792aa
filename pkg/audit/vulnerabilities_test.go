package audit

import (
	"strings"
	"testing"
	"time"

	"github.com/imgtrust/kubectl-imgtrust/pkg/vulns"
)

func TestApplyVulnerabilities(t *testing.T) {
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	run := "sha256:1111111111111111111111111111111111111111111111111111111111111111"
	other := "sha256:2222222222222222222222222222222222222222222222222222222222222222"
	report := func(digest string, age time.Duration, critical, high int) vulns.Result {
		ix := &vulns.Index{Served: true, Reports: []vulns.Report{{
			Kind: "VulnerabilityReport", Namespace: "shop", Name: "statefulset-db-db", OwnerKind: "StatefulSet", OwnerName: "db",
			OwnerNamespace: "shop", Container: "db", Repository: "index.docker.io/library/postgres", Digest: digest,
			ScannedAt: now.Add(-age), Counts: vulns.Counts{Critical: critical, High: high},
		}}}
		return ix.Lookup(vulns.Usage{Namespace: "shop", Kind: "StatefulSet", Name: "db", Container: "db",
			Repository: "index.docker.io/library/postgres", Digests: []string{run}}, nil)
	}
	for _, tc := range []struct {
		name string
		res  vulns.Result
		opts VulnerabilityOptions
		want []string // finding IDs
		text string   // in the first finding's message
	}{
		{"critical in the running digest", report(run, time.Hour, 3, 12), VulnerabilityOptions{}, []string{IDVulnerable}, "3 critical, 12 high"},
		{"only high, default threshold", report(run, time.Hour, 0, 12), VulnerabilityOptions{}, nil, ""},
		{"only high, --max-severity high", report(run, time.Hour, 0, 12), VulnerabilityOptions{MaxSeverity: "high"}, []string{IDVulnerable}, "12 at or above high"},
		{"old scan", report(run, 10*24*time.Hour, 0, 0), VulnerabilityOptions{MaxScanAge: 7 * 24 * time.Hour, Now: now}, []string{IDScanTooOld}, "10d ago, more than --max-scan-age 7d"},
		{"another digest", report(other, time.Hour, 9, 9), VulnerabilityOptions{}, []string{IDScanOfOtherDigest}, "is of sha256:222222222222, not of what runs (sha256:111111111111)"},
		{"nothing", vulns.Result{}, VulnerabilityOptions{}, []string{IDNoVulnerabilityData}, "no report of the Trivy Operator"},
		{"forbidden", vulns.Result{Error: "cannot list vulnerabilityreports.aquasecurity.github.io in all namespaces: forbidden by RBAC"}, VulnerabilityOptions{}, []string{IDVulnerabilityLookupFailed}, "forbidden by RBAC"},
	} {
		it := Item{Namespace: "shop", Kind: "StatefulSet", Name: "db", Container: "db", RunningDigests: []string{run}}
		ApplyVulnerabilities(&it, tc.res, tc.opts)
		var ids []string
		for _, f := range it.Findings {
			ids = append(ids, f.ID)
		}
		if strings.Join(ids, ",") != strings.Join(tc.want, ",") {
			t.Errorf("%s: findings %v, want %v", tc.name, ids, tc.want)
			continue
		}
		// Nothing known: no empty "vulnerabilities" in the report (the finding says why).
		if known := tc.res.Known(); (it.Vulnerabilities != nil) != known {
			t.Errorf("%s: vulnerabilities recorded %v, want %v", tc.name, it.Vulnerabilities != nil, known)
		}
		if tc.text != "" && !strings.Contains(it.Findings[0].Message, tc.text) {
			t.Errorf("%s: message %q does not say %q", tc.name, it.Findings[0].Message, tc.text)
		}
	}
}
