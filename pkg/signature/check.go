package signature

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/imgtrust/kubectl-imgtrust/pkg/registry"
)

// Media and artifact types of signatures (see ../shared/SIGNATURES.md).
const (
	mtSimpleSigning       = "application/vnd.dev.cosign.simplesigning.v1+json"
	mtCosignArtifactSig   = "application/vnd.dev.cosign.artifact.sig.v1+json"
	mtSigstoreBundle      = "application/vnd.dev.sigstore.bundle.v0.3+json"
	mtNotationSignature   = "application/vnd.cncf.notary.signature"
	mtOCIEmpty            = "application/vnd.oci.empty.v1+json"
	annotationCosignSig   = "dev.cosignproject.cosign/signature"
	annotationBundleType  = "dev.sigstore.bundle.predicateType"
	predicateCosignSignV1 = "https://sigstore.dev/cosign/sign/v1"
)

// Options configure a Checker.
type Options struct {
	Keys  []Key
	Certs []Cert
	// MaxSignatures bounds the signatures read per digest (default 8).
	MaxSignatures int
	// Attestations, when set, also finds cosign attestations whose
	// predicate type it accepts (the .att tag, and bundles among the
	// referrers) and reads the first one into Result.Attestations.
	Attestations func(predicateType string) bool
	// Keyless, when set, verifies certificate-based (Fulcio/keyless or
	// private-PKI) bundle signatures against trusted material and identities.
	Keyless *Keyless
}

// Checker checks digests against the configured keys and certificates.
type Checker struct {
	opts     Options
	notation *notationVerifier
	keyless  *keylessVerifier
}

// New builds a Checker. With neither keys, certificates nor keyless
// identities it checks presence only and says who signed. Keyless needs
// both trusted material and at least one identity.
func New(o Options) (*Checker, error) {
	if o.MaxSignatures <= 0 {
		o.MaxSignatures = 8
	}
	c := &Checker{opts: o}
	if len(o.Certs) > 0 {
		nv, err := newNotationVerifier(o.Certs)
		if err != nil {
			return nil, err
		}
		c.notation = nv
	}
	if o.Keyless != nil {
		kv, err := newKeylessVerifier(o.Keyless)
		if err != nil {
			return nil, err
		}
		c.keyless = kv
	}
	return c, nil
}

// Keyed reports whether keys, certificates or keyless identities were
// given.
func (c *Checker) Keyed() bool {
	return len(c.opts.Keys) > 0 || len(c.opts.Certs) > 0 || c.opts.Keyless != nil
}

// found is one signature artifact with its verdict.
type found struct {
	Artifact
	claims   bool     // it names a configured key or certificate
	verified []Signer // who verified it
}

