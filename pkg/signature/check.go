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
	// referrers) and reads the best one of each accepted type into
	// Result.Attestations (AnyAttestation accepts several kinds).
	Attestations func(predicateType string) bool
	// Keyless, when set, verifies certificate-based (Fulcio/keyless or
	// private-PKI) bundle signatures against trusted material and identities.
	Keyless *Keyless
	// Require are predicate types of attestations the digest must have,
	// verified by Keys or Keyless (a trust-policy rule's require); the
	// verdict of each is in Result.Required.
	Require []string
}

// Checker checks digests against the configured keys and certificates.
type Checker struct {
	opts     Options
	notation *notationVerifier
	keyless  *keylessVerifier

	// A ClusterImagePolicy's checker passes when any of its authorities'
	// does (anyOf); the checker of the policies matching one image when
	// all of theirs do (allOf). rule names the policy or policies.
	anyOf, allOf []*Checker
	rule         string
	// unread says why this checker cannot check anything (a rule whose
	// k8s:// keys are still to be read): its results are lookup failures.
	unread string
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
	if len(c.anyOf)+len(c.allOf) > 0 {
		return true
	}
	return len(c.opts.Keys) > 0 || len(c.opts.Certs) > 0 || c.opts.Keyless != nil
}

// found is one signature artifact with its verdict.
type found struct {
	Artifact
	claims   bool     // it names a configured key or certificate
	verified []Signer // who verified it
}

// lookup is one Check in progress: what was found, what failed, and what
// a cap cut short (a cut read proves nothing negative).
type lookup struct {
	c         *Checker
	arts      *registry.Artifacts
	repo      name.Repository
	h         v1.Hash
	all       []found
	failures  []string
	truncated []string
	atts      []Attestation
	attFails  []string
}

func (l *lookup) fail(e *registry.Error) { l.failures = append(l.failures, e.Error()) }

// cut records that a cap stopped a read of what.
func (l *lookup) cut(what string, read, total int) {
	l.truncated = append(l.truncated, fmt.Sprintf("too many %s: read %d of %d", what, read, total))
}

// Check finds and verifies the signatures of digest in repo, reading with
// one credential. It never returns an error: failures are in the Result.
//
// Every read draws from the digest's budget (registry.Artifacts.ForDigest:
// its time and its artifact reads, shared with the caller's other reads
// of it): a listing of thousands of untyped referrers costs at most
// --max-artifact-requests reads, and a read the budget cut short is never
// a negative verdict.
func (c *Checker) Check(ctx context.Context, arts *registry.Artifacts, repo name.Repository, digest string) Result {
	arts = arts.ForDigest(repo.Digest(digest))
	skipped := arts.Skipped()
	res := c.check(ctx, arts, repo, digest)
	res.ReadsSkipped = arts.Skipped() - skipped
	// A read the budget skipped may hide a newer signature or attestation:
	// such a result is never kept between runs.
	res.Complete = res.Complete && res.ReadsSkipped == 0
	return res
}

func (c *Checker) check(ctx context.Context, arts *registry.Artifacts, repo name.Repository, digest string) Result {
	if len(c.anyOf)+len(c.allOf) > 0 {
		res, _ := c.checkCombined(ctx, arts, repo, digest)
		return res
	}
	if c.unread != "" {
		return Result{Status: StatusLookupFailed, Digest: digest, Error: c.unread}
	}
	h, err := v1.NewHash(digest)
	if err != nil {
		return Result{Status: StatusLookupFailed, Digest: digest, Error: fmt.Sprintf("%q is not a digest", digest)}
	}
	l := &lookup{c: c, arts: arts, repo: repo, h: h}
	l.sigTag(ctx)
	if c.opts.Attestations != nil || len(c.opts.Require) > 0 {
		l.attTag(ctx)
	}
	l.referrers(ctx)
	res := c.verdict(Result{Digest: digest}, l.all, l.failures, l.truncated)
	res.Attestations = bestAttestations(l.atts)
	res.AttestationsError = summarize(l.attFails)
	for _, pt := range c.opts.Require {
		res.Required = append(res.Required, l.required(pt))
	}
	res.Complete = len(l.failures)+len(l.truncated)+len(l.attFails) == 0
	return res
}

