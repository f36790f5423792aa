package signature

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"unicode"

	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/verify"

	"github.com/imgtrust/kubectl-imgtrust/pkg/trustpolicy"
)

// Keyless verifies certificate-based bundle signatures: Fulcio (keyless)
// certificates, or a private CA's (cosign sign --certificate-chain).
type Keyless struct {
	// Material is the trusted root: from a trusted_root.json
	// (LoadTrustedRoot), or a VirtualSigstore in tests.
	Material root.TrustedMaterial
	// Identities: any one may match; issuer and subject exact or by
	// regexp.
	Identities []trustpolicy.Identity
	// IgnoreTlog: no transparency-log entry required; the certificate is
	// checked at the current time (private PKI).
	IgnoreTlog bool
	// IgnoreSCT: no signed certificate timestamp required (private PKI).
	IgnoreSCT bool
}

// LoadTrustedRoot reads a trusted_root.json (a private Sigstore's, GitHub's,
// or the public-good one copied for an air gap).
func LoadTrustedRoot(path string) (root.TrustedMaterial, error) {
	const todo = "give the trusted_root.json of the Sigstore instance that issued the certificates (`cosign trusted-root create` makes one)"
	b, err := os.ReadFile(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, fmt.Errorf("trusted root %s: %s: %s", path, oneLine(err.Error()), todo)
	}
	tr, err := root.NewTrustedRootFromJSON(b)
	if err != nil {
		return nil, fmt.Errorf("trusted root %s: not a trusted_root.json (%s): %s", path, oneLine(err.Error()), todo)
	}
	if len(tr.FulcioCertificateAuthorities()) == 0 {
		return nil, fmt.Errorf("trusted root %s: no certificate authorities, so no certificate can verify: %s", path, todo)
	}
	return tr, nil
}

// keylessVerifier is sigstore-go's verifier over the trusted material and
// the identities to match.
type keylessVerifier struct {
	v          *verify.Verifier
	ids        verify.CertificateIdentities
	ignoreTlog bool
}

// newKeylessVerifier is `cosign verify --trusted-root R
// --certificate-identity[-regexp] --certificate-oidc-issuer[-regexp]
// [--insecure-ignore-tlog] [--insecure-ignore-sct]` as sigstore-go builds it.
func newKeylessVerifier(k *Keyless) (*keylessVerifier, error) {
	if k.Material == nil {
		return nil, errors.New("keyless: no trusted root (trusted material) given")
	}
	if len(k.Identities) == 0 {
		return nil, errors.New("keyless: no identities given: name at least one issuer and subject (exact or regexp)")
	}
	kv := &keylessVerifier{ignoreTlog: k.IgnoreTlog}
	for i, id := range k.Identities {
		if id.Issuer == "" && id.IssuerRegExp == "" {
			return nil, fmt.Errorf("keyless identity %d: no issuer or issuerRegExp", i)
		}
		if id.Subject == "" && id.SubjectRegExp == "" {
			return nil, fmt.Errorf("keyless identity %d: no subject or subjectRegExp", i)
		}
		ci, err := verify.NewShortCertificateIdentity(id.Issuer, id.IssuerRegExp, id.Subject, id.SubjectRegExp)
		if err != nil {
			return nil, fmt.Errorf("keyless identity %d: %s", i, oneLine(err.Error()))
		}
		kv.ids = append(kv.ids, ci)
	}
	var opts []verify.VerifierOption
	if k.IgnoreTlog {
		opts = append(opts, verify.WithCurrentTime())
	} else {
		opts = append(opts, verify.WithTransparencyLog(1), verify.WithIntegratedTimestamps(1))
	}
	if !k.IgnoreSCT {
		opts = append(opts, verify.WithSignedCertificateTimestamps(1))
	}
	v, err := verify.NewVerifier(k.Material, opts...)
	if err != nil {
		return nil, fmt.Errorf("keyless: %s", oneLine(err.Error()))
	}
	kv.v = v
	return kv, nil
}

