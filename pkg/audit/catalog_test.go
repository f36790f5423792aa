package audit

import (
	"flag"
	"os"
	"regexp"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite docs/findings.md from the catalogue")

const findingsDoc = "../../docs/findings.md"

func TestCatalogueIsComplete(t *testing.T) {
	seen := map[string]bool{}
	categories := map[string]bool{"pinning": true, "registry": true, "signature": true, "provenance": true, "freshness": true, "vulnerabilities": true}
	for _, s := range Catalogue {
		if seen[s.ID] {
			t.Errorf("%s is in the catalogue twice", s.ID)
		}
		seen[s.ID] = true
		if s.Severity.Rank() == 0 || !categories[s.Category] || s.When == "" || s.Description == "" || s.Fix == "" || !strings.HasSuffix(s.Description, ".") {
			t.Errorf("%s is incomplete: %+v", s.ID, s)
		}
		if !strings.Contains(HelpTable(s.Check), "  "+s.ID+" ") {
			t.Errorf("%s is not in the help of its check %q", s.ID, s.Check)
		}
	}
}

// docs/findings.md is generated from the catalogue; -update rewrites it.
func TestFindingsDocIsGenerated(t *testing.T) {
	want := FindingsDoc()
	if *update {
		if err := os.WriteFile(findingsDoc, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(findingsDoc)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Errorf("%s drifted from the catalogue: run go test ./pkg/audit -run TestFindingsDoc -update", findingsDoc)
	}
}

// The hand-written tables of docs/audit.md (they say more than the
// catalogue's one line) must agree with it on severities, and name every
// finding.
func TestAuditDocAgreesWithTheCatalogue(t *testing.T) {
	doc, err := os.ReadFile("../../docs/audit.md")
	if err != nil {
		t.Fatal(err)
	}
	row := regexp.MustCompile("(?m)^\\|[^\\n]*?`([a-z-]+)` \\| (high|medium|low)\\b")
	found := map[string]bool{}
	for _, m := range row.FindAllStringSubmatch(string(doc), -1) {
		s, ok := Lookup(m[1])
		if !ok {
			continue // a status column, not a finding
		}
		found[s.ID] = true
		if string(s.Severity) != m[2] {
			t.Errorf("docs/audit.md says %s is %s; the catalogue says %s", s.ID, m[2], s.Severity)
		}
	}
	for _, s := range Catalogue {
		if !strings.Contains(string(doc), "`"+s.ID+"`") {
			t.Errorf("docs/audit.md does not name %s", s.ID)
		}
	}
	if len(found) < 10 {
		t.Errorf("only %d finding rows read from docs/audit.md: has the table layout changed?", len(found))
	}
}
