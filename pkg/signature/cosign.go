package signature

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/verify"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/imgtrust/kubectl-imgtrust/pkg/registry"
)

// simpleSigning is the part of cosign's payload we check.
type simpleSigning struct {
	Critical struct {
		Image struct {
			DockerManifestDigest string `json:"docker-manifest-digest"`
		} `json:"image"`
	} `json:"critical"`
}

// parseSimpleSigning reads a cosign simple-signing payload; named
// reports whether it is a JSON object whose
// critical.image.docker-manifest-digest is a well-formed digest.
func parseSimpleSigning(payload []byte) (p simpleSigning, named bool) {
	if json.Unmarshal(payload, &p) != nil {
		return simpleSigning{}, false
	}
	_, err := v1.NewHash(p.Critical.Image.DockerManifestDigest)
	return p, err == nil
}

// cosignSimpleSigning checks the layers of a legacy cosign signature
// manifest (the .sig tag, or a referrer of that type): each is a payload
// naming the digest, signed in its layer annotation. Legacy keyless
// signatures (the dev.sigstore.cosign/certificate, chain and bundle
// annotations) that no key verifies are verified keyless when
// Options.Keyless is set (keylessVerifier.legacyKeyless); without it they
// are another signer's, named by their certificate.
func (c *Checker) cosignSimpleSigning(ctx context.Context, arts *registry.Artifacts, repo name.Repository, h v1.Hash, manifestDigest string, manifest []byte, via string, fail func(*registry.Error), cut func(read, total int)) []found {
	mf, err := v1.ParseManifest(bytes.NewReader(manifest))
	if err != nil {
		fail(&registry.Error{Reason: registry.ReasonServerError, Message: fmt.Sprintf("the cosign signature manifest %s does not parse", manifestDigest)})
		return nil
	}
	var out []found
	read := 0
	for i, layer := range mf.Layers {
		if string(layer.MediaType) != mtSimpleSigning {
			continue
		}
		if read == c.opts.MaxSignatures {
			cut(read, read+simpleSigningLayers(mf.Layers[i:]))
			break
		}
		read++
		f := found{Artifact: Artifact{Digest: manifestDigest, Format: FormatCosignSig, Via: via}}
		annotation, present := layer.Annotations[annotationCosignSig]
		if reason := cosignSigMalformed(annotation, present); reason != "" {
			// No key could have made it: invalid once keys are given (as
			// a bundle or envelope that does not parse), never the
			// work of a key the user lacks.
			f.Problem, f.claims = reason, c.Keyed()
			out = append(out, f)
			continue
		}
		sig, _ := base64.StdEncoding.DecodeString(annotation)
		if !c.Keyed() {
			f.SignedBy = "a key (unverified)"
			out = append(out, f)
			continue
		}
		payload, e := arts.Blob(ctx, repo, layer.Digest)
		if e != nil {
			fail(e)
			continue
		}
		p, named := parseSimpleSigning(payload)
		for _, k := range c.opts.Keys {
			if k.verifier.VerifySignature(bytes.NewReader(sig), bytes.NewReader(payload)) != nil {
				continue
			}
			f.SignedBy, f.claims = k.ID, true
			if !named || p.Critical.Image.DockerManifestDigest != h.String() {
				f.Problem = fmt.Sprintf("signed by key %s for digest %q, not %s", k.File, p.Critical.Image.DockerManifestDigest, h)
				break
			}
			f.Verified = true
			f.verified = append(f.verified, Signer{Kind: "key", KeyID: k.ID, File: k.File})
			break
		}
		if _, withCert := layer.Annotations[annotationCosignCert]; f.SignedBy == "" && withCert && c.keyless != nil {
			c.keyless.legacyKeyless(&f, layer.Annotations, sig, payload, h)
			out = append(out, f)
			continue
		}
		if f.SignedBy == "" && !named {
			// Whoever signed it, it is no signature of an image.
			f.Problem, f.claims = "the payload is not a cosign simple-signing payload naming a digest (critical.image.docker-manifest-digest)", true
		}
		if f.SignedBy == "" {
			f.SignedBy = "a key not given"
			if who, ok := legacyCertificate(layer.Annotations); ok {
				f.SignedBy = who + ", a legacy keyless .sig signature (keyless identities verify it)"
			}
		}
		out = append(out, f)
	}
	return out
}

