package pipeline

import (
	"context"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/imgtrust/kubectl-imgtrust/pkg/provenance"
	"github.com/imgtrust/kubectl-imgtrust/pkg/registry"
	"github.com/imgtrust/kubectl-imgtrust/pkg/sign"
	"github.com/imgtrust/kubectl-imgtrust/pkg/signature"
)

// digestSigner checks and signs digests with one key in one format: what
// sign and pin --mirror-to --sign-key share.
type digestSigner struct {
	key      *sign.Key
	format   SignFormat
	resolver *registry.Resolver
	checker  *signature.Checker
	// policy is the trust-policy file the checks attestation names.
	policy *sign.TrustPolicyRef
}

// newDigestSigner checks the format and loads the key (its password
// checked), so bad input fails before anything is read or written.
func newDigestSigner(ctx context.Context, c Cluster, ref string, pw sign.Password, format SignFormat, resolver *registry.Resolver) (*digestSigner, error) {
	if format == "" {
		format = SignBundle
	}
	if format != SignBundle && format != SignLegacy {
		return nil, fmt.Errorf("--signature-format %q is not supported: use bundle or legacy", format)
	}
	key, err := LoadSignKey(ctx, c, ref, pw)
	if err != nil {
		return nil, err
	}
	checker, err := ownChecker(key)
	if err != nil {
		return nil, err
	}
	return &digestSigner{key: key, format: format, resolver: resolver, checker: checker}, nil
}

// ownChecker checks signatures of our key. Cosign's SLSA attestations
// are found with it, for the provenance gate (as audit --provenance
// finds them), and our checks attestation, written once per digest.
func ownChecker(key *sign.Key) (*signature.Checker, error) {
	return signature.New(signature.Options{Keys: []signature.Key{key.Public}, Attestations: func(pt string) bool {
		return provenance.IsSLSA(pt) || pt == sign.PredicateChecks
	}})
}

// signDigest reads d (image is what the workload or manifest names it)
// with the first of creds the registry accepts, asks
// pkg/signature whether our key signed it already, runs the gates in
// order (the first failing one refuses), and else signs it.
// pre are checks passed before (pin's verification of the copy's source),
// recorded in the checks attestation with the gates'.
func (g *digestSigner) signDigest(ctx context.Context, d name.Digest, image string, creds []registry.Credential, gates []signGate, pre ...SignCheck) (SignStatus, string) {
	req := registry.Request{Image: d.Name(), Credentials: creds, CheckAccess: true}
	res := g.resolver.Resolve(ctx, req)
	if res.Err != nil {
		return SignFailed, fmt.Sprintf("cannot read %s (%s): nothing signed", d.Name(), OneLine(res.Err.Error()))
	}
	cred := registry.AcceptedCredential(req, res)
	check := g.checker.Check(ctx, g.resolver.Artifacts(cred), d.Context(), d.DigestStr())
	if signedBy(check, g.signatureFormat()) {
		return SignAlreadySigned, fmt.Sprintf("by %s, %s format", g.key.Source, g.format)
	}
	if check.Status == signature.StatusLookupFailed {
		return SignFailed, fmt.Sprintf("cannot tell whether %s already signed it (%s): nothing signed; fix the registry access and run again", g.key.Source, OneLine(check.Error))
	}
	in := &gateInput{d: d, image: image, cred: cred}
	for _, a := range check.Attestations {
		in.attested = append(in.attested, provenance.Attested{Statement: a.Statement, Verified: a.Verified, SignedBy: a.SignedBy})
	}
	checks, failed, gate := runGates(ctx, gates, in)
	if failed != nil {
		return failed.status, gateFlag(gate) + ": " + failed.msg
	}
	return g.write(ctx, d, append(pre, checks...), g.attested(check))
}

// gateFlag is how the user asked for a gate.
func gateFlag(gate string) string {
	switch gate {
	case GateMaxAge:
		return "--max-age"
	case GateMaxSeverity:
		return "--max-severity"
	}
	return "--require " + gate
}

// attested reports whether our key's checks attestation of g's format
// family is there already (a run whose signature write failed after it):
// it is not written twice.
func (g *digestSigner) attested(res signature.Result) bool {
	want := signature.FormatCosignBundle
	if g.format == SignLegacy {
		want = signature.FormatCosignAtt
	}
	for _, a := range res.Attestations {
		if a.Verified && a.PredicateType == sign.PredicateChecks && a.Format == want {
			return true
		}
	}
	return false
}

// signatureFormat is the pkg/signature format of what g writes.
func (g *digestSigner) signatureFormat() string {
	if g.format == SignLegacy {
		return signature.FormatCosignSig
	}
	return signature.FormatCosignBundle
}

// signedBy reports whether our key (the checker's only one) verified a
// signature of format: a legacy .sig does not stand in for a bundle, which
// verifiers reading only bundles would not find.
func signedBy(res signature.Result, format string) bool {
	for _, a := range res.Artifacts {
		if a.Verified && a.Format == format {
			return true
		}
	}
	return false
}
