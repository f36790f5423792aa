package pipeline

import (
	"strings"
	"testing"

	"github.com/imgtrust/kubectl-imgtrust/pkg/audit"
	"github.com/imgtrust/kubectl-imgtrust/pkg/signature"
	"github.com/imgtrust/kubectl-imgtrust/pkg/vulns"
)

const attRun = "sha256:1111111111111111111111111111111111111111111111111111111111111111"

func vulnStatement(result string) []byte {
	return []byte(`{"predicateType":"` + vulns.PredicateCosignVuln + `","predicate":{"scanner":{"uri":"pkg:github/aquasecurity/trivy@0.65.0","version":"0.65.0","result":` + result + `},"metadata":{"scanFinishedOn":"2026-12-01T10:00:00Z"}}}`)
}

// The attestation is the second source: it stands for the item when no
// report scanned what runs, never over a report that did.
func TestWithAttestation(t *testing.T) {
	att := signature.Attestation{Digest: "sha256:aa", PredicateType: vulns.PredicateCosignVuln, Verified: true, SignedBy: "k1",
		Statement: vulnStatement(`{"SchemaVersion":2,"Results":[{"Vulnerabilities":[{"Severity":"CRITICAL"}]}]}`)}
	item := func(atts []signature.Attestation, attErr string) *audit.Item {
		return &audit.Item{Signature: &signature.Result{Digest: attRun, Attestations: atts, AttestationsError: attErr}}
	}
	reported := vulns.Result{Source: "VulnerabilityReport ns/r", Match: vulns.MatchRunning, Counts: &vulns.Counts{High: 1}}

	if got := withAttestation(item([]signature.Attestation{att}, ""), vulns.Result{Match: vulns.MatchOther, ScannedDigest: "sha256:bb"}); got.Counts == nil || got.Counts.Critical != 1 || got.ScannedDigest != attRun || got.Verified == nil || !*got.Verified {
		t.Errorf("an attestation of what runs over a report of another digest: %+v", got)
	}
	if got := withAttestation(item(nil, "registry answered 503"), vulns.Result{}); !strings.Contains(got.Error, "the attestations could not be read: registry answered 503") {
		t.Errorf("unread attestations and no report: %+v, want a lookup failure", got)
	}
	if got := withAttestation(item(nil, "registry answered 503"), vulns.Result{Match: vulns.MatchOther}); got.Error != "" {
		t.Errorf("unread attestations beside a report of another digest: %+v, want that report", got)
	}
	bad := att
	bad.Statement = vulnStatement(`{"matches":[]}`)
	if got := withAttestation(item([]signature.Attestation{bad}, ""), vulns.Result{}); got.Counts != nil || !strings.Contains(got.Note, "was skipped: predicate.scanner.result is not a Trivy JSON report") {
		t.Errorf("a predicate that is no Trivy report: %+v", got)
	}
	if got := withAttestation(&audit.Item{}, reported); got.Source != reported.Source {
		t.Errorf("no signature checked: %+v", got)
	}
	// What apply does: a report of what runs stands.
	st := &vulnStage{index: &vulns.Index{Served: true, Reports: []vulns.Report{{Kind: "VulnerabilityReport", Namespace: "ns", Name: "r", Digest: attRun, Counts: vulns.Counts{High: 1}}}}}
	items := []audit.Item{*item([]signature.Attestation{att}, "")}
	items[0].RunningDigests = []string{attRun}
	st.apply(items, audit.VulnerabilityOptions{})
	if v := items[0].Vulnerabilities; v == nil || v.Source != "VulnerabilityReport ns/r" || v.Counts.High != 1 {
		t.Errorf("a report of the running digest: %+v", v)
	}
}
