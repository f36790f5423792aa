package trustpolicy

import (
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// Requirement entries of a rule's require list.
const (
	RequireSignature         = "signature"
	RequireAttestationPrefix = "attestation:"
)

// PredicateTypes are cosign's short names of predicate types (cosign
// attest --type, and policy-controller's attestations[].predicateType),
// each the URI it stands for.
var PredicateTypes = map[string]string{
	"custom":           "https://cosign.sigstore.dev/attestation/v1",
	"slsaprovenance":   "https://slsa.dev/provenance/v0.2",
	"slsaprovenance02": "https://slsa.dev/provenance/v0.2",
	"slsaprovenance1":  "https://slsa.dev/provenance/v1",
	"spdx":             "https://spdx.dev/Document",
	"spdxjson":         "https://spdx.dev/Document",
	"cyclonedx":        "https://cyclonedx.org/bom",
	"link":             "https://in-toto.io/Link/v1",
	"vuln":             "https://cosign.sigstore.dev/attestation/vuln/v1",
	"openvex":          "https://openvex.dev/ns",
}

// PredicateType is the URI of a predicate type written as a URI or as
// one of cosign's short names; ok is false for anything else.
func PredicateType(s string) (string, bool) {
	if uri, ok := PredicateTypes[s]; ok {
		return uri, true
	}
	u, err := url.ParseRequestURI(s)
	if err != nil || u.Scheme == "" || u.Host == "" || strings.ContainsAny(s, " \t") {
		return "", false
	}
	return s, true
}

// requirements reads a rule's require list into r (after its action):
// "signature" makes the action require; "attestation:TYPE" adds TYPE to
// r.Attestations.
func requirements(path string, v any, r *Rule) error {
	path += ".require"
	list, err := stringList(path, v)
	if err != nil {
		return err
	}
	for j, e := range list {
		epath := path + "[" + strconv.Itoa(j) + "]"
		switch {
		case e == RequireSignature:
			switch r.Action {
			case ActionVerify:
				r.Action = ActionRequire
			case ActionReportUnsigned, ActionIgnore:
				return fail(epath, "a signature by the rule's authorities is required, and action "+string(r.Action)+" checks none",
					"drop the action (require: [signature] is action: require), or drop signature here")
			}
		case strings.HasPrefix(e, RequireAttestationPrefix):
			raw := strings.TrimSpace(strings.TrimPrefix(e, RequireAttestationPrefix))
			pt, ok := PredicateType(raw)
			if !ok {
				what := quote(raw) + " is not a predicate type"
				if raw == "" {
					what = "no predicate type"
				}
				return fail(epath, what,
					`write "attestation:" and the predicate type's URI (e.g. "attestation:https://slsa.dev/provenance/v1") or a cosign --type name (slsaprovenance1, spdxjson, cyclonedx, vuln, …)`)
			}
			if r.Action != ActionVerify && r.Action != ActionRequire {
				return fail(epath, "an attestation is verified by the rule's authorities, and action "+string(r.Action)+" checks none",
					"drop the action, and name the keys or keyless identities that sign the attestation")
			}
			if len(r.Keys)+len(r.Keyless) == 0 {
				return fail(epath, "an attestation is verified by the rule's keys or keyless identities, and the rule names none (Notation does not sign attestations)",
					"add the keys or keyless identities that sign the attestation to this rule")
			}
			if !slices.Contains(r.Attestations, pt) {
				r.Attestations = append(r.Attestations, pt)
			}
		default:
			fix := `write "signature" or "attestation:PREDICATE_TYPE" (e.g. "attestation:https://slsa.dev/provenance/v1")`
			if s := suggest(e, []string{RequireSignature}); s != "" {
				fix = "did you mean " + s + "? " + fix
			}
			return fail(epath, quote(e)+" is not a requirement", fix)
		}
	}
	return nil
}
