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
	// Cosign's SLSA attestations are found with our check, for the
	// provenance gate, as audit --provenance finds them.
	checker, err := signature.New(signature.Options{Keys: []signature.Key{key.Public}, Attestations: provenance.IsSLSA})
	if err != nil {
		return nil, err
	}
	return &digestSigner{key: key, format: format, resolver: resolver, checker: checker}, nil
}

// signDigest reads d with the first of creds the registry accepts, asks
// pkg/signature whether our key signed it already, runs the gates in
// order (the first failing one refuses), and else signs it.
func (g *digestSigner) signDigest(ctx context.Context, d name.Digest, creds []registry.Credential, gates []signGate) (SignStatus, string) {
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
	in := &gateInput{d: d, cred: cred}
	for _, a := range check.Attestations {
		in.attested = append(in.attested, provenance.Attested{Statement: a.Statement, Verified: a.Verified, SignedBy: a.SignedBy})
	}
	if _, failed, gate := runGates(ctx, gates, in); failed != nil {
		return failed.status, gateFlag(gate) + ": " + failed.msg
	}
	return g.write(ctx, d)
}

// gateFlag is how the user asked for a gate.
func gateFlag(gate string) string {
	if gate == GateMaxAge {
		return "--max-age"
	}
	return "--require " + gate
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
