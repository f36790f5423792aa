package audit

import (
	"fmt"
	"strings"

	"github.com/imgtrust/kubectl-imgtrust/pkg/imageref"
	"github.com/imgtrust/kubectl-imgtrust/pkg/registry"
	"github.com/imgtrust/kubectl-imgtrust/pkg/signature"
	"github.com/imgtrust/kubectl-imgtrust/pkg/trustpolicy"
)

// Where the digest whose signatures are checked came from.
const (
	DigestFromRunning  = "running"  // status.imageID of the pods
	DigestFromSpec     = "spec"     // the digest written in the spec
	DigestFromRegistry = "registry" // what the tag resolves to now
)

// SignatureDigests returns the digests to check for the item, in order:
// the ones its pods run, else the spec's digest, else the resolved one.
func (it *Item) SignatureDigests() ([]string, string) {
	switch {
	case len(it.RunningDigests) > 0:
		return it.RunningDigests, DigestFromRunning
	case it.parsed && it.ref.Digest != "":
		return []string{it.ref.Digest}, DigestFromSpec
	case it.ResolvedDigest != "":
		return []string{it.ResolvedDigest}, DigestFromRegistry
	}
	return nil, ""
}

// statusRank orders statuses worst first, for an item whose pods run
// several digests.
var statusRank = map[signature.Status]int{
	signature.StatusInvalid: 0, signature.StatusOtherKey: 1, signature.StatusLookupFailed: 2,
	signature.StatusUnsigned: 3, signature.StatusUnverified: 4, signature.StatusVerified: 5,
}

// SignaturePolicy is what was asked of an item's signatures.
type SignaturePolicy struct {
	// Require raises unsigned to high (--require-signature).
	Require bool
	// Rule, Action and Uncovered come from a trust policy (Source, the
	// file): the rule that matched the image and what it asks, or that no
	// rule covers it.
	Rule      string
	Action    trustpolicy.Action
	Uncovered bool
	Source    string
	// NoMatch, with the cluster's ClusterImagePolicies, is what
	// policy-controller does with an image none matches: deny (its
	// default: high) or warn.
	NoMatch string
}

// ApplySignatures records the signature checks of the item's digests (the
// worst one stands for the item) and adds the finding it calls for.
func ApplySignatures(it *Item, results []signature.Result, from string, p SignaturePolicy) {
	if p.Uncovered && p.NoMatch != "" {
		f := newFinding(IDNoTrustRule,
			fmt.Sprintf("no ClusterImagePolicy matches %s, and policy-controller's no-match-policy is %s: it would %s", it.Image, p.NoMatch,
				map[bool]string{true: "reject it", false: "admit it with a warning"}[p.NoMatch == signature.NoMatchDeny]),
			"add a ClusterImagePolicy whose images[].glob matches it, or run an image one matches")
		if p.NoMatch == signature.NoMatchDeny {
			f.Severity = SeverityHigh
		}
		it.add(f)
		return
	}
	if p.Uncovered {
		it.add(newFinding(IDNoTrustRule,
			fmt.Sprintf("no rule of %s covers %s: its signatures were not checked", p.Source, it.Image),
			"add a rule for it to "+p.Source+", or a last rule with images: [\"**\"] that says what to do with the rest"))
		return
	}
	if len(results) == 0 {
		return
	}
	worst := results[0]
	for _, r := range results[1:] {
		if statusRank[r.Status] < statusRank[worst.Status] {
			worst = r
		}
	}
	worst.DigestFrom = from
	if worst.Rule != "" {
		p.Rule = worst.Rule // the ClusterImagePolicy that rejects it, of those that match
	}
	worst.Rule = p.Rule
	it.Signature = &worst
	defer applyRequired(it, results, p) // after the signature's own finding
	d := imageref.ShortDigest(worst.Digest)
	switch worst.Status {
	case signature.StatusUnsigned:
		f := newFinding(IDUnsigned,
			fmt.Sprintf("no cosign or Notation signature of %s (%s digest) was found", d, from),
			it.signFix())
		if p.Require || p.Action == trustpolicy.ActionRequire {
			f.Severity = SeverityHigh
		}
		it.add(f)
	case signature.StatusUnverified:
		if p.Action == trustpolicy.ActionReportUnsigned {
			return // the rule asks only that it be signed
		}
		it.add(newFinding(IDSignatureUnverified,
			fmt.Sprintf("%s is signed (%s), but no key or certificate was given to check it", d, signers(worst)),
			"verify it: pass --verify-key cosign.pub or --trust-cert notation-ca.pem"))
	case signature.StatusOtherKey:
		if p.Rule != "" {
			it.add(newFinding(IDSignedByUnknownKey,
				fmt.Sprintf("%s is signed, but not by an authority %s of %s names (%s)", d, p.Rule, p.Source, signers(worst)),
				"run an image signed by an authority of "+p.Rule+", or add its signer to that rule if you trust it"))
			return
		}
		it.add(newFinding(IDSignedByUnknownKey,
			fmt.Sprintf("%s is signed, but by none of the keys or certificates given (%s)", d, signers(worst)),
			otherKeyFix(worst)))
	case signature.StatusInvalid:
		it.add(newFinding(IDSignatureInvalid,
			fmt.Sprintf("a signature of %s does not hold: %s", d, worst.Error),
			"do not run it: re-sign the image you meant, and find out who changed it"))
	case signature.StatusLookupFailed:
		fix := "check the registry and the pull secret's access to the signature tags and referrers, then run again"
		if budgetCut(worst.Error, worst.ReadsSkipped) {
			fix = budgetFix(worst.ReadsSkipped)
		}
		it.add(newFinding(IDSignatureLookupFailed,
			fmt.Sprintf("the signatures of %s could not be read: %s", d, worst.Error), fix))
	}
}

