package sign

import (
	"bytes"
	"context"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/sigstore/sigstore/pkg/signature/dsse"

	"github.com/imgtrust/kubectl-imgtrust/pkg/provenance"
	"github.com/imgtrust/kubectl-imgtrust/pkg/registry"
)

// PredicateChecks is the predicate type of the attestation imgtrust
// attaches with each signature: what was checked before it signed.
const PredicateChecks = provenance.PredicateChecks

// Checks is the PredicateChecks predicate.
type Checks struct {
	// Checks are the gates the digest passed, in order; empty when none
	// was asked for.
	Checks []Check `json:"checks"`
	// TrustPolicy is the trust-policy file the authorities came from.
	TrustPolicy *TrustPolicyRef `json:"trustPolicy,omitempty"`
	Time        time.Time       `json:"time"`
	Tool        Tool            `json:"tool"`
}

// Check is one gate passed.
type Check struct {
	Name   string `json:"name"`
	Result string `json:"result"`
	Detail string `json:"detail,omitempty"`
}

// TrustPolicyRef names a trust-policy file by its content digest.
type TrustPolicyRef struct {
	Name   string            `json:"name"`
	Digest map[string]string `json:"digest"`
}

// Tool is who made the attestation.
type Tool struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// mediaTypeDSSE is a legacy .att layer: a DSSE envelope.
const (
	mediaTypeDSSE           = "application/vnd.dsse.envelope.v1+json"
	annotationPredicateType = "predicateType"
)

// Envelope signs an in-toto statement with k into a DSSE envelope, as
// cosign attest (legacy) does, with sigstore's DSSE signer.
func Envelope(k *Key, stmt []byte) ([]byte, error) {
	return dsse.WrapSigner(k.signer, payloadTypeInToto).SignMessage(bytes.NewReader(stmt))
}

// WriteLegacyAttestation adds envelope (a statement of predicateType) to
// d's .att tag with auth, as cosign attest --new-bundle-format=false
// appends: blobs first, then the manifest.
func WriteLegacyAttestation(ctx context.Context, r *registry.Resolver, auth authn.Authenticator, d name.Digest, envelope []byte, predicateType string) *registry.Error {
	return appendToTag(ctx, r, auth, AttTag(d), func(base v1.Image) (v1.Image, error) {
		return appendLayer(base, static.NewLayer(envelope, mediaTypeDSSE),
			map[string]string{annotationPredicateType: predicateType, AnnotationSignature: ""})
	})
}