// sigTag reads the legacy cosign .sig tag.
func (l *lookup) sigTag(ctx context.Context) {
	tag := l.repo.Tag(strings.Replace(l.h.String(), ":", "-", 1) + ".sig")
	desc, e := l.arts.TagManifest(ctx, tag)
	if e != nil {
		if e.Reason != registry.ReasonNotFound {
			l.fail(e)
		}
		return
	}
	l.all = append(l.all, l.c.cosignSimpleSigning(ctx, l.arts, l.repo, l.h, desc.Digest.String(), desc.Manifest, ViaSigTag, l.fail, l.cutLayers)...)
}

func (l *lookup) cutLayers(read, total int) {
	l.cut("signatures in one cosign signature manifest", read, total)
}

// attTag reads the legacy cosign attestation tag.
func (l *lookup) attTag(ctx context.Context) {
	tag := l.repo.Tag(strings.Replace(l.h.String(), ":", "-", 1) + ".att")
	attFail := func(e *registry.Error) { l.attFails = append(l.attFails, e.Error()) }
	desc, e := l.arts.TagManifest(ctx, tag)
	if e != nil {
		if e.Reason != registry.ReasonNotFound {
			attFail(e)
		}
		return
	}
	keep := func(a Attestation) { l.atts = append(l.atts, a) }
	l.c.legacyAttestations(ctx, l.arts, l.repo, l.h, desc.Digest.String(), desc.Manifest, l.needAttestation, keep, attFail)
}

// maxRequiredPerType bounds the attestations of one required predicate
// type read per digest while none verifies.
const maxRequiredPerType = 4

// needAttestation reports whether an attestation of predicateType is
// still worth reading. Each predicate type is its own kind (provenance,
// imgtrust's checks, a vulnerability scan, an SBOM: one lookup finds all
// asked for): read until one verifies, at most maxRequiredPerType of a
// type; past the first only when a key or identity could verify another.
func (l *lookup) needAttestation(predicateType string) bool {
	c := l.c
	if !c.wantAttestation(predicateType) {
		return false
	}
	n := 0
	for _, a := range l.atts {
		if a.PredicateType == predicateType {
			if a.Verified && !keepsEvery(predicateType) {
				return false
			}
			n++
		}
	}
	if n > 0 && !c.required(predicateType) && !c.Keyed() {
		return false // nothing given could verify a second one
	}
	return n < maxRequiredPerType
}

// bestAttestations keeps one attestation per predicate type, in the
// order read: the first verified one, else the first read (for SLSA
// provenance and imgtrust's checks, the oldest verified when the registry
// lists oldest first, as the .att tag and the referrers tag do). Of the
// kinds a later one supersedes (keepsEvery) it keeps every one read, for
// the caller to choose by what the statements say.
func bestAttestations(atts []Attestation) []Attestation {
	var best []Attestation
	at := map[string]int{}
	for _, a := range atts {
		i, ok := at[a.PredicateType]
		switch {
		case keepsEvery(a.PredicateType):
			best = append(best, a)
		case !ok:
			at[a.PredicateType] = len(best)
			best = append(best, a)
		case a.Verified && !best[i].Verified:
			best[i] = a
		}
	}
	return best
}

// keepsEvery reports whether every attestation of a predicate type read
// is kept, not only the first verified: a later vulnerability scan (or VEX
// document) supersedes an earlier one, so the caller needs them all to
// pick the newest verified by its scan time. Reading them is bounded by
// maxRequiredPerType, and only with a key or identity that could verify
// one.
func keepsEvery(predicateType string) bool {
	return predicateType == PredicateCosignVuln || predicateType == PredicateOpenVEX
}

