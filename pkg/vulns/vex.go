package vulns

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
)

// PredicateOpenVEX is the predicate type `cosign attest --type openvex`
// writes (cosign's attestation.OpenVexNamespace): the predicate is the
// OpenVEX document.
const PredicateOpenVEX = "https://openvex.dev/ns"

// IsOpenVEX reports whether an attestation is an OpenVEX document.
func IsOpenVEX(predicateType string) bool { return predicateType == PredicateOpenVEX }

// VEX says which OpenVEX attestations of the running digest were found and
// what they took out of the counts. Its JSON is part of the AuditReport
// contract.
type VEX struct {
	// Source names the attestations: "cosign openvex attestation DIGEST",
	// comma-separated when several verified ones were applied.
	Source string `json:"source"`
	// Verified: an authority the user trusts verified it; only then is it
	// applied. An unverified one is reported and never applied.
	Verified bool   `json:"verified"`
	SignedBy string `json:"signedBy,omitempty"`
	// Excluded are the vulnerability IDs of the scan that a verified
	// statement marks not_affected or fixed: they are not counted.
	Excluded []string `json:"excluded,omitempty"`
}

// Vuln is one vulnerability a scan lists.
type Vuln struct {
	ID       string
	Severity string
}

// vexStatement is what one OpenVEX statement says of this image.
type vexStatement struct {
	ids    []string // the vulnerability's name and aliases, upper case
	status string
	at     time.Time
}

// vexDoc holds what we read of an OpenVEX document (v0.2.0, and the
// v0.0.x spellings: a vulnerability as a string, products as strings).
type vexDoc struct {
	Context     string `json:"@context"`
	Timestamp   string `json:"timestamp"`
	LastUpdated string `json:"last_updated"`
	Statements  []struct {
		Vulnerability json.RawMessage   `json:"vulnerability"`
		Products      []json.RawMessage `json:"products"`
		Status        string            `json:"status"`
		Timestamp     string            `json:"timestamp"`
		LastUpdated   string            `json:"last_updated"`
	} `json:"statements"`
}

// vexStatus are OpenVEX's statuses; not_affected and fixed exclude.
var vexStatus = map[string]bool{"not_affected": true, "affected": true, "fixed": true, "under_investigation": true}

// parseVEX reads the statements of an OpenVEX attestation of digest that
// concern it: those naming no product (the attestation's subject is the
// product) or a product that names the digest. A document that does not
// parse is an error naming why; the caller skips it.
func parseVEX(a Attested, digest string) ([]vexStatement, error) {
	if a.Problem != "" {
		return nil, fmt.Errorf("the attestation does not hold: %s", a.Problem)
	}
	var st struct {
		PredicateType string          `json:"predicateType"`
		Predicate     json.RawMessage `json:"predicate"`
	}
	if err := json.Unmarshal(a.Statement, &st); err != nil {
		return nil, fmt.Errorf("the attestation's statement does not parse")
	}
	if st.PredicateType != PredicateOpenVEX {
		return nil, fmt.Errorf("the attestation's predicate type is %q, not %s", st.PredicateType, PredicateOpenVEX)
	}
	var doc vexDoc
	if err := json.Unmarshal(st.Predicate, &doc); err != nil {
		return nil, fmt.Errorf("the predicate is not an OpenVEX document")
	}
	if !strings.HasPrefix(doc.Context, PredicateOpenVEX) {
		return nil, fmt.Errorf("the predicate's @context is %q, not an OpenVEX one (%s/v…)", doc.Context, PredicateOpenVEX)
	}
	docTime := firstTime(doc.LastUpdated, doc.Timestamp)
	hex := strings.TrimPrefix(digest, "sha256:")
	var out []vexStatement
	for i, s := range doc.Statements {
		ids, err := vexIDs(s.Vulnerability)
		if err != nil {
			return nil, fmt.Errorf("statements[%d].vulnerability: %v", i, err)
		}
		if !vexStatus[s.Status] {
			return nil, fmt.Errorf("statements[%d].status %q is not an OpenVEX status", i, s.Status)
		}
		if len(s.Products) > 0 && !slices.ContainsFunc(s.Products, func(p json.RawMessage) bool { return productNames(p, hex) }) {
			continue // about another product
		}
		at := firstTime(s.LastUpdated, s.Timestamp)
		if at.IsZero() {
			at = docTime
		}
		out = append(out, vexStatement{ids: ids, status: s.Status, at: at})
	}
	return out, nil
}