// budgetCut reports whether a lookup failed (partly) because the image's
// artifact reads were spent (--max-artifact-requests, reason
// request-budget): the registry answered, so retrying or checking access
// would not help.
func budgetCut(err string, skipped int) bool {
	return skipped > 0 || strings.Contains(err, string(registry.ReasonRequestBudget)+":") || strings.Contains(err, "--max-artifact-requests")
}

// budgetFix is the fix of a lookup the request budget cut short.
func budgetFix(skipped int) string {
	n := ""
	if skipped > 0 {
		n = fmt.Sprintf(" (%d reads were not sent)", skipped)
	}
	return "raise --max-artifact-requests so that all of the image's signatures, attestations and provenance can be read" + n +
		", or clean up the image's referrers (old or unrelated artifacts attached to the digest use up its reads), then run again"
}

// signers names who the artifacts say signed, briefly.
func signers(r signature.Result) string {
	var out []string
	seen := map[string]bool{}
	for _, a := range r.Artifacts {
		s := a.Format
		if a.SignedBy != "" {
			s += " by " + a.SignedBy
		}
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return strings.Join(out, "; ")
}

// otherKeyFix names the flag that adds the signer met: a Notation
// signature is trusted through its certificate (--trust-cert), a cosign
// one through its key (--verify-key).
func otherKeyFix(r signature.Result) string {
	var notation, cosign bool
	for _, a := range r.Artifacts {
		if a.Format == signature.FormatNotation {
			notation = true
		} else {
			cosign = true
		}
	}
	switch {
	case notation && !cosign:
		return "run an image signed by a certificate you trust, or add its signer's CA if you trust it (--trust-cert)"
	case notation && cosign:
		return "run an image signed by a key or certificate you trust, or add its signer if you trust it (--verify-key, --trust-cert)"
	}
	return "run an image signed by a key you trust, or add its key if you trust it (--verify-key)"
}

// signFix signs what runs, for whoever trusts it: kubectl imgtrust sign
// signs the digest, never the tag.
func (it *Item) signFix() string {
	target := "-f <file>"
	switch {
	case it.Source != nil:
		target = "-f " + shellQuote(it.Source.File)
	case it.Kind != "" && it.Name != "":
		target = it.object.Label()
	}
	return "if you trust it, sign it: kubectl imgtrust sign " + target + " --key cosign.key (--require verified-upstream signs only what its publisher signed), or notation sign; else run only signed images"
}