// Predicate types whose attestations are all kept (keepsEvery); pkg/vulns
// reads them.
const (
	PredicateCosignVuln = "https://cosign.sigstore.dev/attestation/vuln/v1"
	PredicateOpenVEX    = "https://openvex.dev/ns"
)

// required is the verdict on one required predicate type: verified by an
// authority; present but not verified (who signed it, why not); else a
// lookup that failed or was cut short proves nothing; else missing.
func (l *lookup) required(predicateType string) Required {
	r := Required{PredicateType: predicateType}
	var seen []Attestation
	for _, a := range l.atts {
		if a.PredicateType != predicateType {
			continue
		}
		if a.Verified {
			r.Status, r.SignedBy = RequiredVerified, a.SignedBy
			return r
		}
		seen = append(seen, a)
	}
	if len(seen) > 0 {
		r.Status, r.SignedBy, r.Problem = RequiredUnverified, seen[0].SignedBy, seen[0].Problem
		if len(seen) > 1 {
			r.Problem = strings.TrimPrefix(r.Problem+fmt.Sprintf("; none of the %d read verifies", len(seen)), "; ")
		}
		return r
	}
	if failed := append(append(append([]string(nil), l.failures...), l.attFails...), l.truncated...); len(failed) > 0 {
		r.Status, r.Problem = RequiredLookupFailed, summarize(failed)
		return r
	}
	r.Status = RequiredMissing
	return r
}

// referrers reads bundles, cosign signatures in referrers mode and
// Notation signatures, at most MaxSignatures of them, and the manifests
// of untyped referrers to tell their kind while the digest's reads last.
func (l *lookup) referrers(ctx context.Context) {
	c := l.c
	d := l.repo.Digest(l.h.String())
	descs, via, e := l.arts.Referrers(ctx, d)
	if e != nil {
		l.fail(e)
	}
	var subject *v1.Descriptor
	read, fetched := 0, 0
	for i, desc := range descs {
		kind := desc.ArtifactType
		if kind == mtOCIEmpty {
			kind = "" // fallback indexes may list bundles so: decide by the manifest
		}
		if kind != "" && !signatureKinds[kind] {
			continue // SBOMs and other attachments
		}
		if (kind == mtSigstoreBundle || kind == "") && l.skipBundle(desc.Annotations) {
			continue // an attestation, not a signature (and not one asked for, or one of its kind verified)
		}
		ref := l.repo.Digest(desc.Digest.String())
		spent := l.arts.Spent("the rest")
		if spent != nil && l.arts.Remembers(ref) {
			spent = nil // read already, for another authority: no read is drawn
		}
		if read == c.opts.MaxSignatures || spent != nil {
			switch rest := candidates(descs[i:]); {
			case rest == 0:
			case read == c.opts.MaxSignatures:
				l.cut("signature referrers", read, read+rest)
			default:
				l.arts.SkipManifests(candidateRefs(l.repo, descs[i:]))
				l.truncated = append(l.truncated, fmt.Sprintf("%d of %d referrers to classify read, %d skipped (%s)", fetched, fetched+rest, rest, spent.Message))
			}
			return
		}
		fetched++
		m, e := l.arts.Manifest(ctx, ref)
		if e != nil {
			l.fail(e)
			continue
		}
		mf, err := v1.ParseManifest(bytes.NewReader(m.Manifest))
		if err != nil {
			l.failures = append(l.failures, fmt.Sprintf("referrer %s is not a manifest", desc.Digest))
			continue
		}
		if kind == "" {
			kind = classify(mf)
		}
		if !signatureKinds[kind] || kind == mtSigstoreBundle && l.skipBundle(mf.Annotations) {
			continue // the manifest says what the listing did not: no blob read
		}
		read++
		subject = l.readReferrer(ctx, kind, desc, m.Manifest, mf, via, subject)
	}
}

