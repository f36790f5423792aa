package audit

import (
	"strings"
	"testing"
)

// Every check's help table keeps its severity column aligned, also when
// an ID is longer than the usual 26 characters (vulnerability-lookup-failed).
func TestHelpTableAligned(t *testing.T) {
	checks := []Check{CheckSpec, CheckRegistry, CheckSignatures, CheckProvenance, CheckUpdates, CheckVulnerabilities}
	col := 2 + IDWidth() + 1
	for _, c := range checks {
		table := HelpTable(c)
		if table == "" {
			t.Fatalf("%s: empty help table", c)
		}
		for _, line := range strings.Split(table, "\n") {
			if len(line) <= col {
				t.Fatalf("%s: short line %q", c, line)
			}
			if strings.HasPrefix(line, "  ") && line[2] != ' ' {
				// A finding's first line: ID, then its severity at col.
				sev := strings.Fields(line[col:])[0]
				if sev != "high" && sev != "medium" && sev != "low" {
					t.Errorf("%s: severity not at column %d in %q", c, col, line)
				}
			} else if strings.TrimSpace(line[:col]) != "" {
				t.Errorf("%s: wrapped line not indented past the ID column: %q", c, line)
			}
		}
	}
	if IDWidth() < len(IDVulnerabilityLookupFailed) {
		t.Errorf("IDWidth %d is shorter than %s", IDWidth(), IDVulnerabilityLookupFailed)
	}
}