// cosignBundle checks a sigstore bundle referrer. Only a DSSE statement
// with cosign's signing predicate is a signature (ok); a statement with a
// predicate asked for (Options.Attestations) is returned as att.
func (c *Checker) cosignBundle(ctx context.Context, arts *registry.Artifacts, repo name.Repository, h v1.Hash, manifestDigest string, mf *v1.Manifest, via string, fail func(*registry.Error)) (f found, ok bool, att *Attestation) {
	f = found{Artifact: Artifact{Digest: manifestDigest, Format: FormatCosignBundle, Via: via}}
	if len(mf.Layers) == 0 {
		return f, false, nil
	}
	raw, e := arts.Blob(ctx, repo, mf.Layers[0].Digest)
	if e != nil {
		fail(e)
		return f, false, nil
	}
	b, err := parseBundle(raw, c.keyless != nil)
	if err != nil {
		f.Problem = "the bundle does not parse: " + oneLine(err.Error())
		f.claims = c.Keyed()
		return f, true, nil
	}
	env, err := b.Envelope()
	if err != nil {
		return f, false, nil // a message-signature bundle: not cosign's image signature
	}
	stmt, err := env.Statement()
	if err != nil {
		return f, false, nil
	}
	if pt := stmt.GetPredicateType(); pt != predicateCosignSignV1 {
		if payload, err := env.DecodeB64Payload(); err == nil {
			att = c.bundleAttestation(b, payload, pt, manifestDigest, via, h)
		}
		return f, false, att
	}
	subjectOK := false
	for _, s := range stmt.GetSubject() {
		subjectOK = subjectOK || s.GetDigest()["sha256"] == h.Hex
	}
	hint := b.GetVerificationMaterial().GetPublicKey().GetHint()
	certSigner, signedWithCert := bundleCertificate(b)
	switch {
	case signedWithCert:
		f.SignedBy = certSigner
	case hint != "":
		f.SignedBy = "key " + hint
	default:
		f.SignedBy = "a key"
	}
	if !subjectOK {
		f.claims, f.Problem = true, "the signature's subject is another digest"
		return f, true, nil
	}
	if !c.Keyed() {
		return f, true, nil
	}
	want, err := hex.DecodeString(h.Hex)
	if err != nil {
		return f, true, nil
	}
	if signedWithCert && c.keyless != nil {
		// A certificate or chain, not a key: keyless verification
		// (keylessVerifier.check has the outcomes). Bundles with a key
		// hint take the keyed path below, as without Keyless.
		c.keyless.check(&f, b, want)
		return f, true, nil
	}
	for _, k := range c.opts.Keys {
		if hint != "" && hint != k.ID {
			continue
		}
		err := verifyBundle(b, k, want)
		if err == nil {
			f.Verified, f.claims, f.SignedBy = true, true, k.ID
			f.verified = append(f.verified, Signer{Kind: "key", KeyID: k.ID, File: k.File})
			return f, true, nil
		}
		if hint != "" {
			f.claims, f.Problem = true, fmt.Sprintf("claims key %s but does not verify: %s", k.File, oneLine(err.Error()))
		}
	}
	return f, true, nil
}

// parseBundle reads a sigstore bundle (v0.1 to v0.3). allowChain also
// accepts the certificate chain of a private CA's v0.3 bundle (cosign sign
// --certificate-chain), which sigstore-go refuses unless asked.
func parseBundle(raw []byte, allowChain bool) (*bundle.Bundle, error) {
	pb := new(protobundle.Bundle)
	if err := protojson.Unmarshal(raw, pb); err != nil {
		return nil, err
	}
	if allowChain && pb.GetVerificationMaterial().GetX509CertificateChain() != nil {
		if b, err := bundle.NewBundle(pb, bundle.AllowCertificateChain()); err == nil {
			return b, nil // else v0.1/v0.2, where a chain needs no option
		}
	}
	return bundle.NewBundle(pb)
}

// verifyBundle is `cosign verify --key K --insecure-ignore-tlog` for a
// bundle: the key as the only trusted material, no timestamps required.
func verifyBundle(b *bundle.Bundle, k Key, digest []byte) error {
	material := root.NewTrustedPublicKeyMaterial(func(string) (root.TimeConstrainedVerifier, error) {
		return root.NewExpiringKey(k.verifier, time.Time{}, time.Time{}), nil
	})
	v, err := verify.NewVerifier(material, verify.WithNoObserverTimestamps())
	if err != nil {
		return err
	}
	_, err = v.Verify(b, verify.NewPolicy(verify.WithArtifactDigest("sha256", digest), verify.WithKey()))
	return err
}

// oneLine makes a library's error fit a one-line problem.
func oneLine(s string) string { return registry.SafeLine(s, 200) }

// simpleSigningLayers counts the layers that hold cosign signatures.
func simpleSigningLayers(layers []v1.Descriptor) int {
	n := 0
	for _, l := range layers {
		if string(l.MediaType) == mtSimpleSigning {
			n++
		}
	}
	return n
}