// vexIDs reads a statement's vulnerability: "CVE-…" (v0.0.x) or
// {"name": "CVE-…", "aliases": [...]} (v0.2.0).
func vexIDs(raw json.RawMessage) ([]string, error) {
	var name string
	if json.Unmarshal(raw, &name) == nil {
		if name == "" {
			return nil, fmt.Errorf("empty")
		}
		return []string{strings.ToUpper(name)}, nil
	}
	var v struct {
		Name    string   `json:"name"`
		ID      string   `json:"@id"`
		Aliases []string `json:"aliases"`
	}
	if err := json.Unmarshal(raw, &v); err != nil || v.Name == "" {
		return nil, fmt.Errorf("names no vulnerability")
	}
	ids := []string{strings.ToUpper(v.Name)}
	for _, a := range v.Aliases {
		ids = append(ids, strings.ToUpper(a))
	}
	return ids, nil
}

// productNames reports whether a product names the image of hex: its @id
// (a purl pkg:oci/NAME@sha256%3AHEX, or REPO@sha256:HEX), an identifier,
// or a sha-256 hash.
func productNames(raw json.RawMessage, hex string) bool {
	names := func(s string) bool {
		return hex != "" && (strings.Contains(strings.ToLower(s), "sha256:"+hex) || strings.Contains(strings.ToLower(s), "sha256%3a"+hex) || strings.EqualFold(s, hex))
	}
	var id string
	if json.Unmarshal(raw, &id) == nil {
		return names(id)
	}
	var p struct {
		ID          string            `json:"@id"`
		Identifiers map[string]string `json:"identifiers"`
		Hashes      map[string]string `json:"hashes"`
	}
	if json.Unmarshal(raw, &p) != nil {
		return false
	}
	if names(p.ID) {
		return true
	}
	for _, v := range p.Identifiers {
		if names(v) {
			return true
		}
	}
	for k, v := range p.Hashes {
		if (k == "sha-256" || k == "sha256") && strings.EqualFold(v, hex) {
			return true
		}
	}
	return false
}

func firstTime(values ...string) time.Time {
	for _, v := range values {
		if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
			return t
		}
	}
	return time.Time{}
}

// VEXDoc is an OpenVEX attestation of the running digest as the signature
// lookup found it.
type VEXDoc = Attested

// ApplyVEX takes out of r's counts the vulnerabilities that a verified
// OpenVEX statement about the running digest marks not_affected or fixed
// (the newest statement of a vulnerability decides), matched by ID (or an
// alias) against the scan's list. Unverified documents are reported in
// r.VEX and never applied; malformed ones are skipped, named in r.Note.
func ApplyVEX(r Result, digest string, docs []VEXDoc) Result {
	if len(docs) == 0 {
		return r
	}
	type dated struct {
		status string
		at     time.Time
	}
	latest := map[string]dated{}
	var applied, signers []string
	var unverified *VEXDoc
	var skipped []string
	for i, d := range docs {
		stmts, err := parseVEX(d, digest)
		if err != nil {
			skipped = append(skipped, "the OpenVEX attestation "+d.Digest+" was skipped: "+err.Error())
			continue
		}
		if !d.Verified {
			if unverified == nil {
				unverified = &docs[i]
			}
			continue
		}
		applied = append(applied, "cosign openvex attestation "+d.Digest)
		if !slices.Contains(signers, d.SignedBy) {
			signers = append(signers, d.SignedBy)
		}
		for _, s := range stmts {
			for _, id := range s.ids {
				if cur, ok := latest[id]; !ok || !s.at.Before(cur.at) {
					latest[id] = dated{s.status, s.at}
				}
			}
		}
	}
	if len(skipped) > 0 {
		r.Note = strings.TrimPrefix(r.Note+"; ", "; ") + strings.Join(skipped, "; ")
	}
	switch {
	case len(applied) > 0:
		r.VEX = &VEX{Source: strings.Join(applied, ", "), Verified: true, SignedBy: strings.Join(signers, ", ")}
	case unverified != nil:
		r.VEX = &VEX{Source: "cosign openvex attestation " + unverified.Digest, SignedBy: unverified.SignedBy}
		return r
	default:
		return r
	}
	if r.Counts == nil {
		return r // nothing counted to take from
	}
	c := *r.Counts
	for _, v := range r.vulns {
		s, ok := latest[strings.ToUpper(v.ID)]
		if !ok || s.status != "not_affected" && s.status != "fixed" {
			continue
		}
		p := severityCount(&c, v.Severity)
		if *p > 0 {
			*p--
		}
		if !slices.Contains(r.VEX.Excluded, v.ID) {
			r.VEX.Excluded = append(r.VEX.Excluded, v.ID)
		}
	}
	slices.Sort(r.VEX.Excluded)
	r.Counts = &c
	return r
}

// severityCount is the count of a severity as scanners spell it.
func severityCount(c *Counts, severity string) *int {
	switch strings.ToUpper(severity) {
	case "CRITICAL":
		return &c.Critical
	case "HIGH":
		return &c.High
	case "MEDIUM":
		return &c.Medium
	case "LOW":
		return &c.Low
	}
	return &c.Unknown
}