// skipBundle reports whether a sigstore bundle's predicate annotation
// (cosign writes it on the manifest; listings repeat it) names an
// attestation not worth reading.
func (l *lookup) skipBundle(annotations map[string]string) bool {
	pt := annotations[annotationBundleType]
	return pt != "" && pt != predicateCosignSignV1 && !l.needAttestation(pt)
}

// candidates counts the referrers that are, or may be, signatures.
func candidates(descs []v1.Descriptor) int {
	n := 0
	for _, d := range descs {
		if k := d.ArtifactType; k == "" || k == mtOCIEmpty || signatureKinds[k] {
			n++
		}
	}
	return n
}

// candidateRefs are the manifests of the referrers candidates counts.
func candidateRefs(repo name.Repository, descs []v1.Descriptor) []name.Reference {
	var refs []name.Reference
	for _, d := range descs {
		if k := d.ArtifactType; k == "" || k == mtOCIEmpty || signatureKinds[k] {
			refs = append(refs, repo.Digest(d.Digest.String()))
		}
	}
	return refs
}

// readReferrer verifies one signature referrer of a known kind; Notation
// needs the subject's descriptor, read once and returned.
func (l *lookup) readReferrer(ctx context.Context, kind string, desc v1.Descriptor, raw []byte, mf *v1.Manifest, via string, subject *v1.Descriptor) *v1.Descriptor {
	c := l.c
	switch kind {
	case mtSigstoreBundle:
		f, ok, att := c.cosignBundle(ctx, l.arts, l.repo, l.h, desc.Digest.String(), mf, via, l.fail)
		if ok {
			l.all = append(l.all, f)
		}
		if att != nil && l.needAttestation(att.PredicateType) {
			l.atts = append(l.atts, *att)
		}
	case mtCosignArtifactSig:
		l.all = append(l.all, c.cosignSimpleSigning(ctx, l.arts, l.repo, l.h, desc.Digest.String(), raw, via, l.fail, l.cutLayers)...)
	case mtNotationSignature:
		if subject == nil {
			sd, e := l.arts.Head(ctx, l.repo.Digest(l.h.String()))
			if e != nil {
				l.fail(e)
				return nil
			}
			subject = sd
		}
		if f, ok := c.notationSignature(ctx, l.arts, l.repo, *subject, desc.Digest.String(), mf, via, l.fail); ok {
			l.all = append(l.all, f)
		}
	}
	return subject
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

// verdict sums up the artifacts. Verified wins; a read a cap cut short
// proves nothing else (the trusted signature may lie beyond it); then a
// signature that claims a trusted key but fails, or that no key could
// have made, is invalid; an incomplete lookup proves nothing; then
// other-key, unverified, unsigned.
func (c *Checker) verdict(res Result, all []found, failures, truncated []string) Result {
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
	case len(truncated) > 0:
		res.Status = StatusLookupFailed
		res.Error = summarize(truncated) + ", and none of those read verifies"
	case len(invalid) > 0:
		res.Status, res.Error = StatusInvalid, summarize(invalid)
	case len(failures) > 0:
		res.Status, res.Error = StatusLookupFailed, summarize(failures)
	case len(all) == 0:
		res.Status = StatusUnsigned
	case !c.Keyed():
		res.Status = StatusUnverified
	default:
		res.Status = StatusOtherKey
	}
	return res
}

// summaryLimit is how many distinct problems an error names before it
// says how many more there were: a lookup failing thousands of times must
// not become a megabyte of JSON.
const summaryLimit = 3

// summarize joins problems, each distinct one once, the first few only.
func summarize(problems []string) string {
	var distinct []string
	for _, p := range problems {
		if !slices.Contains(distinct, p) {
			distinct = append(distinct, p)
		}
	}
	if len(distinct) > summaryLimit {
		shown := distinct[:summaryLimit]
		more := 0
		for _, p := range problems {
			if !slices.Contains(shown, p) {
				more++
			}
		}
		return strings.Join(shown, "; ") + fmt.Sprintf("; and %d more", more)
	}
	return strings.Join(distinct, "; ")
}
