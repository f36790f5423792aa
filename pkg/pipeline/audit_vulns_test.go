package pipeline

import (
	"slices"
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
	st := &vulnStage{index: &vulns.Index{Served: true, Reports: []vulns.Report{{Kind: "VulnerabilityReport", Namespace: "ns", Name: "r", Digest: attRun, Counts: vulns.Counts{High: 1},
		OwnerKind: "Pod", OwnerName: "p", OwnerNamespace: "ns", Container: "c"}}}}
	items := []audit.Item{*item([]signature.Attestation{att}, "")}
	items[0].RunningDigests = []string{attRun}
	items[0].Namespace, items[0].Kind, items[0].Name, items[0].Container = "ns", "Pod", "p", "c"
	st.apply(items, audit.VulnerabilityOptions{})
	if v := items[0].Vulnerabilities; v == nil || v.Source != "VulnerabilityReport ns/r" || v.Counts.High != 1 {
		t.Errorf("a report of the running digest: %+v", v)
	}
}

// TestWithAttestationNewestVerified: of several vuln attestations read,
// the newest verified by its scan time stands (a later scan with
// criticals is never missed behind an older clean one); an unverified
// newer one never stands over a verified one.
func TestWithAttestationNewestVerified(t *testing.T) {
	scan := func(digest, at, result string, verified bool) signature.Attestation {
		st := strings.Replace(string(vulnStatement(result)), `"scanFinishedOn":"2026-12-01T10:00:00Z"`, `"scanStartedOn":"`+at+`"`, 1)
		return signature.Attestation{Digest: digest, PredicateType: vulns.PredicateCosignVuln, Verified: verified, SignedBy: "k1", Statement: []byte(st)}
	}
	clean := `{"SchemaVersion":2,"Results":[]}`
	critical := `{"SchemaVersion":2,"Results":[{"Vulnerabilities":[{"Severity":"CRITICAL"}]}]}`
	for _, tt := range []struct {
		name string
		atts []signature.Attestation
		want string // digest of the attestation that stands
	}{
		{"older clean first, newer critical", []signature.Attestation{scan("sha256:old", "2026-11-01T10:00:00Z", clean, true), scan("sha256:new", "2026-12-01T10:00:00Z", critical, true)}, "sha256:new"},
		{"newer first", []signature.Attestation{scan("sha256:new", "2026-12-01T10:00:00Z", critical, true), scan("sha256:old", "2026-11-01T10:00:00Z", clean, true)}, "sha256:new"},
		{"a newer unverified one", []signature.Attestation{scan("sha256:old", "2026-11-01T10:00:00Z", critical, true), scan("sha256:new", "2026-12-01T10:00:00Z", clean, false)}, "sha256:old"},
		{"only unverified: the newest", []signature.Attestation{scan("sha256:old", "2026-11-01T10:00:00Z", clean, false), scan("sha256:new", "2026-12-01T10:00:00Z", critical, false)}, "sha256:new"},
	} {
		got := withAttestation(&audit.Item{Signature: &signature.Result{Digest: attRun, Attestations: tt.atts}}, vulns.Result{})
		if got.Source != "cosign vuln attestation "+tt.want {
			t.Errorf("%s: %s stands, want %s", tt.name, got.Source, tt.want)
		}
	}
	// Some attestations unread: the one read stands, and the note says a
	// newer one may be among the unread.
	got := withAttestation(&audit.Item{Signature: &signature.Result{Digest: attRun, AttestationsError: "registry answered 503",
		Attestations: []signature.Attestation{scan("sha256:old", "2026-11-01T10:00:00Z", clean, true)}}}, vulns.Result{})
	if got.Source != "cosign vuln attestation sha256:old" || !strings.Contains(got.Note, "some attestations could not be read (registry answered 503): a newer scan may be among them") {
		t.Errorf("partly unread: %+v", got)
	}
}

// TestApplyVEXThroughTheStage: a verified OpenVEX attestation found by the
// signature lookup takes its not_affected critical out of the attested
// scan, so the item is no longer vulnerable; an unverified one is only said.
func TestApplyVEXThroughTheStage(t *testing.T) {
	critical := `{"SchemaVersion":2,"Results":[{"Vulnerabilities":[{"VulnerabilityID":"CVE-2026-0001","Severity":"CRITICAL"},{"VulnerabilityID":"CVE-2026-0002","Severity":"HIGH"}]}]}`
	vex := `{"predicateType":"https://openvex.dev/ns","predicate":{"@context":"https://openvex.dev/ns/v0.2.0","timestamp":"2026-12-01T10:00:00Z",
"statements":[{"vulnerability":{"name":"CVE-2026-0001"},"status":"not_affected","justification":"component_not_present"}]}}`
	for _, verified := range []bool{true, false} {
		items := []audit.Item{{Namespace: "ns", Kind: "Pod", Name: "p", Container: "c", RunningDigests: []string{attRun},
			Signature: &signature.Result{Digest: attRun, Attestations: []signature.Attestation{
				{Digest: "sha256:aa", PredicateType: vulns.PredicateCosignVuln, Verified: true, SignedBy: "k1", Statement: vulnStatement(critical)},
				{Digest: "sha256:bb", PredicateType: vulns.PredicateOpenVEX, Verified: verified, SignedBy: "k1", Statement: []byte(vex)},
			}}}}
		st := &vulnStage{index: &vulns.Index{Served: true}}
		st.apply(items, audit.VulnerabilityOptions{})
		v := items[0].Vulnerabilities
		vulnerable := slices.ContainsFunc(items[0].Findings, func(f audit.Finding) bool { return f.ID == audit.IDVulnerable })
		if v == nil || v.VEX == nil || v.VEX.Verified != verified || vulnerable == verified || (v.Counts.Critical == 0) != verified {
			t.Errorf("VEX verified=%v: vulnerabilities %+v vex %+v vulnerable %v", verified, v, v.VEX, vulnerable)
		}
		if !verified && !strings.Contains(items[0].Findings[0].Message, "is not verified by an authority you trust: not applied") {
			t.Errorf("the unverified VEX is not said: %s", items[0].Findings[0].Message)
		}
	}
}

// TestGateAttestationPartlyUnread: with some attestations unread, the
// gate never passes on the scan it could read: a newer one may be unread.
func TestGateAttestationPartlyUnread(t *testing.T) {
	clean := signature.Attestation{Digest: "sha256:aa", PredicateType: vulns.PredicateCosignVuln, Verified: true, SignedBy: "k",
		Statement: vulnStatement(`{"SchemaVersion":2,"Results":[]}`)}
	if got := gateAttestation(signature.Result{Digest: attRun, Attestations: []signature.Attestation{clean}}, vulns.Result{}); got.Error != "" || got.Counts == nil {
		t.Errorf("all read: %+v, want the clean scan", got)
	}
	got := gateAttestation(signature.Result{Digest: attRun, Attestations: []signature.Attestation{clean}, AttestationsError: "registry answered 503"}, vulns.Result{})
	if got.Error != "some attestations could not be read: registry answered 503" {
		t.Errorf("partly unread: %+v, want a lookup failure", got)
	}
}
