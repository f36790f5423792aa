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
)

// write signs d and writes the signature with the user's docker config
// credential for d's registry.
func (g *digestSigner) write(ctx context.Context, d name.Digest) (SignStatus, string) {
	auth, from := mirror.PushAuth(d.Context())
	if g.format == SignLegacy {
		return g.writeLegacy(ctx, d, auth, from)
	}
	b, err := sign.Bundle(g.key, d)
	if err != nil {
		return SignFailed, "signing failed: " + OneLine(err.Error())
	}
	if e := sign.WriteBundle(ctx, g.resolver, auth, d, b, time.Now()); e != nil {
		return SignFailed, writeFailure(e, d.Context(), "a referrer of "+d.Name(), from)
	}
	return SignSigned, "a sigstore bundle attached as a referrer"
}

// writeLegacy signs d's simple-signing payload into its .sig tag.
func (g *digestSigner) writeLegacy(ctx context.Context, d name.Digest, auth authn.Authenticator, from string) (SignStatus, string) {
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
