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
	"github.com/imgtrust/kubectl-imgtrust/pkg/signature"
)

// signRun is one run of Sign: its clients and tally.
type signRun struct {
	cfg      SignConfig
	key      *sign.Key
	resolver *registry.Resolver
	checker  *signature.Checker
	plan     *CredentialPlan
	// done is each digest's first outcome: a digest many workloads run
	// is checked and signed once.
	done   map[string]SignOutcome
	result SignResult
}

// add tallies o and tells it.
func (s *signRun) add(o SignOutcome) {
	s.result.Outcomes = append(s.result.Outcomes, o)
	switch o.Status {
	case SignSigned:
		s.result.Signed++
	case SignAlreadySigned:
		s.result.AlreadySigned++
	case SignRefused:
		s.result.Refused++
	case SignFailed:
		s.result.Failed++
	}
	if s.cfg.Events != nil {
		s.cfg.Events(o)
	}
}

// signOne checks and signs one target's digest, once per run.
func (s *signRun) signOne(ctx context.Context, t signTarget) SignOutcome {
	o := SignOutcome{Object: t.obj, Container: t.container, Image: t.image}
	if t.refusal != "" {
		o.Status, o.Message = SignRefused, t.refusal
		return o
	}
	repo, err := s.resolver.RepositoryOf(t.repo)
	if err != nil {
		o.Status, o.Message = SignRefused, fmt.Sprintf("%s is not a repository (%v): nothing signed", t.repo, err)
		return o
	}
	d := repo.Digest(t.digest)
	o.Target = d.Name()
	if prev, ok := s.done[o.Target]; ok {
		o.Status, o.Message = prev.Status, prev.Message
		if prev.Status == SignSigned {
			o.Status, o.Message = SignAlreadySigned, "signed above in this run"
		}
		return o
	}
	o.Status, o.Message = s.checkAndSign(ctx, t, d)
	s.done[o.Target] = o
	return o
}

// checkAndSign reads the digest with the pods' credentials, asks
// pkg/signature whether our key signed it already, and else signs it.
func (s *signRun) checkAndSign(ctx context.Context, t signTarget, d name.Digest) (SignStatus, string) {
	creds, _, _ := s.plan.For(t.obj, d.Name())
	req := registry.Request{Image: d.Name(), Credentials: creds, CheckAccess: true}
	res := s.resolver.Resolve(ctx, req)
	if res.Err != nil {
		return SignFailed, fmt.Sprintf("cannot read %s (%s): nothing signed", d.Name(), OneLine(res.Err.Error()))
	}
	cred := registry.AcceptedCredential(req, res)
	check := s.checker.Check(ctx, s.resolver.Artifacts(cred), d.Context(), d.DigestStr())
	if signedBy(check, s.format()) {
		return SignAlreadySigned, fmt.Sprintf("by %s, %s format", s.key.Source, s.cfg.Format)
	}
	if check.Status == signature.StatusLookupFailed {
		return SignFailed, fmt.Sprintf("cannot tell whether %s already signed it (%s): nothing signed; fix the registry access and run again", s.key.Source, OneLine(check.Error))
	}
	if status, msg, ok := s.upstreamGate(ctx, d, cred); !ok {
		return status, msg
	}
	return s.write(ctx, d)
}

// format is the pkg/signature format of what the run writes.
func (s *signRun) format() string {
	if s.cfg.Format == SignLegacy {
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

// write signs d and writes the signature with the user's docker config
// credential for d's registry.
func (s *signRun) write(ctx context.Context, d name.Digest) (SignStatus, string) {
	auth, from := mirror.PushAuth(d.Context())
	if s.cfg.Format == SignLegacy {
		return s.writeLegacy(ctx, d, auth, from)
	}
	b, err := sign.Bundle(s.key, d)
	if err != nil {
		return SignFailed, "signing failed: " + OneLine(err.Error())
	}
	if e := sign.WriteBundle(ctx, s.resolver, auth, d, b, time.Now()); e != nil {
		return SignFailed, writeFailure(e, d.Context(), "a referrer of "+d.Name(), from)
	}
	return SignSigned, "a sigstore bundle attached as a referrer"
}

// writeLegacy signs d's simple-signing payload into its .sig tag.
func (s *signRun) writeLegacy(ctx context.Context, d name.Digest, auth authn.Authenticator, from string) (SignStatus, string) {
	payload, err := sign.Payload(d)
	if err != nil {
		return SignFailed, err.Error()
	}
	sig, err := s.key.Sign(payload)
	if err != nil {
		return SignFailed, "signing failed: " + OneLine(err.Error())
	}
	tag := sign.SigTag(d)
	if e := sign.WriteLegacy(ctx, s.resolver, auth, d, payload, sig); e != nil {
		return SignFailed, writeFailure(e, d.Context(), tag.Name(), from)
	}
	return SignSigned, "wrote " + tag.Name()
}

// writeFailure says what to fix when the signature could not be written.
func writeFailure(e *registry.Error, repo name.Repository, what, from string) string {
	switch e.Reason {
	case registry.ReasonUnauthorized, registry.ReasonForbidden:
		return fmt.Sprintf("the registry refused to write %s (%s) with %s: log in as an account that may push to %s (docker login %s) and run again; nothing signed",
			what, e.Reason, from, repo.Name(), repo.RegistryStr())
	}
	return fmt.Sprintf("writing %s: %s; nothing signed", what, OneLine(e.Error()))
}
