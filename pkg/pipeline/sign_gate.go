package pipeline

import (
	"context"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/imgtrust/kubectl-imgtrust/pkg/registry"
	"github.com/imgtrust/kubectl-imgtrust/pkg/signature"
	"github.com/imgtrust/kubectl-imgtrust/pkg/trustpolicy"
)

// upstreamGate is the verified-upstream gate: d is signed by us only when
// an authority (--verify-key, --trust-cert, keyless, or the trust policy's
// rule for d's repository) verified a signature of d. It returns the
// status and message of a digest that fails it, or ok.
func (s *signRun) upstreamGate(ctx context.Context, d name.Digest, cred registry.Credential) (SignStatus, string, bool) {
	a := s.cfg.Authorities
	if a == nil {
		return "", "", true
	}
	choice := a.For(d.Context())
	switch {
	case choice.Uncovered:
		return SignRefused, fmt.Sprintf("no rule of %s covers %s, so its upstream signature cannot be checked: not signed; add a rule for it", a.PolicySource(), d.Context().Name()), false
	case choice.Checker == nil || choice.Action == trustpolicy.ActionReportUnsigned:
		return "", "", true // the rule asks for no authority
	}
	res := choice.Checker.Check(ctx, s.signer.resolver.Artifacts(cred), d.Context(), d.DigestStr())
	switch res.Status {
	case signature.StatusVerified:
		return "", "", true
	case signature.StatusLookupFailed:
		return SignFailed, fmt.Sprintf("cannot check its upstream signature (%s): not signed; fix the registry access and run again", OneLine(res.Error)), false
	}
	by := "a --verify-key, --trust-cert or keyless identity"
	if choice.Rule != "" {
		by = "an authority of " + choice.Rule + " in " + a.PolicySource()
	}
	why := string(res.Status)
	if res.Error != "" {
		why += ": " + OneLine(res.Error)
	}
	return SignRefused, fmt.Sprintf("the upstream signature is not verified by %s (%s): not signed; sign only what its publisher signed, or change the authorities", by, why), false
}
