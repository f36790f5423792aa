package signature

import (
	"bytes"
	"context"
	"crypto/x509"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	notationcore "github.com/notaryproject/notation-core-go/signature"
	_ "github.com/notaryproject/notation-core-go/signature/cose" // registers the envelope
	_ "github.com/notaryproject/notation-core-go/signature/jws"  // registers the envelope
	"github.com/notaryproject/notation-go"
	"github.com/notaryproject/notation-go/verifier"
	"github.com/notaryproject/notation-go/verifier/trustpolicy"
	"github.com/notaryproject/notation-go/verifier/truststore"
	godigest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/imgtrust/kubectl-imgtrust/pkg/registry"
)

// notationVerifier is notation-go's verifier over an in-memory trust
// store of the --trust-cert certificates: one policy for every registry,
// strict, any identity, revocation skipped (its checks are online).
type notationVerifier struct {
	v     notation.Verifier
	certs []Cert
}

type memoryTrustStore []*x509.Certificate

func (m memoryTrustStore) GetCertificates(_ context.Context, _ truststore.Type, _ string) ([]*x509.Certificate, error) {
	return m, nil
}

func newNotationVerifier(certs []Cert) (*notationVerifier, error) {
	store := memoryTrustStore{}
	for _, c := range certs {
		store = append(store, c.cert)
	}
	policy := &trustpolicy.Document{
		Version: "1.0",
		TrustPolicies: []trustpolicy.TrustPolicy{{
			Name:           "imgtrust",
			RegistryScopes: []string{"*"},
			SignatureVerification: trustpolicy.SignatureVerification{
				VerificationLevel: trustpolicy.LevelStrict.Name,
				Override:          map[trustpolicy.ValidationType]trustpolicy.ValidationAction{trustpolicy.TypeRevocation: trustpolicy.ActionSkip},
			},
			TrustStores:       []string{"ca:imgtrust"},
			TrustedIdentities: []string{"*"},
		}},
	}
	v, err := verifier.NewWithOptions(policy, store, nil, verifier.VerifierOptions{})
	if err != nil {
		return nil, fmt.Errorf("notation verifier: %w", err)
	}
	return &notationVerifier{v: v, certs: certs}, nil
}

// notationSignature checks a Notation signature referrer against the
// subject's descriptor (digest, media type and size must all match).
func (c *Checker) notationSignature(ctx context.Context, arts *registry.Artifacts, repo name.Repository, subject v1.Descriptor, manifestDigest string, mf *v1.Manifest, via string, fail func(*registry.Error)) (found, bool) {
	f := found{Artifact: Artifact{Digest: manifestDigest, Format: FormatNotation, Via: via}}
	if len(mf.Layers) == 0 {
		return f, false
	}
	mt := string(mf.Layers[0].MediaType)
	raw, e := arts.Blob(ctx, repo, mf.Layers[0].Digest)
	if e != nil {
		fail(e)
		return f, false
	}
	env, err := notationcore.ParseEnvelope(mt, raw)
	if err != nil {
		f.Problem, f.claims = "the envelope does not parse: "+oneLine(err.Error()), c.Keyed()
		return f, true
	}
	content, err := env.Content()
	if err != nil || len(content.SignerInfo.CertificateChain) == 0 {
		f.Problem, f.claims = "the envelope holds no certificate chain", c.Keyed()
		return f, true
	}
	chain := content.SignerInfo.CertificateChain
	f.SignedBy = chain[0].Subject.String()
	if c.notation == nil {
		return f, true
	}
	trusted := c.notation.anchor(chain)
	desc := ocispec.Descriptor{MediaType: string(subject.MediaType), Digest: godigest.Digest(subject.Digest.String()), Size: subject.Size}
	outcome, err := c.notation.v.Verify(ctx, desc, raw, notation.VerifierVerifyOptions{
		ArtifactReference:  repo.Digest(subject.Digest.String()).Name(),
		SignatureMediaType: mt,
	})
	if err == nil && outcome != nil && outcome.Error == nil {
		f.Verified, f.claims = true, true
		s := Signer{Kind: "x509", Subject: f.SignedBy}
		if trusted != nil {
			s.File = trusted.File
		}
		f.verified = append(f.verified, s)
		return f, true
	}
	if trusted != nil {
		if err == nil && outcome != nil {
			err = outcome.Error
		}
		f.claims, f.Problem = true, fmt.Sprintf("chains to %s (%s) but does not verify: %s", trusted.File, trusted.Subject, oneLine(fmt.Sprint(err)))
	}
	return f, true
}

// anchor returns the trusted certificate that appears in chain, if any.
func (n *notationVerifier) anchor(chain []*x509.Certificate) *Cert {
	for _, c := range chain {
		for i := range n.certs {
			if bytes.Equal(c.Raw, n.certs[i].cert.Raw) {
				return &n.certs[i]
			}
		}
	}
	return nil
}
