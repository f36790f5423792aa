package signature

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/secure-systems-lab/go-securesystemslib/dsse"
	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	protodsse "github.com/sigstore/protobuf-specs/gen/pb-go/dsse"
	protorekor "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"
	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/verify"
)

// A legacy keyless .sig layer (cosign before bundles) carries beside its
// signature the signer's certificate, the CA chain and Rekor's signed
// entry timestamp in annotations. It is verified as the sigstore bundle
// v0.1 it amounts to: a message signature over the payload, the leaf (and
// the chain) as an X.509 certificate chain, and the log entry with its
// inclusion promise.
const (
	annotationCosignChain  = "dev.sigstore.cosign/chain"
	annotationCosignBundle = "dev.sigstore.cosign/bundle"
	mediaTypeBundle01      = "application/vnd.dev.sigstore.bundle+json;version=0.1"
	// maxLegacyChain bounds the certificates read from the chain
	// annotation (Fulcio's is an intermediate and the root).
	maxLegacyChain = 10
)

// rekorBundle is the dev.sigstore.cosign/bundle annotation as cosign
// writes it (cosign's bundle.RekorBundle): Rekor's signed entry timestamp
// (SET) over the entry it logged.
type rekorBundle struct {
	SignedEntryTimestamp []byte `json:"SignedEntryTimestamp"`
	Payload              struct {
		Body           string `json:"body"` // base64 of the canonicalized entry
		IntegratedTime int64  `json:"integratedTime"`
		LogIndex       int64  `json:"logIndex"`
		LogID          string `json:"logID"` // hex
	} `json:"Payload"`
}

// legacyBundle builds the sigstore bundle (v0.1) of a legacy keyless .sig
// layer: sig, the decoded signature annotation, over payload, the layer.
// tlog reports whether it has a transparency-log entry (the bundle
// annotation). sigstore-go v1.3.0 accepts an X.509 chain in a v0.1 bundle
// but verifies the leaf only against the trusted root's own intermediates
// (chains in bundles are honoured from v0.3, which requires an inclusion
// proof that legacy signatures lack): the chain annotation is carried, not
// trusted.
func legacyBundle(annotations map[string]string, sig, payload []byte) (b *bundle.Bundle, tlog bool, err error) {
	digest := sha256.Sum256(payload)
	return legacyBundleOf(annotations, &protobundle.Bundle{Content: &protobundle.Bundle_MessageSignature{MessageSignature: &protocommon.MessageSignature{
		MessageDigest: &protocommon.HashOutput{Algorithm: protocommon.HashAlgorithm_SHA2_256, Digest: digest[:]},
		Signature:     sig,
	}}})
}

// legacyEnvelopeBundle builds the sigstore bundle (v0.1) of a legacy
// keyless .att layer: its DSSE envelope (the layer, JSON) with the same
// annotations as a legacy .sig layer.
func legacyEnvelopeBundle(annotations map[string]string, envelope []byte) (b *bundle.Bundle, tlog bool, err error) {
	var env dsse.Envelope
	if err := json.Unmarshal(envelope, &env); err != nil {
		return nil, false, errors.New("the DSSE envelope does not parse")
	}
	payload, err := env.DecodeB64Payload()
	if err != nil {
		return nil, false, errors.New("the DSSE payload is not base64")
	}
	pe := &protodsse.Envelope{Payload: payload, PayloadType: env.PayloadType}
	for _, s := range env.Signatures {
		sig, err := base64.StdEncoding.DecodeString(s.Sig)
		if err != nil {
			return nil, false, errors.New("a DSSE signature is not base64")
		}
		pe.Signatures = append(pe.Signatures, &protodsse.Signature{Sig: sig, Keyid: s.KeyID})
	}
	return legacyBundleOf(annotations, &protobundle.Bundle{Content: &protobundle.Bundle_DsseEnvelope{DsseEnvelope: pe}})
}

// legacyBundleOf completes pb, whose content (a message signature or a
// DSSE envelope) is set, with the annotations' verification material.
func legacyBundleOf(annotations map[string]string, pb *protobundle.Bundle) (b *bundle.Bundle, tlog bool, err error) {
	leaf, err := pemCertificates(annotations[annotationCosignCert], 1)
	if err != nil || len(leaf) != 1 {
		return nil, false, fmt.Errorf("the %s annotation is not one PEM certificate", annotationCosignCert)
	}
	certs := leaf
	if chainPEM, ok := annotations[annotationCosignChain]; ok {
		chain, err := pemCertificates(chainPEM, maxLegacyChain)
		if err != nil {
			return nil, false, fmt.Errorf("the %s annotation: %w", annotationCosignChain, err)
		}
		certs = append(certs, chain...)
	}
	vm := &protobundle.VerificationMaterial{
		Content: &protobundle.VerificationMaterial_X509CertificateChain{X509CertificateChain: &protocommon.X509CertificateChain{Certificates: certs}},
	}
	if raw, ok := annotations[annotationCosignBundle]; ok {
		tle, err := legacyTlogEntry(raw)
		if err != nil {
			return nil, false, fmt.Errorf("the %s annotation: %w", annotationCosignBundle, err)
		}
		vm.TlogEntries, tlog = []*protorekor.TransparencyLogEntry{tle}, true
	}
	pb.MediaType, pb.VerificationMaterial = mediaTypeBundle01, vm
	b, err = bundle.NewBundle(pb)
	if err != nil {
		return nil, false, err
	}
	return b, tlog, nil
}

