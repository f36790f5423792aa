// Package audit turns image usages (and, when the registry was asked, what
// their tags resolve to) into findings, each with a stable ID, a severity and
// a one-line fix. It does no I/O.
package audit

import (
	"fmt"
	"strings"
)

// Severity orders findings; --fail-on compares against it.
type Severity string

const (
	SeverityNone   Severity = "none"
	SeverityLow    Severity = "low"
	SeverityMedium Severity = "medium"
	SeverityHigh   Severity = "high"
)

// Rank is 0 for none, then 1, 2, 3.
func (s Severity) Rank() int {
	switch s {
	case SeverityLow:
		return 1
	case SeverityMedium:
		return 2
	case SeverityHigh:
		return 3
	}
	return 0
}

// ParseSeverity reads a --fail-on value.
func ParseSeverity(s string) (Severity, error) {
	switch v := Severity(strings.ToLower(strings.TrimSpace(s))); v {
	case SeverityNone, SeverityLow, SeverityMedium, SeverityHigh:
		return v, nil
	}
	return "", fmt.Errorf("unknown severity %q: use none, low, medium or high", s)
}

// Finding IDs are a contract: scripts and CI filters match on them.
const (
	IDImplicitLatest         = "implicit-latest"
	IDLatestTag              = "latest-tag"
	IDMutableTag             = "mutable-tag"
	IDImplicitRegistry       = "implicit-registry"
	IDPullPolicyStaleRisk    = "pull-policy-stale-risk"
	IDMixedRunningDigests    = "mixed-running-digests"
	IDRunningDiffersFromSpec = "running-differs-from-spec"
	IDDisallowedRegistry     = "disallowed-registry"
	IDInvalidReference       = "invalid-reference"
	IDTagMoved               = "tag-moved"
	IDUnresolvable           = "unresolvable"
	IDNoCredentials          = "no-credentials"
	// Signature findings (audit --signatures, --verify-key, --trust-cert).
	IDUnsigned              = "unsigned"
	IDSignatureUnverified   = "signature-unverified"
	IDSignedByUnknownKey    = "signed-by-unknown-key"
	IDSignatureInvalid      = "signature-invalid"
	IDSignatureLookupFailed = "signature-lookup-failed"
	IDNoTrustRule           = "no-trust-rule"
	// Attestations a trust-policy rule requires (require: ["attestation:TYPE"]).
	IDAttestationMissing      = "attestation-missing"
	IDAttestationUnverified   = "attestation-unverified"
	IDAttestationLookupFailed = "attestation-lookup-failed"
	// Provenance and freshness findings (audit --provenance, --max-age,
	// --updates).
	IDNoProvenance           = "no-provenance"
	IDProvenanceMismatch     = "provenance-mismatch"
	IDProvenanceLookupFailed = "provenance-lookup-failed"
	IDImageTooOld            = "image-too-old"
	IDNewerPatchAvailable    = "newer-patch-available"
	IDNewerMinorAvailable    = "newer-minor-available"
	IDNewerMajorAvailable    = "newer-major-available"
	IDUpdatesLookupFailed    = "updates-lookup-failed"
	// Vulnerability findings (audit --vulnerabilities).
	IDVulnerable                = "vulnerable"
	IDScanOfOtherDigest         = "scan-of-other-digest"
	IDScanTooOld                = "scan-too-old"
	IDNoVulnerabilityData       = "no-vulnerability-data"
	IDVulnerabilityLookupFailed = "vulnerability-lookup-failed"
)

// Finding is one problem with one image usage.
type Finding struct {
	ID       string   `json:"id"`
	Severity Severity `json:"severity"`
	Message  string   `json:"message"`
	Fix      string   `json:"fix"`
}

func newFinding(id, message, fix string) Finding {
	return Finding{ID: id, Severity: catalogue[id].Severity, Message: message, Fix: fix}
}
