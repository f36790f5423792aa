package audit

import (
	"strings"
	"testing"
	"time"

	"github.com/imgtrust/kubectl-imgtrust/pkg/provenance"
)

func findingIDs(it *Item) string {
	var ids []string
	for _, f := range it.Findings {
		ids = append(ids, f.ID)
	}
	return strings.Join(ids, ",")
}

func TestApplyProvenance(t *testing.T) {
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	on := ProvenanceOptions{Report: true, MaxAge: 180 * 24 * time.Hour, Now: now}
	cases := []struct {
		name string
		p    provenance.Provenance
		o    ProvenanceOptions
		want string
	}{
		{"known and fresh", provenance.Provenance{Source: "s", Revision: "r", Created: "2026-11-01T00:00:00Z", CreatedFrom: "annotation"}, on, ""},
		{"nothing", provenance.Provenance{}, on, IDNoProvenance},
		{"nothing, not asked", provenance.Provenance{}, ProvenanceOptions{MaxAge: time.Hour, Now: now}, ""},
		{"mismatch", provenance.Provenance{Source: "s", Mismatch: "revision a vs b"}, on, IDProvenanceMismatch},
		{"too old", provenance.Provenance{Source: "s", Created: "2025-01-01T00:00:00Z", CreatedFrom: "label"}, on, IDImageTooOld},
		{"reproducible build: age unknown", provenance.Provenance{Source: "s", Created: "1970-01-01T00:00:00Z", CreatedFrom: "config"}, on, ""},
		{"failed read is not missing provenance", provenance.Provenance{Error: "registry r denied"}, on, IDProvenanceLookupFailed},
		{"read cut by the request budget", provenance.Provenance{Error: "request-budget: r/app@sha256:1 not read: …", ReadsSkipped: 1}, on, IDProvenanceLookupFailed},
		{"partial read keeps what was read", provenance.Provenance{Source: "s", Error: "blob denied"}, on, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			it := &Item{}
			c.p.Digest = "sha256:" + strings.Repeat("a", 64)
			ApplyProvenance(it, c.p, DigestFromRunning, c.o)
			if got := findingIDs(it); got != c.want {
				t.Fatalf("findings %q, want %q (%+v)", got, c.want, it.Findings)
			}
			if it.Provenance == nil {
				t.Fatal("the provenance is recorded")
			}
			// The budget's fix when the budget cut the read, the
			// registry's otherwise.
			if c.want == IDProvenanceLookupFailed {
				budget := strings.Contains(it.Findings[0].Fix, "raise --max-artifact-requests")
				if budget != (c.p.ReadsSkipped > 0) || budget == strings.Contains(it.Findings[0].Fix, "pull secret") {
					t.Errorf("fix %q for %+v", it.Findings[0].Fix, c.p)
				}
			}
		})
	}
	it := &Item{}
	ApplyProvenance(it, provenance.Provenance{Source: "s", Created: "2025-01-01T00:00:00Z", CreatedFrom: "label"}, DigestFromRunning, on)
	if m := it.Findings[0].Message; !strings.Contains(m, "built 2025-01-01 (699d ago, from its label), more than --max-age 180d") {
		t.Errorf("message: %s", m)
	}
}

func TestApplyUpdates(t *testing.T) {
	it := &Item{Image: "reg/app:1.2.3"}
	ApplyUpdates(it, provenance.Updates{NewestPatch: "1.2.4", NewestMinor: "1.3.0", NewestMajor: "2.0.0", CheckedTags: 6}, "1.2.3")
	if got := findingIDs(it); got != "newer-patch-available,newer-minor-available,newer-major-available" {
		t.Fatalf("findings %q", got)
	}
	if it.Findings[0].Severity != SeverityMedium || it.Findings[1].Severity != SeverityLow || !strings.Contains(it.Findings[0].Message, "1.2.4 is out (running 1.2.3)") {
		t.Errorf("%+v", it.Findings)
	}
	it = &Item{Image: "reg/app:1.2.3"}
	ApplyUpdates(it, provenance.Updates{CheckedTags: 1}, "1.2.3")
	if len(it.Findings) != 0 || it.Updates == nil {
		t.Errorf("up to date: %+v", it)
	}
	it = &Item{Image: "reg/app:1.2.3"}
	ApplyUpdates(it, provenance.Updates{Error: "registry reg denied the request"}, "1.2.3")
	if got := findingIDs(it); got != IDUpdatesLookupFailed {
		t.Errorf("a failed listing: %q", got)
	}
}
