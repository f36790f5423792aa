package vulns

import (
	"strings"
	"testing"
)

const vexDigest = "sha256:1111111111111111111111111111111111111111111111111111111111111111"

// vexAtt is an OpenVEX attestation as `cosign attest --type openvex` wraps
// the document: an in-toto statement whose predicate is it.
func vexAtt(digest string, verified bool, statements string) VEXDoc {
	return VEXDoc{Digest: digest, Verified: verified, SignedBy: "KEY", Statement: []byte(`{"_type":"https://in-toto.io/Statement/v0.1","predicateType":"https://openvex.dev/ns",
"subject":[{"name":"r/app","digest":{"sha256":"` + vexDigest[7:] + `"}}],
"predicate":{"@context":"https://openvex.dev/ns/v0.2.0","@id":"https://example.com/vex/1","author":"sec","timestamp":"2026-12-01T10:00:00Z","version":1,"statements":[` + statements + `]}}`)}
}

func scanned() Result {
	c := Counts{Critical: 2, High: 2, Low: 1}
	return Result{Source: "VulnerabilityReport ns/r", Match: MatchRunning, Counts: &c,
		vulns: []Vuln{{"CVE-2026-0001", "CRITICAL"}, {"CVE-2026-0009", "CRITICAL"}, {"CVE-2026-0002", "HIGH"}, {"CVE-2026-0003", "HIGH"}, {"CVE-2026-0004", "LOW"}}}
}

