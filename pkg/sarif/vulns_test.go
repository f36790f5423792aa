package sarif

import (
	"encoding/json"
	"testing"

	"github.com/imgtrust/kubectl-imgtrust/pkg/audit"
	"github.com/imgtrust/kubectl-imgtrust/pkg/vulns"
	"github.com/imgtrust/kubectl-imgtrust/test/sarifcheck"
)

func TestVulnerabilityFindingsAreRules(t *testing.T) {
	rep := sample("")
	audit.ApplyVulnerabilities(&rep.Items[0], vulns.Result{Source: "VulnerabilityReport shop/r", ScannedDigest: "sha256:2222222222222222222222222222222222222222222222222222222222222222", Match: vulns.MatchOther}, audit.VulnerabilityOptions{})
	log := FromAudit(rep, "v1.2.3", "")
	doc, _ := json.Marshal(log)
	if err := sarifcheck.Validate(doc, schemaPath); err != nil {
		t.Fatalf("not valid SARIF 2.1.0: %v", err)
	}
	found := false
	for _, r := range log.Runs[0].Results {
		if r.RuleID == audit.IDScanOfOtherDigest {
			found = r.Level == "warning"
		}
	}
	ruled := false
	for _, rule := range log.Runs[0].Tool.Driver.Rules {
		ruled = ruled || rule.ID == audit.IDScanOfOtherDigest && rule.DefaultConfiguration.Level == "warning" && rule.ShortDescription.Text != rule.ID
	}
	if !found || !ruled {
		t.Errorf("scan-of-other-digest: result at warning %v, rule at warning with its description %v", found, ruled)
	}
}
