package signature

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/secure-systems-lab/go-securesystemslib/dsse"
	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/verify"

	"github.com/imgtrust/kubectl-imgtrust/pkg/registry"
)

// Attestation formats and the legacy layer's predicate annotation.
const (
	FormatCosignAtt         = "cosign-att"
	ViaAttTag               = "att-tag"
	mtDSSEEnvelope          = "application/vnd.dsse.envelope.v1+json"
	annotationPredicateType = "predicateType"
)

// Attestation is a cosign attestation of the digest whose predicate the
// caller asked for (Options.Attestations), with its in-toto statement.
type Attestation struct {
	Digest        string `json:"digest"` // of the attestation's manifest
	Format        string `json:"format"` // cosign-att or cosign-bundle
	Via           string `json:"via"`    // att-tag, referrers-api or referrers-tag
	PredicateType string `json:"predicateType"`
	// Verified: a given key or keyless identity verified it, and it
	// names this digest. SignedBy says who signed it (verified or not):
	// the key, or the certificate's "SUBJECT (ISSUER)".
	Verified bool   `json:"verified,omitempty"`
	SignedBy string `json:"signedBy,omitempty"`
	Problem  string `json:"problem,omitempty"`
	// Statement is the in-toto statement (JSON), for the caller to read.
	Statement []byte `json:"-"`
}

// wantAttestation reports whether a predicate type is asked for.
func (c *Checker) wantAttestation(predicateType string) bool {
	return c.opts.Attestations != nil && c.opts.Attestations(predicateType) || c.required(predicateType)
}

// required reports whether the digest must have an attestation of
// predicateType.
func (c *Checker) required(predicateType string) bool {
	return slices.Contains(c.opts.Require, predicateType)
}

// legacyAttestations reads the asked-for layers of the cosign ".att"
// manifest that need says are still needed: DSSE envelopes, checked with
// the given keys; one with a certificate annotation (cosign attest
// keyless, before v3) that no key verifies is verified with
// Options.Keyless, else names the certificate.
func (c *Checker) legacyAttestations(ctx context.Context, arts *registry.Artifacts, repo name.Repository, h v1.Hash, manifestDigest string, manifest []byte, need func(predicateType string) bool, keep func(Attestation), fail func(*registry.Error)) {
	mf, err := v1.ParseManifest(bytes.NewReader(manifest))
	if err != nil {
		fail(&registry.Error{Reason: registry.ReasonServerError, Message: fmt.Sprintf("the cosign attestation manifest %s does not parse", manifestDigest)})
		return
	}
	for _, layer := range mf.Layers {
		pt := layer.Annotations[annotationPredicateType]
		if string(layer.MediaType) != mtDSSEEnvelope || !need(pt) {
			continue
		}
		raw, e := arts.Blob(ctx, repo, layer.Digest)
		if e != nil {
			fail(e)
			continue
		}
		a := &Attestation{Digest: manifestDigest, Format: FormatCosignAtt, Via: ViaAttTag, PredicateType: pt}
		c.checkEnvelope(a, raw, h)
		if who, withCert := legacyCertificate(layer.Annotations); withCert && !a.Verified {
			switch {
			case a.Problem == "" && c.keyless != nil:
				c.keyless.legacyAttestation(a, layer.Annotations, raw, h)
			case a.Problem == "":
				a.SignedBy = who + ", a legacy keyless .att attestation (keyless identities verify it)"
			default:
				a.SignedBy = who
			}
		}
		keep(*a)
	}
}