// Check finds and verifies the signatures of digest in repo, reading with
// one credential. It never returns an error: failures are in the Result.
func (c *Checker) Check(ctx context.Context, arts *registry.Artifacts, repo name.Repository, digest string) Result {
	res := Result{Digest: digest}
	d := repo.Digest(digest)
	h, err := v1.NewHash(digest)
	if err != nil {
		return Result{Status: StatusLookupFailed, Digest: digest, Error: fmt.Sprintf("%q is not a digest", digest)}
	}
	var all []found
	var failures []string
	fail := func(e *registry.Error) { failures = append(failures, e.Error()) }

	// The legacy cosign tag.
	sigTag := repo.Tag(strings.Replace(digest, ":", "-", 1) + ".sig")
	if _, e := arts.Head(ctx, sigTag); e == nil {
		if desc, e := arts.Manifest(ctx, sigTag); e != nil {
			fail(e)
		} else {
			all = append(all, c.cosignSimpleSigning(ctx, arts, repo, h, desc.Digest.String(), desc.Manifest, ViaSigTag, fail)...)
		}
	} else if e.Reason != registry.ReasonNotFound {
		fail(e)
	}

	// The legacy cosign attestation tag, when attestations are asked for.
	var atts []Attestation
	var attFailures []string
	if c.opts.Attestations != nil {
		attTag := repo.Tag(strings.Replace(digest, ":", "-", 1) + ".att")
		if _, e := arts.Head(ctx, attTag); e == nil {
			if desc, e := arts.Manifest(ctx, attTag); e != nil {
				attFailures = append(attFailures, e.Error())
			} else if a := c.legacyAttestation(ctx, arts, repo, h, desc.Digest.String(), desc.Manifest, func(e *registry.Error) { attFailures = append(attFailures, e.Error()) }); a != nil {
				atts = append(atts, *a)
			}
		} else if e.Reason != registry.ReasonNotFound {
			attFailures = append(attFailures, e.Error())
		}
	}

	// Referrers: bundles, cosign signatures in referrers mode, Notation.
	descs, via, e := arts.Referrers(ctx, d)
	if e != nil {
		fail(e)
	}
	var subject *v1.Descriptor
	read := 0
	for _, desc := range descs {
		if read == c.opts.MaxSignatures {
			break
		}
		kind := desc.ArtifactType
		if kind == mtOCIEmpty {
			kind = "" // fallback indexes may list bundles so: decide by the manifest
		}
		if kind != "" && !signatureKinds[kind] {
			continue // SBOMs and other attachments
		}
		if pt := desc.Annotations[annotationBundleType]; kind == mtSigstoreBundle && pt != "" && pt != predicateCosignSignV1 &&
			(len(atts) > 0 || !c.wantAttestation(pt)) {
			continue // an attestation, not a signature (and not one asked for)
		}
		m, e := arts.Manifest(ctx, repo.Digest(desc.Digest.String()))
		if e != nil {
			fail(e)
			continue
		}
		mf, err := v1.ParseManifest(bytes.NewReader(m.Manifest))
		if err != nil {
			failures = append(failures, fmt.Sprintf("referrer %s is not a manifest", desc.Digest))
			continue
		}
		if kind == "" {
			kind = classify(mf)
		}
		if !signatureKinds[kind] {
			continue
		}
		read++
		switch kind {
		case mtSigstoreBundle:
			f, ok, att := c.cosignBundle(ctx, arts, repo, h, desc.Digest.String(), mf, via, fail)
			if ok {
				all = append(all, f)
			}
			if att != nil && len(atts) == 0 {
				atts = append(atts, *att)
			}
		case mtCosignArtifactSig:
			all = append(all, c.cosignSimpleSigning(ctx, arts, repo, h, desc.Digest.String(), m.Manifest, via, fail)...)
		case mtNotationSignature:
			if subject == nil {
				sd, e := arts.Head(ctx, d)
				if e != nil {
					fail(e)
					continue
				}
				subject = sd
			}
			if f, ok := c.notationSignature(ctx, arts, repo, *subject, desc.Digest.String(), mf, via, fail); ok {
				all = append(all, f)
			}
		}
	}
	res = c.verdict(res, all, failures)
	res.Attestations = atts
	res.AttestationsError = strings.Join(attFailures, "; ")
	return res
}

// signatureKinds are the referrer artifact types that hold signatures.
var signatureKinds = map[string]bool{mtSigstoreBundle: true, mtCosignArtifactSig: true, mtNotationSignature: true}

// classify tells a referrer's kind from its manifest.
func classify(mf *v1.Manifest) string {
	if mf.ArtifactType != "" && mf.ArtifactType != mtOCIEmpty {
		return mf.ArtifactType
	}
	if len(mf.Layers) > 0 {
		switch string(mf.Layers[0].MediaType) {
		case mtSigstoreBundle:
			return mtSigstoreBundle
		case mtSimpleSigning:
			return mtCosignArtifactSig
		case "application/jose+json", "application/cose":
			return mtNotationSignature
		}
	}
	return ""
}

// verdict sums up the artifacts. Verified wins; then a signature that
// claims a trusted key but fails, or that no key could have made, is
// invalid; an incomplete lookup proves nothing; then other-key,
// unverified, unsigned.
func (c *Checker) verdict(res Result, all []found, failures []string) Result {
	var invalid []string
	for _, f := range all {
		res.Artifacts = append(res.Artifacts, f.Artifact)
		for _, s := range f.verified {
			if !slices.Contains(res.VerifiedBy, s) {
				res.VerifiedBy = append(res.VerifiedBy, s)
			}
		}
		if f.claims && !f.Verified {
			invalid = append(invalid, f.Problem)
		}
	}
	switch {
	case len(res.VerifiedBy) > 0:
		res.Status = StatusVerified
	case len(invalid) > 0:
		res.Status, res.Error = StatusInvalid, strings.Join(invalid, "; ")
	case len(failures) > 0:
		res.Status, res.Error = StatusLookupFailed, strings.Join(failures, "; ")
	case len(all) == 0:
		res.Status = StatusUnsigned
	case !c.Keyed():
		res.Status = StatusUnverified
	default:
		res.Status = StatusOtherKey
	}
	return res
}
