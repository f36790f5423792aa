package audit

import (
	"fmt"

	"github.com/imgtrust/kubectl-imgtrust/pkg/imageref"
	"github.com/imgtrust/kubectl-imgtrust/pkg/signature"
)

// requiredRank orders required-attestation verdicts worst first, for an
// item whose pods run several digests: what is proven wrong comes before
// what could not be read.
var requiredRank = map[signature.RequiredStatus]int{
	signature.RequiredUnverified: 0, signature.RequiredMissing: 1,
	signature.RequiredLookupFailed: 2, signature.RequiredVerified: 3,
}

// applyRequired adds a finding per attestation the item's rule requires
// and its digests lack: the worst verdict of its digests stands for it.
func applyRequired(it *Item, results []signature.Result, p SignaturePolicy) {
	if len(results) == 0 {
		return
	}
	for i := range results[0].Required {
		worst, digest := results[0].Required[i], results[0].Digest
		for _, r := range results[1:] {
			if i < len(r.Required) && requiredRank[r.Required[i].Status] < requiredRank[worst.Status] {
				worst, digest = r.Required[i], r.Digest
			}
		}
		d := imageref.ShortDigest(digest)
		rule := p.Rule + " of " + p.Source
		switch worst.Status {
		case signature.RequiredMissing:
			it.add(newFinding(IDAttestationMissing,
				fmt.Sprintf("no %s attestation is attached to %s, and %s requires one", worst.PredicateType, d, rule),
				fmt.Sprintf("attest %s with an authority of %s (cosign attest --type %s --predicate FILE --key KEY IMAGE@DIGEST), or run an image that has the attestation", d, p.Rule, worst.PredicateType)))
		case signature.RequiredUnverified:
			why := "signed by " + worst.SignedBy
			if worst.Problem != "" {
				why += "; " + worst.Problem
			}
			it.add(newFinding(IDAttestationUnverified,
				fmt.Sprintf("a %s attestation is attached to %s, but no authority of %s verifies it (%s)", worst.PredicateType, d, rule, why),
				"attest "+d+" with an authority of "+p.Rule+", or add the attestation's signer to that rule if you trust it"))
		case signature.RequiredLookupFailed:
			fix := "check the registry and the pull secret's access to the attestation tags and referrers, then run again"
			if budgetCut(worst.Problem, 0) {
				fix = budgetFix(0)
			}
			it.add(newFinding(IDAttestationLookupFailed,
				fmt.Sprintf("whether %s has the %s attestation %s requires is unknown: %s", d, worst.PredicateType, rule, worst.Problem), fix))
		}
	}
}
