package provenance

import (
	"encoding/json"
	"strings"
)

// PredicateChecks is the attestation kubectl imgtrust sign attaches with
// each signature: what was checked before it signed.
const PredicateChecks = "https://imgtrust.dev/attestation/checks/v1"

// IsRead reports whether audit reads attestations of predicateType: SLSA
// provenance and imgtrust's checks.
func IsRead(predicateType string) bool {
	return IsSLSA(predicateType) || predicateType == PredicateChecks
}

// CheckedBy is what a checks attestation of the digest says: the gates
// it passed before imgtrust signed it. Part of the AuditReport contract.
type CheckedBy struct {
	// Checks are the gates' names, in the order they ran; empty when the
	// signer asked for none.
	Checks []string `json:"checks"`
	Time   string   `json:"time,omitempty"`
	Tool   string   `json:"tool,omitempty"`
	// TrustPolicy is the policy file as NAME@sha256:HEX.
	TrustPolicy string `json:"trustPolicy,omitempty"`
	// Verified: a given key verified the attestation; SignedBy names it.
	Verified bool   `json:"verified"`
	SignedBy string `json:"signedBy,omitempty"`
}

// Word is the -o wide cell, one word for scripts: the checks joined by
// commas ("verified-upstream,provenance"), "no-checks" when none was asked
// for, prefixed "unverified:" when no given key verified the attestation.
func (c *CheckedBy) Word() string {
	s := strings.Join(c.Checks, ",")
	if len(c.Checks) == 0 {
		s = "no-checks"
	}
	if !c.Verified {
		s = "unverified:" + s
	}
	return s
}

// checkedBy reads the checks attestations in attested: a verified one
// first, then the newest.
func checkedBy(attested []Attested) *CheckedBy {
	var best *CheckedBy
	for _, a := range attested {
		var st struct {
			PredicateType string `json:"predicateType"`
			Predicate     struct {
				Checks []struct {
					Name string `json:"name"`
				} `json:"checks"`
				TrustPolicy *struct {
					Name   string            `json:"name"`
					Digest map[string]string `json:"digest"`
				} `json:"trustPolicy"`
				Time string `json:"time"`
				Tool struct {
					Name    string `json:"name"`
					Version string `json:"version"`
				} `json:"tool"`
			} `json:"predicate"`
		}
		if json.Unmarshal(a.Statement, &st) != nil || st.PredicateType != PredicateChecks {
			continue
		}
		c := &CheckedBy{Checks: []string{}, Time: st.Predicate.Time, Tool: strings.TrimSpace(st.Predicate.Tool.Name + " " + st.Predicate.Tool.Version), Verified: a.Verified, SignedBy: a.SignedBy}
		for _, ch := range st.Predicate.Checks {
			c.Checks = append(c.Checks, ch.Name)
		}
		if tp := st.Predicate.TrustPolicy; tp != nil && tp.Digest["sha256"] != "" {
			c.TrustPolicy = tp.Name + "@sha256:" + tp.Digest["sha256"]
		}
		if best == nil || c.Verified && !best.Verified || c.Verified == best.Verified && c.Time > best.Time {
			best = c
		}
	}
	return best
}