// checkEnvelope verifies a DSSE envelope with the given keys (cosign's
// PAE signature) and that its statement names the digest.
func (c *Checker) checkEnvelope(a *Attestation, raw []byte, h v1.Hash) {
	var env dsse.Envelope
	if err := json.Unmarshal(raw, &env); err != nil {
		a.Problem = "the DSSE envelope does not parse"
		return
	}
	payload, err := env.DecodeB64Payload()
	if err != nil {
		a.Problem = "the DSSE payload is not base64"
		return
	}
	a.Statement = payload
	a.SignedBy = "a key"
	if !namesDigest(payload, h) {
		a.Problem = "the statement's subject is another digest"
		return
	}
	pae := dsse.PAE(env.PayloadType, payload)
	for _, s := range env.Signatures {
		sig, err := base64.StdEncoding.DecodeString(s.Sig)
		if err != nil {
			continue
		}
		for _, k := range c.opts.Keys {
			if k.verifier.VerifySignature(bytes.NewReader(sig), bytes.NewReader(pae)) == nil {
				a.Verified, a.SignedBy = true, k.ID
				return
			}
		}
	}
	if c.Keyed() {
		a.SignedBy = "a key not given"
	}
}

// namesDigest reports whether an in-toto statement's subject is h.
func namesDigest(statement []byte, h v1.Hash) bool {
	var st struct {
		Subject []struct {
			Digest map[string]string `json:"digest"`
		} `json:"subject"`
	}
	if json.Unmarshal(statement, &st) != nil {
		return false
	}
	for _, s := range st.Subject {
		if strings.EqualFold(s.Digest[h.Algorithm], h.Hex) {
			return true
		}
	}
	return false
}

// bundleAttestation turns a sigstore bundle whose statement has an
// asked-for predicate into an Attestation: verified with the given keys,
// or, signed with a certificate (GitHub artifact attestations, cosign v3
// attest) and Options.Keyless set, as keyless image signatures are
// (keylessVerifier.attestation).
func (c *Checker) bundleAttestation(b *bundle.Bundle, stmt []byte, predicateType, manifestDigest, via string, h v1.Hash) *Attestation {
	if !c.wantAttestation(predicateType) {
		return nil
	}
	a := &Attestation{Digest: manifestDigest, Format: FormatCosignBundle, Via: via, PredicateType: predicateType, Statement: stmt, SignedBy: "a key"}
	certSigner, signedWithCert := bundleCertificate(b)
	if signedWithCert {
		a.SignedBy = certSigner
	}
	if !namesDigest(stmt, h) {
		a.Problem = "the statement's subject is another digest"
		return a
	}
	if signedWithCert && c.keyless != nil {
		c.keyless.attestation(a, b, h)
		return a
	}
	want, err := hex.DecodeString(h.Hex)
	if err != nil {
		return a
	}
	hint := b.GetVerificationMaterial().GetPublicKey().GetHint()
	for _, k := range c.opts.Keys {
		if hint != "" && hint != k.ID {
			continue
		}
		if verifyBundle(b, k, want) == nil {
			a.Verified, a.SignedBy = true, k.ID
			return a
		}
	}
	if c.Keyed() && !signedWithCert {
		a.SignedBy = "a key not given"
	}
	return a
}

// attestation verifies a certificate-signed attestation with check's
// outcomes, recorded on a: verified by a configured identity; signed by
// another identity (not verified, SignedBy names it); else a Problem with
// the reason. sigstore-go checks that the DSSE statement's subject is h.
func (kv *keylessVerifier) attestation(a *Attestation, entity verify.SignedEntity, h v1.Hash) {
	want, err := hex.DecodeString(h.Hex)
	if err != nil {
		a.Problem = fmt.Sprintf("%q is not a digest", h)
		return
	}
	f := found{Artifact: Artifact{SignedBy: a.SignedBy}}
	kv.checkDigest(&f, entity, h.Algorithm, want)
	a.Verified, a.SignedBy, a.Problem = f.Verified, f.SignedBy, f.Problem
}

// AnyAttestation accepts the predicate types any of kinds accepts: one
// lookup reads provenance, vulnerability scans and SBOMs together.
func AnyAttestation(kinds ...func(predicateType string) bool) func(predicateType string) bool {
	return func(pt string) bool {
		return slices.ContainsFunc(kinds, func(k func(string) bool) bool { return k(pt) })
	}
}
