package vulns

import (
	"strings"
	"testing"
)

// A statement as `cosign attest --type vuln` writes it around Trivy's JSON.
const vulnStatementJSON = `{"_type":"https://in-toto.io/Statement/v0.1","predicateType":"https://cosign.sigstore.dev/attestation/vuln/v1",
"subject":[{"name":"r/app","digest":{"sha256":"11"}}],
"predicate":{"invocation":{"parameters":null,"uri":"","event_id":"","builder.id":""},
"scanner":{"uri":"pkg:github/aquasecurity/trivy@0.58.1","version":"0.58.1","db":{"uri":"","version":""},
"result":{"SchemaVersion":2,"ArtifactName":"r/app","Results":[{"Target":"alpine","Vulnerabilities":[
{"VulnerabilityID":"CVE-1","Severity":"CRITICAL"},{"VulnerabilityID":"CVE-2","Severity":"HIGH"},{"VulnerabilityID":"CVE-3","Severity":"HIGH"}]},
{"Target":"app","Vulnerabilities":[{"VulnerabilityID":"CVE-4","Severity":"LOW"},{"VulnerabilityID":"CVE-5","Severity":"UNKNOWN"}]}]}},
"metadata":{"scanStartedOn":"2026-12-01T10:00:00Z","scanFinishedOn":"2026-12-01T10:01:00Z"}}}`

func TestFromAttestation(t *testing.T) {
	r, err := FromAttestation(Attested{Digest: "sha256:aa", Statement: []byte(vulnStatementJSON), Verified: true, SignedBy: "cosign.pub"})
	if err != nil {
		t.Fatal(err)
	}
	if r.Counts == nil || *r.Counts != (Counts{Critical: 1, High: 2, Low: 1, Unknown: 1}) || r.Scanner != "trivy 0.58.1" ||
		r.ScannedAt != "2026-12-01T10:01:00Z" || r.Verified == nil || !*r.Verified || r.Match != MatchRunning {
		t.Errorf("%+v counts %+v", r, r.Counts)
	}
	for what, a := range map[string]Attested{
		"does not hold: the statement's subject is another digest": {Statement: []byte(vulnStatementJSON), Problem: "the statement's subject is another digest"},
		"does not parse":          {Statement: []byte("{")},
		"not a Trivy JSON report": {Statement: []byte(strings.Replace(vulnStatementJSON, `"SchemaVersion":2,`, "", 1))},
		`predicate type is "x"`:   {Statement: []byte(strings.Replace(vulnStatementJSON, "https://cosign.sigstore.dev/attestation/vuln/v1", "x", 1))},
	} {
		r, err := FromAttestation(a)
		if err == nil || !strings.Contains(err.Error(), what) || r.Counts != nil {
			t.Errorf("%s: err %v counts %v", what, err, r.Counts)
		}
		if r.Verified == nil || *r.Verified {
			t.Errorf("%s: an unverified attestation is said to be verified", what)
		}
	}
}