func TestApplyVEX(t *testing.T) {
	notAffected := `{"vulnerability":{"name":"CVE-2026-0001"},"status":"not_affected","justification":"vulnerable_code_not_in_execute_path"}`
	for _, tt := range []struct {
		name     string
		docs     []VEXDoc
		want     Counts
		excluded string // comma-separated
		verified bool   // of r.VEX; no VEX when vexSrc is ""
		vexSrc   string
		note     string
	}{
		{"verified not_affected, no products: the subject is the product", []VEXDoc{vexAtt("sha256:v1", true, notAffected)},
			Counts{Critical: 1, High: 2, Low: 1}, "CVE-2026-0001", true, "cosign openvex attestation sha256:v1", ""},
		{"unverified: reported, never applied", []VEXDoc{vexAtt("sha256:v1", false, notAffected)},
			Counts{Critical: 2, High: 2, Low: 1}, "", false, "cosign openvex attestation sha256:v1", ""},
		{"fixed excludes; affected and under_investigation do not", []VEXDoc{vexAtt("sha256:v1", true,
			`{"vulnerability":{"name":"CVE-2026-0002"},"status":"fixed"},{"vulnerability":{"name":"CVE-2026-0001"},"status":"affected"},{"vulnerability":{"name":"CVE-2026-0009"},"status":"under_investigation"}`)},
			Counts{Critical: 2, High: 1, Low: 1}, "CVE-2026-0002", true, "cosign openvex attestation sha256:v1", ""},
		{"a product naming this digest (purl) applies; another digest's does not", []VEXDoc{vexAtt("sha256:v1", true,
			`{"vulnerability":{"name":"CVE-2026-0001"},"products":[{"@id":"pkg:oci/app@sha256%3A`+vexDigest[7:]+`"}],"status":"not_affected"},
			 {"vulnerability":{"name":"CVE-2026-0009"},"products":[{"@id":"pkg:oci/app@sha256%3A`+strings.Repeat("2", 64)+`"}],"status":"not_affected"}`)},
			Counts{Critical: 1, High: 2, Low: 1}, "CVE-2026-0001", true, "cosign openvex attestation sha256:v1", ""},
		{"matched by an alias, v0.0.x spellings", []VEXDoc{vexAtt("sha256:v1", true,
			`{"vulnerability":{"name":"GHSA-xxxx","aliases":["cve-2026-0009"]},"status":"not_affected"},{"vulnerability":"CVE-2026-0004","products":["r/app@`+vexDigest+`"],"status":"fixed"}`)},
			Counts{Critical: 1, High: 2}, "CVE-2026-0004,CVE-2026-0009", true, "cosign openvex attestation sha256:v1", ""},
		{"the newest statement of a vulnerability decides", []VEXDoc{
			vexAtt("sha256:v1", true, `{"vulnerability":{"name":"CVE-2026-0001"},"status":"not_affected","timestamp":"2026-12-01T10:00:00Z"}`),
			vexAtt("sha256:v2", true, `{"vulnerability":{"name":"CVE-2026-0001"},"status":"affected","timestamp":"2026-12-02T10:00:00Z"}`)},
			Counts{Critical: 2, High: 2, Low: 1}, "", true, "cosign openvex attestation sha256:v1, cosign openvex attestation sha256:v2", ""},
		{"an unverified newer statement does not undo a verified one", []VEXDoc{
			vexAtt("sha256:v1", true, notAffected),
			vexAtt("sha256:v2", false, `{"vulnerability":{"name":"CVE-2026-0001"},"status":"affected","timestamp":"2026-12-09T10:00:00Z"}`)},
			Counts{Critical: 1, High: 2, Low: 1}, "CVE-2026-0001", true, "cosign openvex attestation sha256:v1", ""},
		{"a bad status: skipped by name", []VEXDoc{vexAtt("sha256:v1", true, `{"vulnerability":{"name":"CVE-2026-0001"},"status":"ignored"}`)},
			Counts{Critical: 2, High: 2, Low: 1}, "", false, "", `the OpenVEX attestation sha256:v1 was skipped: statements[0].status "ignored" is not an OpenVEX status`},
		{"no vulnerability named: skipped", []VEXDoc{vexAtt("sha256:v1", true, `{"vulnerability":{},"status":"fixed"}`)},
			Counts{Critical: 2, High: 2, Low: 1}, "", false, "", "statements[0].vulnerability: names no vulnerability"},
		{"another subject: skipped", []VEXDoc{{Digest: "sha256:v1", Verified: false, Problem: "the statement's subject is another digest"}},
			Counts{Critical: 2, High: 2, Low: 1}, "", false, "", "does not hold: the statement's subject is another digest"},
		{"not a VEX document: skipped", []VEXDoc{{Digest: "sha256:v1", Verified: true, Statement: []byte(`{"predicateType":"https://openvex.dev/ns","predicate":{"@context":"https://example.com"}}`)}},
			Counts{Critical: 2, High: 2, Low: 1}, "", false, "", "not an OpenVEX one"},
	} {
		got := ApplyVEX(scanned(), vexDigest, tt.docs)
		if *got.Counts != tt.want {
			t.Errorf("%s: counts %+v, want %+v", tt.name, *got.Counts, tt.want)
		}
		if !strings.Contains(got.Note, tt.note) {
			t.Errorf("%s: note %q, want %q", tt.name, got.Note, tt.note)
		}
		switch {
		case tt.vexSrc == "" && got.VEX != nil:
			t.Errorf("%s: vex %+v, want none", tt.name, got.VEX)
		case tt.vexSrc != "" && (got.VEX == nil || got.VEX.Source != tt.vexSrc || got.VEX.Verified != tt.verified || strings.Join(got.VEX.Excluded, ",") != tt.excluded):
			t.Errorf("%s: vex %+v, want %s verified=%v excluded %q", tt.name, got.VEX, tt.vexSrc, tt.verified, tt.excluded)
		}
	}
	// No scan of what runs: nothing to take from; the VEX is still said.
	if got := ApplyVEX(Result{}, vexDigest, []VEXDoc{vexAtt("sha256:v1", true, notAffected)}); got.Counts != nil || got.VEX == nil || len(got.VEX.Excluded) != 0 {
		t.Errorf("no scan: %+v vex %+v", got, got.VEX)
	}
}

// TestVEXOverAttestedScan: the IDs a cosign vuln attestation lists are
// what a verified VEX statement is matched against.
func TestVEXOverAttestedScan(t *testing.T) {
	r, err := FromAttestation(Attested{Digest: "sha256:aa", Statement: []byte(vulnStatementJSON), Verified: true})
	if err != nil {
		t.Fatal(err)
	}
	got := ApplyVEX(r, vexDigest, []VEXDoc{vexAtt("sha256:v1", true, `{"vulnerability":{"name":"CVE-1"},"status":"not_affected"}`)})
	if got.Counts.Critical != 0 || got.Counts.High != 2 || got.VEX == nil || strings.Join(got.VEX.Excluded, ",") != "CVE-1" {
		t.Errorf("counts %+v vex %+v, want the critical CVE-1 excluded", got.Counts, got.VEX)
	}
}
