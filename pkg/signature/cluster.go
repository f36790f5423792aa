package signature

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/sigstore/sigstore-go/pkg/root"

	"github.com/imgtrust/kubectl-imgtrust/pkg/registry"
	"github.com/imgtrust/kubectl-imgtrust/pkg/trustpolicy"
)

// policy-controller's no-match-policy: what it does with an image no
// ClusterImagePolicy matches.
const (
	NoMatchDeny  = "deny" // its default
	NoMatchWarn  = "warn"
	NoMatchAllow = "allow"
)

// ClusterSource names the cluster's ClusterImagePolicies in messages.
const ClusterSource = "the cluster's ClusterImagePolicies"

// clusterPolicy is one ClusterImagePolicy with a checker per authority.
type clusterPolicy struct {
	policy  trustpolicy.ClusterPolicy
	checker *Checker // anyOf its authorities
}

// FromCluster builds the authorities of the cluster's ClusterImagePolicies
// (keys already read: ClusterKey.PEM), keyless ones verified against
// trusted. noMatch is policy-controller's no-match-policy.
func FromCluster(ps []trustpolicy.ClusterPolicy, trusted root.TrustedMaterial, attestations func(string) bool, noMatch string) (*Authorities, error) {
	a := &Authorities{noMatch: noMatch, combined: map[string]*Checker{}}
	for _, p := range ps {
		cp := clusterPolicy{policy: p, checker: &Checker{rule: p.Rule()}}
		for _, auth := range p.Authorities {
			var keys []Key
			for _, k := range auth.Keys {
				key, err := LoadKeyPEM(p.Rule()+" "+k.Field, k.PEM)
				if err != nil {
					return nil, fmt.Errorf("%s: spec.%s: %w", p.Rule(), k.Field, err)
				}
				keys = append(keys, key)
			}
			var keyless *Keyless
			if len(auth.Keyless) > 0 {
				if trusted == nil {
					return nil, fmt.Errorf("%s: authority %s is keyless: pass --trusted-root FILE (a trusted_root.json), or fill the Sigstore TUF cache (cosign initialize)", p.Rule(), auth.Name)
				}
				keyless = &Keyless{Material: trusted, Identities: auth.Keyless, IgnoreSCT: auth.IgnoreSCT}
			}
			c, err := New(Options{Keys: keys, Keyless: keyless, Attestations: attestations, Require: auth.Attestations})
			if err != nil {
				return nil, fmt.Errorf("%s: authority %s: %w", p.Rule(), auth.Name, err)
			}
			cp.checker.anyOf = append(cp.checker.anyOf, c)
		}
		a.cluster = append(a.cluster, cp)
	}
	return a, nil
}

// forImage is the choice of the cluster's policies for image: every
// policy whose globs match must pass; none matching is what
// policy-controller's no-match-policy says.
func (a *Authorities) forImage(image string) Choice {
	var matched []*Checker
	var rules []string
	for _, p := range a.cluster {
		if p.policy.Matches(image) {
			matched = append(matched, p.checker)
			rules = append(rules, p.checker.rule)
		}
	}
	switch {
	case len(matched) == 0 && a.noMatch == NoMatchAllow:
		return Choice{} // admitted unchecked
	case len(matched) == 0:
		return Choice{Uncovered: true, NoMatch: a.noMatch}
	case len(matched) == 1:
		return Choice{Checker: matched[0], Rule: rules[0], Action: trustpolicy.ActionRequire}
	}
	rule := strings.Join(rules, ",") // no space: the TRUST RULE column shows it whole
	a.mu.Lock()
	defer a.mu.Unlock()
	c, ok := a.combined[rule]
	if !ok {
		c = &Checker{rule: rule, allOf: matched}
		a.combined[rule] = c
	}
	return Choice{Checker: c, Rule: rule, Action: trustpolicy.ActionRequire}
}

// checkCombined is Check of a policy (anyOf its authorities) or of the
// policies matching one image (allOf them); ok says whether it passes.
func (c *Checker) checkCombined(ctx context.Context, arts *registry.Artifacts, repo name.Repository, digest string) (Result, bool) {
	if len(c.allOf) > 0 {
		var results []Result
		var failed *Result
		complete := true
		for _, p := range c.allOf {
			r, ok := p.checkCombined(ctx, arts, repo, digest)
			complete = complete && r.Complete
			switch {
			case ok:
				results = append(results, r)
			case failed == nil || failed.Status == StatusLookupFailed && r.Status != StatusLookupFailed:
				// The policy that rejects names itself; one that proves it
				// rejects goes before one that could not tell.
				failed = &r
			}
		}
		if failed != nil {
			failed.Complete = complete
			return *failed, false
		}
		res := results[0]
		for _, r := range results[1:] {
			for _, s := range r.VerifiedBy {
				if !slices.Contains(res.VerifiedBy, s) {
					res.VerifiedBy = append(res.VerifiedBy, s)
				}
			}
			res.Required = append(res.Required, r.Required...)
		}
		res.Rule, res.Complete = c.rule, complete
		return res, true
	}
	var best *Result
	bestRank := -1
	complete := true
	for _, auth := range c.anyOf {
		r := auth.Check(ctx, arts, repo, digest)
		r.Rule = c.rule
		complete = complete && r.Complete
		if len(auth.opts.Require) == 0 {
			if r.Status == StatusVerified {
				return r, true
			}
		} else if passed := attested(r); passed != nil {
			// An authority with attestations is met by them alone, as in
			// policy-controller: its verified attestations vouch.
			r.Status, r.Error, r.VerifiedBy = StatusVerified, "", passed
			return r, true
		}
		if rk := failingRank(r); rk > bestRank {
			best, bestRank = &r, rk
		}
	}
	best.Complete = complete
	return *best, false
}

// attested is who signed the required attestations of r, nil unless
// every one verified.
func attested(r Result) []Signer {
	var by []Signer
	for _, q := range r.Required {
		if q.Status != RequiredVerified {
			return nil
		}
		by = append(by, Signer{Kind: "attestation", Subject: q.PredicateType, KeyID: q.SignedBy})
	}
	return by
}

// failingRank orders the results of authorities none of which passed, the
// one to report highest: a verified signature whose attestations fail
// says most, then a lookup that could not say (one authority might have
// passed), then what is proven wrong.
func failingRank(r Result) int {
	return map[Status]int{StatusVerified: 6, StatusLookupFailed: 5, StatusInvalid: 4, StatusOtherKey: 3,
		StatusUnsigned: 2, StatusUnverified: 1}[r.Status]
}