// pemCertificates reads at most max PEM certificates (their DER, unparsed:
// sigstore-go parses and verifies them).
func pemCertificates(text string, max int) ([]*protocommon.X509Certificate, error) {
	rest := []byte(text)
	var out []*protocommon.X509Certificate
	for len(bytes.TrimSpace(rest)) > 0 {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil || block.Type != "CERTIFICATE" {
			return nil, errors.New("not PEM certificates")
		}
		if len(out) == max {
			return nil, fmt.Errorf("more than %d certificates", max)
		}
		out = append(out, &protocommon.X509Certificate{RawBytes: block.Bytes})
	}
	return out, nil
}

// legacyTlogEntry is the log entry of cosign's bundle annotation as a
// sigstore bundle carries it: the SET as its inclusion promise, the kind
// and version read from the entry itself.
func legacyTlogEntry(raw string) (*protorekor.TransparencyLogEntry, error) {
	var rb rekorBundle
	if err := json.Unmarshal([]byte(raw), &rb); err != nil {
		return nil, fmt.Errorf("not cosign's Rekor bundle JSON: %s", oneLine(err.Error()))
	}
	if len(rb.SignedEntryTimestamp) == 0 {
		return nil, errors.New("no SignedEntryTimestamp")
	}
	body, err := base64.StdEncoding.DecodeString(rb.Payload.Body)
	if err != nil || len(body) == 0 {
		return nil, errors.New("Payload.body is not a base64 log entry")
	}
	var kind struct {
		Kind       string `json:"kind"`
		APIVersion string `json:"apiVersion"`
	}
	if err := json.Unmarshal(body, &kind); err != nil || kind.Kind == "" || kind.APIVersion == "" {
		return nil, errors.New("Payload.body is not a Rekor entry (kind and apiVersion)")
	}
	logID, err := hex.DecodeString(rb.Payload.LogID)
	if err != nil || len(logID) == 0 {
		return nil, errors.New("Payload.logID is not hex")
	}
	return &protorekor.TransparencyLogEntry{
		LogIndex:          rb.Payload.LogIndex,
		LogId:             &protocommon.LogId{KeyId: logID},
		KindVersion:       &protorekor.KindVersion{Kind: kind.Kind, Version: kind.APIVersion},
		IntegratedTime:    rb.Payload.IntegratedTime,
		InclusionPromise:  &protorekor.InclusionPromise{SignedEntryTimestamp: rb.SignedEntryTimestamp},
		CanonicalizedBody: body,
	}, nil
}

// legacyKeyless verifies a legacy keyless .sig layer (sig over payload)
// with keylessVerifier's outcomes: the certificate, its log entry (unless
// ignoreTlog) and the signature over the payload, then the identity, then
// that the payload names h. The payload's docker-reference is not
// compared (Kubernetes' signatures name the backing registry), as cosign
// does not.
func (kv *keylessVerifier) legacyKeyless(f *found, annotations map[string]string, sig, payload []byte, h v1.Hash) {
	f.SignedBy, _ = legacyCertificate(annotations)
	b, tlog, err := legacyBundle(annotations, sig, payload)
	if err != nil {
		f.claims = true
		f.Problem = fmt.Sprintf("signed by %s, a legacy keyless .sig signature that does not parse: %s", f.SignedBy, oneLine(err.Error()))
		return
	}
	if !tlog && !kv.ignoreTlog {
		f.claims = true
		f.Problem = fmt.Sprintf("signed by %s, a legacy keyless .sig signature with no transparency-log entry (no %s annotation), so nothing proves its certificate was valid when it signed: for a private PKI the rule may set ignoreTlog (--insecure-ignore-tlog)", f.SignedBy, annotationCosignBundle)
		return
	}
	s, configured := kv.verifyArtifact(f, b, verify.WithArtifact(bytes.NewReader(payload)))
	if !configured {
		return
	}
	if p, named := parseSimpleSigning(payload); !named || p.Critical.Image.DockerManifestDigest != h.String() {
		f.claims = true
		f.Problem = fmt.Sprintf("signed by %s for digest %q, not %s", f.SignedBy, p.Critical.Image.DockerManifestDigest, h)
		return
	}
	f.Verified, f.claims = true, true
	f.verified = append(f.verified, s)
}

// legacyAttestation verifies a legacy keyless .att layer (env, its DSSE
// envelope, whose statement names h) as legacyKeyless does a .sig layer,
// with attestation's outcomes on a: the certificate, its log entry (unless
// ignoreTlog), the signature over the envelope and the statement's
// subject, then the identity.
func (kv *keylessVerifier) legacyAttestation(a *Attestation, annotations map[string]string, env []byte, h v1.Hash) {
	a.SignedBy, _ = legacyCertificate(annotations)
	b, tlog, err := legacyEnvelopeBundle(annotations, env)
	if err != nil {
		a.Problem = fmt.Sprintf("signed by %s, a legacy keyless .att attestation that does not parse: %s", a.SignedBy, oneLine(err.Error()))
		return
	}
	if !tlog && !kv.ignoreTlog {
		a.Problem = fmt.Sprintf("signed by %s, a legacy keyless .att attestation with no transparency-log entry (no %s annotation), so nothing proves its certificate was valid when it signed: for a private PKI the rule may set ignoreTlog (--insecure-ignore-tlog)", a.SignedBy, annotationCosignBundle)
		return
	}
	kv.attestation(a, b, h)
}
