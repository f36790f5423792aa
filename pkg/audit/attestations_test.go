package audit

import (
	"strings"
	"testing"

	"github.com/imgtrust/kubectl-imgtrust/pkg/signature"
	"github.com/imgtrust/kubectl-imgtrust/pkg/trustpolicy"
)

// Each attestation a rule requires is its own finding: missing only when
// proven, present-but-unverified said as such, a failed lookup never
// "missing"; with several digests the worst verdict stands.
func TestApplyRequiredAttestations(t *testing.T) {
	const slsa, spdx = "https://slsa.dev/provenance/v1", "https://spdx.dev/Document"
	policy := SignaturePolicy{Rule: "rules[0] (registry.acme.example/**)", Action: trustpolicy.ActionVerify, Source: "trust.yaml"}
	req := func(pt string, s signature.RequiredStatus, by, problem string) signature.Required {
		return signature.Required{PredicateType: pt, Status: s, SignedBy: by, Problem: problem}
	}
	tests := []struct {
		name    string
		results []signature.Result
		want    []string // ID/severity, then words the message holds
	}{
		{"verified", []signature.Result{{Status: signature.StatusVerified, Digest: digestA,
			Required: []signature.Required{req(slsa, signature.RequiredVerified, "SHA256:k", "")}}}, nil},
		{"missing", []signature.Result{{Status: signature.StatusVerified, Digest: digestA,
			Required: []signature.Required{req(slsa, signature.RequiredMissing, "", "")}}},
			[]string{"attestation-missing/high|no " + slsa + " attestation is attached to sha256:aaaaaaaaaaaa, and rules[0] (registry.acme.example/**) of trust.yaml requires one"}},
		{"unverified", []signature.Result{{Status: signature.StatusVerified, Digest: digestA,
			Required: []signature.Required{req(slsa, signature.RequiredUnverified, "a key not given", "")}}},
			[]string{"attestation-unverified/high|a " + slsa + " attestation is attached to sha256:aaaaaaaaaaaa, but no authority of rules[0] (registry.acme.example/**) of trust.yaml verifies it (signed by a key not given)"}},
		{"lookup failed", []signature.Result{{Status: signature.StatusLookupFailed, Digest: digestA, Error: "403 Forbidden",
			Required: []signature.Required{req(slsa, signature.RequiredLookupFailed, "", "403 Forbidden")}}},
			[]string{"signature-lookup-failed/medium|", "attestation-lookup-failed/medium|is unknown: 403 Forbidden"}},
		{"two types", []signature.Result{{Status: signature.StatusVerified, Digest: digestA,
			Required: []signature.Required{req(slsa, signature.RequiredVerified, "k", ""), req(spdx, signature.RequiredMissing, "", "")}}},
			[]string{"attestation-missing/high|no " + spdx + " attestation"}},
		{"worst of two digests", []signature.Result{
			{Status: signature.StatusVerified, Digest: digestA, Required: []signature.Required{req(slsa, signature.RequiredVerified, "k", "")}},
			{Status: signature.StatusVerified, Digest: digestB, Required: []signature.Required{req(slsa, signature.RequiredMissing, "", "")}}},
			[]string{"attestation-missing/high|attached to sha256:bbbbbbbbbbbb"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			it := oneItem(t, "registry.acme.example/web@"+digestA, "", nil, Options{})
			it.Findings = nil
			ApplySignatures(&it, tt.results, DigestFromRunning, policy)
			if len(it.Findings) != len(tt.want) {
				t.Fatalf("findings %+v, want %q", it.Findings, tt.want)
			}
			for i, w := range tt.want {
				id, text, _ := strings.Cut(w, "|")
				f := it.Findings[i]
				if f.ID+"/"+string(f.Severity) != id || !strings.Contains(f.Message, text) {
					t.Errorf("finding %d = %s/%s %q, want %s with %q", i, f.ID, f.Severity, f.Message, id, text)
				}
			}
		})
	}
}

// With the cluster's ClusterImagePolicies, an image none matches is what
// policy-controller's no-match-policy makes of it: deny rejects (high),
// warn admits with a warning (low).
func TestApplySignaturesNoMatchingClusterPolicy(t *testing.T) {
	for noMatch, want := range map[string]struct {
		sev  Severity
		text string
	}{
		signature.NoMatchDeny: {SeverityHigh, "no-match-policy is deny: it would reject it"},
		signature.NoMatchWarn: {SeverityLow, "no-match-policy is warn: it would admit it with a warning"},
	} {
		it := oneItem(t, "registry.acme.example/web@"+digestA, "", nil, Options{})
		it.Findings = nil
		ApplySignatures(&it, nil, DigestFromSpec, SignaturePolicy{Uncovered: true, NoMatch: noMatch, Source: signature.ClusterSource})
		if len(it.Findings) != 1 || it.Findings[0].ID != IDNoTrustRule || it.Findings[0].Severity != want.sev || !strings.Contains(it.Findings[0].Message, want.text) {
			t.Errorf("%s: %+v, want no-trust-rule/%s with %q", noMatch, it.Findings, want.sev, want.text)
		}
	}
}