// check verifies a certificate-signed entity (a bundle) over digest, a
// sha256, and records the outcome in f. The contract:
//
//   - the chain to the trusted material, the transparency log and its
//     integrated time (or, IgnoreTlog, the current time), the SCT (unless
//     IgnoreSCT), the signature over the digest and a configured identity
//     all verify: verified, by Signer{Kind: "keyless", Subject: the SAN,
//     Issuer: the OIDC issuer}, SignedBy "SUBJECT (ISSUER)";
//   - all of that but the identity verifies: signed by another identity
//     (other-key), SignedBy names the certificate's identity, nothing
//     claimed;
//   - anything else fails (no chain to the trusted material, log or SCT
//     missing or wrong, the signature or digest does not verify): it
//     claims a trusted signer and is invalid, with the library's reason
//     on one line. Never unsigned.
//
// The identity is matched, as verify.WithCertificateIdentity does, on the
// summary of the certificate that sigstore-go verified with no identity
// policy (verify.WithoutIdentitiesUnsafe): one cryptographic pass tells
// "not verified" from "verified, another identity".
func (kv *keylessVerifier) check(f *found, entity verify.SignedEntity, digest []byte) {
	kv.checkDigest(f, entity, "sha256", digest)
}

// checkDigest is check over a digest made with another algorithm (as an
// in-toto subject names it: "sha256", "sha512"). Images are always sha256;
// the tests verify real public-good signatures over npm packages (sha512).
func (kv *keylessVerifier) checkDigest(f *found, entity verify.SignedEntity, alg string, digest []byte) {
	if s, configured := kv.verifyArtifact(f, entity, verify.WithArtifactDigest(alg, digest)); configured {
		f.Verified, f.claims = true, true
		f.verified = append(f.verified, s)
	}
}

// verifyArtifact is the cryptographic pass of check over the artifact as
// sigstore-go's policy names it (its digest, or its bytes). When it fails
// f is invalid, with the reason; when it verifies f.SignedBy names the
// certificate's identity and configured says whether that identity is one
// of ours (the signer to record). Whether f is verified is the caller's.
func (kv *keylessVerifier) verifyArtifact(f *found, entity verify.SignedEntity, artifact verify.ArtifactPolicyOption) (s Signer, configured bool) {
	res, err := kv.v.Verify(entity, verify.NewPolicy(artifact, verify.WithoutIdentitiesUnsafe()))
	if err == nil && (res.Signature == nil || res.Signature.Certificate == nil) {
		err = errors.New("verified with no certificate")
	}
	if err != nil {
		f.claims = true
		f.Problem = fmt.Sprintf("signed by %s but does not verify: %s", f.SignedBy, oneLine(err.Error()))
		return Signer{}, false
	}
	sum := *res.Signature.Certificate
	f.SignedBy = describeCertificate(sum)
	if _, err := kv.ids.Verify(sum); err != nil {
		return Signer{}, false // signed, by an identity not configured
	}
	return Signer{Kind: "keyless", Subject: sum.SubjectAlternativeName, Issuer: sum.Issuer}, true
}

// bundleCertificate reports whether a bundle is signed with a certificate
// (or chain) rather than a key, and names its identity as "SUBJECT
// (ISSUER)" (unverified), or "a certificate" when it cannot be read.
func bundleCertificate(b *bundle.Bundle) (signedBy string, ok bool) {
	vm := b.GetVerificationMaterial()
	if vm.GetCertificate() == nil && vm.GetX509CertificateChain() == nil {
		return "", false
	}
	vc, err := b.VerificationContent()
	if err != nil || vc.Certificate() == nil {
		return "a certificate", true
	}
	sum, err := certificate.SummarizeCertificate(vc.Certificate())
	if err != nil {
		return "a certificate", true
	}
	return describeCertificate(sum), true
}

// describeCertificate is how messages name a certificate's identity: the
// SAN and the Fulcio OIDC issuer extension (v2, else v1), on one printable
// line (both are the signer's bytes).
func describeCertificate(s certificate.Summary) string {
	d := s.SubjectAlternativeName
	if s.Issuer != "" {
		d += " (" + s.Issuer + ")"
	}
	return oneLine(strings.Map(func(r rune) rune {
		if unicode.IsPrint(r) {
			return r
		}
		return ' '
	}, d))
}

// annotationCosignCert holds the certificate of a legacy keyless .sig
// signature (cosign before bundles; registry.k8s.io and distroless still
// sign so).
const annotationCosignCert = "dev.sigstore.cosign/certificate"

// legacyCertificate names the identity of a legacy keyless signature's
// certificate, unverified, so that a verdict against it says who signed.
func legacyCertificate(annotations map[string]string) (string, bool) {
	pemText, ok := annotations[annotationCosignCert]
	if !ok {
		return "", false
	}
	block, _ := pem.Decode([]byte(pemText))
	if block == nil {
		return "a certificate", true
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return "a certificate", true
	}
	sum, err := certificate.SummarizeCertificate(cert)
	if err != nil {
		return "a certificate", true
	}
	return describeCertificate(sum), true
}
