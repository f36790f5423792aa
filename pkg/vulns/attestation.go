package vulns

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// PredicateCosignVuln is the predicate type `cosign attest --type vuln`
// writes (and `trivy image --format cosign-vuln` produces the predicate of).
const PredicateCosignVuln = "https://cosign.sigstore.dev/attestation/vuln/v1"

// IsCosignVuln reports whether an attestation is a cosign vulnerability scan.
func IsCosignVuln(predicateType string) bool { return predicateType == PredicateCosignVuln }

// Attested is a cosign attestation of the running digest, as the signature
// lookup found it: its statement, and whether a given authority verified it.
type Attested struct {
	Digest    string // of the attestation's manifest
	Statement []byte
	Verified  bool
	SignedBy  string
	// Problem says why it does not hold (another subject, a bad envelope).
	Problem string
}

// vulnStatement holds what we read of a cosign vuln statement.
type vulnStatement struct {
	PredicateType string `json:"predicateType"`
	Predicate     struct {
		Scanner struct {
			URI     string          `json:"uri"`
			Version string          `json:"version"`
			Result  json.RawMessage `json:"result"`
		} `json:"scanner"`
		Metadata struct {
			ScanStartedOn  string `json:"scanStartedOn"`
			ScanFinishedOn string `json:"scanFinishedOn"`
		} `json:"metadata"`
	} `json:"predicate"`
}

// trivyResult is the part of Trivy's JSON report the counts come from.
type trivyResult struct {
	SchemaVersion *int `json:"SchemaVersion"`
	Results       []struct {
		Vulnerabilities []struct {
			ID       string `json:"VulnerabilityID"`
			Severity string `json:"Severity"`
		} `json:"Vulnerabilities"`
	} `json:"Results"`
}

// FromAttestation reads a cosign vulnerability attestation of the running
// digest. An attestation that does not hold, or whose predicate is not a
// Trivy report, is an error naming why (the caller says so; no counts).
func FromAttestation(a Attested) (Result, error) {
	res := Result{Source: "cosign vuln attestation " + a.Digest, Match: MatchRunning, SignedBy: a.SignedBy}
	verified := a.Verified
	res.Verified = &verified
	if a.Problem != "" {
		return res, fmt.Errorf("the attestation does not hold: %s", a.Problem)
	}
	var st vulnStatement
	if err := json.Unmarshal(a.Statement, &st); err != nil {
		return res, fmt.Errorf("the attestation's statement does not parse")
	}
	if st.PredicateType != PredicateCosignVuln {
		return res, fmt.Errorf("the attestation's predicate type is %q, not %s", st.PredicateType, PredicateCosignVuln)
	}
	p := st.Predicate
	res.Scanner = strings.TrimSpace(lastPathPart(p.Scanner.URI) + " " + p.Scanner.Version)
	// When the scan finished, else when it started: what orders scans.
	for _, at := range []string{p.Metadata.ScanFinishedOn, p.Metadata.ScanStartedOn} {
		if t, err := time.Parse(time.RFC3339Nano, at); err == nil && t.Year() > 1 {
			res.ScannedAt, res.scannedAt = t.UTC().Format(time.RFC3339), t
			break
		}
	}
	var tr trivyResult
	if len(p.Scanner.Result) == 0 || json.Unmarshal(p.Scanner.Result, &tr) != nil || tr.SchemaVersion == nil {
		return res, fmt.Errorf("predicate.scanner.result is not a Trivy JSON report: the counts are unknown")
	}
	c := Counts{}
	for _, r := range tr.Results {
		for _, v := range r.Vulnerabilities {
			if v.ID != "" {
				res.vulns = append(res.vulns, Vuln{ID: v.ID, Severity: v.Severity})
			}
			switch strings.ToUpper(v.Severity) {
			case "CRITICAL":
				c.Critical++
			case "HIGH":
				c.High++
			case "MEDIUM":
				c.Medium++
			case "LOW":
				c.Low++
			default:
				c.Unknown++
			}
		}
	}
	res.Counts = &c
	return res, nil
}

// lastPathPart turns "pkg:github/aquasecurity/trivy@0.58.1" or a URL into
// the scanner's name.
func lastPathPart(uri string) string {
	uri, _, _ = strings.Cut(uri, "@")
	if i := strings.LastIndexAny(uri, "/:"); i >= 0 {
		return uri[i+1:]
	}
	return uri
}

// Newer reports whether attestation scan a should stand over b: a verified
// one over an unverified one, then the later scan; one whose time is
// unknown loses to one whose time is known.
func Newer(a, b Result) bool {
	av, bv := a.Verified != nil && *a.Verified, b.Verified != nil && *b.Verified
	if av != bv {
		return av
	}
	return a.scannedAt.After(b.scannedAt)
}
