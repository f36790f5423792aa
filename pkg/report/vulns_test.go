package report

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/imgtrust/kubectl-imgtrust/pkg/audit"
	"github.com/imgtrust/kubectl-imgtrust/pkg/vulns"
)

func TestVulnsColumn(t *testing.T) {
	rep := sampleReport(t, true)
	now := time.Now()
	at := now.Add(-30 * 24 * time.Hour)
	// A report filed under the workload and container, as the operator files it.
	scanned := func(container string, c vulns.Counts, when time.Time) vulns.Result {
		ix := &vulns.Index{Served: true, Reports: []vulns.Report{{Kind: "VulnerabilityReport", Namespace: "shop", Name: "r1", Digest: digestA, ScannedAt: when, Counts: c,
			OwnerKind: "StatefulSet", OwnerName: "web", OwnerNamespace: "shop", Container: container}}}
		return ix.Lookup(vulns.Usage{Namespace: "shop", Kind: "StatefulSet", Name: "web", Container: container, Digests: []string{digestA}}, nil)
	}
	for i := range rep.Items {
		it := &rep.Items[i]
		switch it.Container {
		case "web":
			audit.ApplyVulnerabilities(it, scanned("web", vulns.Counts{Critical: 3, High: 12}, now), audit.VulnerabilityOptions{})
		case "migrate":
			audit.ApplyVulnerabilities(it, scanned("migrate", vulns.Counts{}, at), audit.VulnerabilityOptions{MaxScanAge: 7 * 24 * time.Hour, Now: now})
		case "debugger":
			audit.ApplyVulnerabilities(it, vulns.Result{Source: "VulnerabilityReport shop/r2", ScannedDigest: digestB, Match: vulns.MatchOther}, audit.VulnerabilityOptions{})
		case "backup":
			audit.ApplyVulnerabilities(it, vulns.Result{Error: "forbidden"}, audit.VulnerabilityOptions{})
		}
	}
	var b bytes.Buffer
	if err := AuditTable(&b, rep, false); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	col := strings.Index(lines[0], "VULNS")
	if col < 0 {
		t.Fatalf("no VULNS column:\n%s", b.String())
	}
	want := map[string]string{"web": "C3 H12", "init:migrate": "stale", "ephemeral:debugger": "other-digest", "backup": "-", "bad": "-"}
	checked := 0
	for _, line := range lines[1:] {
		f := strings.Fields(line)
		cell := strings.TrimSpace(line[col:])
		for c, w := range want {
			if strings.Contains(strings.Join(f, " "), " "+c+" ") {
				checked++
				if cell != w {
					t.Errorf("%s: VULNS %q, want %q", c, cell, w)
				}
			}
		}
	}
	if checked != len(want) {
		t.Errorf("%d of %d rows found in\n%s", checked, len(want), b.String())
	}

	b.Reset()
	if err := AuditTable(&b, rep, true); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "VULN REPORT") || !strings.Contains(b.String(), "shop/r1") {
		t.Errorf("-o wide names no report:\n%s", b.String())
	}

	var js bytes.Buffer
	if err := Encode(&js, FormatJSON, rep); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Items []struct {
			Container       string
			Vulnerabilities *struct {
				Source, ScannedDigest, ScannedAt, Error string
				Counts                                  *struct{ Critical, High int }
			}
		}
	}
	if err := json.Unmarshal(js.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	for _, it := range doc.Items {
		if it.Container == "web" && (it.Vulnerabilities == nil || it.Vulnerabilities.Counts == nil || it.Vulnerabilities.Counts.High != 12 || it.Vulnerabilities.ScannedDigest != digestA || it.Vulnerabilities.ScannedAt == "") {
			t.Errorf("web's JSON vulnerabilities: %+v", it.Vulnerabilities)
		}
	}
}

// TestNoEmptyVulnerabilitiesInJSON: an item with nothing known (no scan
// found; the finding says why), or audited without --vulnerabilities, has
// no "vulnerabilities" key at all; the table still shows the VULNS column.
func TestNoEmptyVulnerabilitiesInJSON(t *testing.T) {
	for _, asked := range []bool{false, true} {
		rep := sampleReport(t, true)
		if asked {
			for i := range rep.Items {
				ix := &vulns.Index{Served: true}
				audit.ApplyVulnerabilities(&rep.Items[i], ix.Lookup(rep.Items[i].VulnerabilityUsage(), nil), audit.VulnerabilityOptions{})
			}
		}
		var js bytes.Buffer
		if err := Encode(&js, FormatJSON, rep); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(js.String(), `"vulnerabilities"`) {
			t.Errorf("--vulnerabilities %v: the JSON has a vulnerabilities key for items with nothing known", asked)
		}
		if asked && !strings.Contains(js.String(), audit.IDNoVulnerabilityData) {
			t.Errorf("no %s finding says why", audit.IDNoVulnerabilityData)
		}
		var b bytes.Buffer
		if err := AuditTable(&b, rep, false); err != nil {
			t.Fatal(err)
		}
		if got := strings.Contains(b.String(), "VULNS"); got != asked {
			t.Errorf("--vulnerabilities %v: VULNS column shown %v", asked, got)
		}
	}
}
