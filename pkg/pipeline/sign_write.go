package pipeline

import (
	"context"
	"fmt"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"

	"github.com/imgtrust/kubectl-imgtrust/pkg/mirror"
	"github.com/imgtrust/kubectl-imgtrust/pkg/registry"
	"github.com/imgtrust/kubectl-imgtrust/pkg/sign"
	"github.com/imgtrust/kubectl-imgtrust/pkg/version"
)

// write signs d and writes, with the user's docker config credential for
// d's registry, the checks attestation (unless attested already) and
// then the signature: a failure after the attestation leaves a digest
// unsigned, which the next run signs without a second attestation.
func (g *digestSigner) write(ctx context.Context, d name.Digest, checks []SignCheck, attested bool) (SignStatus, string) {
	auth, from := mirror.PushAuth(d.Context())
	now := time.Now()
	var wrote string
	if !attested {
		if status, msg := g.writeChecks(ctx, d, checks, now, auth, from); status != "" {
			return status, msg
		}
		wrote = " (the checks attestation was written; run again to sign)"
	}
	if g.format == SignLegacy {
		return g.writeLegacy(ctx, d, auth, from, wrote)
	}
	b, err := sign.Bundle(g.key, d)
	if err != nil {
		return SignFailed, "signing failed: " + OneLine(err.Error())
	}
	if e := sign.WriteBundle(ctx, g.resolver, auth, d, b, sign.PredicateCosignSign, now); e != nil {
		return SignFailed, writeFailure(e, d.Context(), "a referrer of "+d.Name(), from) + wrote
	}
	return SignSigned, "a sigstore bundle attached as a referrer, with the checks attestation"
}

// writeChecks writes the attestation of checks in g's format family: a
// DSSE bundle referrer, or a layer of the legacy .att tag. A status is
// returned only when it failed.
func (g *digestSigner) writeChecks(ctx context.Context, d name.Digest, checks []SignCheck, now time.Time, auth authn.Authenticator, from string) (SignStatus, string) {
	pred := sign.Checks{Checks: []sign.Check{}, TrustPolicy: g.policy, Time: now.UTC().Truncate(time.Second),
		Tool: sign.Tool{Name: "kubectl-imgtrust", Version: version.Get().Version}}
	for _, c := range checks {
		pred.Checks = append(pred.Checks, sign.Check(c))
	}
	stmt, err := sign.StatementOf(d, sign.PredicateChecks, pred)
	if err != nil {
		return SignFailed, err.Error()
	}
	if g.format == SignLegacy {
		env, err := sign.Envelope(g.key, stmt)
		if err != nil {
			return SignFailed, "signing the checks attestation failed: " + OneLine(err.Error())
		}
		if e := sign.WriteLegacyAttestation(ctx, g.resolver, auth, d, env, sign.PredicateChecks); e != nil {
			return SignFailed, writeFailure(e, d.Context(), sign.AttTag(d).Name(), from)
		}
		return "", ""
	}
	b, err := sign.BundleOf(g.key, stmt)
	if err != nil {
		return SignFailed, "signing the checks attestation failed: " + OneLine(err.Error())
	}
	if e := sign.WriteBundle(ctx, g.resolver, auth, d, b, sign.PredicateChecks, now); e != nil {
		return SignFailed, writeFailure(e, d.Context(), "the checks attestation of "+d.Name(), from)
	}
	return "", ""
}

// writeLegacy signs d's simple-signing payload into its .sig tag.
func (g *digestSigner) writeLegacy(ctx context.Context, d name.Digest, auth authn.Authenticator, from, wrote string) (SignStatus, string) {
	payload, err := sign.Payload(d)
	if err != nil {
		return SignFailed, err.Error()
	}
	sig, err := g.key.Sign(payload)
	if err != nil {
		return SignFailed, "signing failed: " + OneLine(err.Error())
	}
	tag := sign.SigTag(d)
	if e := sign.WriteLegacy(ctx, g.resolver, auth, d, payload, sig); e != nil {
		return SignFailed, writeFailure(e, d.Context(), tag.Name(), from) + wrote
	}
	return SignSigned, "wrote " + tag.Name() + " and the checks attestation " + sign.AttTag(d).Name()
}

// writeFailure says what to fix when the signature could not be written.
func writeFailure(e *registry.Error, repo name.Repository, what, from string) string {
	switch {
	case sign.TagRefused(e):
		return fmt.Sprintf("writing %s: %s: use a registry with the OCI referrers API, or an account that may push tags to %s (for --signature-format legacy too); nothing signed",
			what, OneLine(e.Message), repo.Name())
	case e.Reason == registry.ReasonUnauthorized || e.Reason == registry.ReasonForbidden:
		return fmt.Sprintf("the registry refused to write %s (%s) with %s: log in as an account that may push to %s (docker login %s) and run again; nothing signed",
			what, e.Reason, from, repo.Name(), repo.RegistryStr())
	}
	return fmt.Sprintf("writing %s: %s; nothing signed", what, OneLine(e.Error()))
}
