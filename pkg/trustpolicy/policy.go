// Package trustpolicy reads a TrustPolicy file: which authorities must
// sign which images. Rules are tried in order and the first whose image
// patterns match an image's normalised name decides; the authorities of a
// rule are keys (cosign public keys), Notation certificates and keyless
// identities (issuer and subject, exact or by regular expression).
//
// It parses and matches; verifying signatures is pkg/signature's job.
package trustpolicy

import "strconv"

// APIVersion and Kind of a policy file.
const (
	APIVersion = "imgtrust.dev/v1alpha1"
	Kind       = "TrustPolicy"
)

// Action is what a rule asks of the images it matches.
type Action string

const (
	// ActionVerify (the default, written "" or "verify"): signed by one of
	// the rule's authorities, or a finding.
	ActionVerify Action = "verify"
	// ActionRequire is ActionVerify with unsigned as a high finding.
	ActionRequire Action = "require"
	// ActionReportUnsigned needs no authority: any signature will do, and
	// an unsigned image is reported.
	ActionReportUnsigned Action = "report-unsigned"
	// ActionIgnore: no signature check at all.
	ActionIgnore Action = "ignore"
)

// Policy is a parsed TrustPolicy.
type Policy struct {
	// Source is the file it was read from, for messages.
	Source string
	Rules  []Rule

	// compiled[i] is what Parse worked out of Rules[i] (parse.go); a
	// Policy built by hand has none and Match normalises as it goes.
	compiled []compiledRule
}

// Rule is one entry of rules[].
type Rule struct {
	// Index is the rule's position in the file, from 0 (messages say
	// "rules[2]").
	Index int
	// Images are glob patterns on normalised names (registry/repository,
	// Docker Hub as docker.io/library/...): "*" and "?" stay within a path
	// segment, "**" crosses them.
	Images []string
	// Keys are cosign public key files (PEM), relative paths resolved
	// against the policy file's directory, or k8s://NAMESPACE/NAME
	// references to a Secret's cosign.pub (K8sKey), kept as written and
	// read from the cluster when verifying.
	Keys []string
	// Notation are certificate files (PEM) of Notation roots or signing
	// authorities, resolved as Keys are.
	Notation []string
	// Keyless are the identities a keyless (Fulcio) certificate may have.
	Keyless []Identity
	// IgnoreTlog and IgnoreSCT relax the keyless checks for a private PKI
	// (a CA chain without Rekor or a CT log): no transparency-log entry
	// (the certificate is checked at the current time), no signed
	// certificate timestamp. Said per rule, never silently.
	IgnoreTlog, IgnoreSCT bool
	Action                Action
	// Attestations are the predicate types (URIs) of the in-toto
	// attestations each image must have attached to its digest, verified
	// by the rule's keys or keyless identities: require:
	// ["attestation:TYPE"]. require: [signature] is Action require.
	Attestations []string
}

// Identity is a keyless signer: the OIDC issuer and the certificate's
// subject (SAN), each exact or by regular expression (one of each pair).
type Identity struct {
	Issuer        string `json:"issuer,omitempty"`
	IssuerRegExp  string `json:"issuerRegExp,omitempty"`
	Subject       string `json:"subject,omitempty"`
	SubjectRegExp string `json:"subjectRegExp,omitempty"`
}

// Name is how messages name a rule: "rules[2] (registry.acme.example/**)".
func (r Rule) Name() string {
	name := "rules[" + strconv.Itoa(r.Index) + "]"
	if len(r.Images) > 0 {
		name += " (" + r.Images[0]
		if len(r.Images) > 1 {
			name += ", …"
		}
		name += ")"
	}
	return name
}
