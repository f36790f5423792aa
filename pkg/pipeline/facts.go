package pipeline

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"os"
	"slices"
	"strconv"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/imgtrust/kubectl-imgtrust/pkg/factcache"
	"github.com/imgtrust/kubectl-imgtrust/pkg/provenance"
	"github.com/imgtrust/kubectl-imgtrust/pkg/registry"
	"github.com/imgtrust/kubectl-imgtrust/pkg/signature"
	"github.com/imgtrust/kubectl-imgtrust/pkg/trustpolicy"
)

// This file: the registry stage's reads through the fact cache
// (AuditStage.Facts). Each read is looked up by everything that can change
// its answer, and kept only when it is complete; tags are resolved and
// listed every run.

// FactsKey digests everything that decides a signature verdict besides the
// digest, repository and credential: the keys, certificates, trust policy
// and the files it names, the trusted root, the keyless identity and the
// attestation kinds asked for. ok is false when the verdict depends on
// what the cluster holds (--trust-policy=cluster, k8s:// keys) or a file
// cannot be read: then signature verdicts are not cached.
func (c SignatureConfig) FactsKey(attestations ...string) (key string, ok bool) {
	if c.TrustPolicy == ClusterTrustPolicy {
		return "", false
	}
	h := sha256.New()
	write := func(parts ...string) {
		for _, p := range parts {
			var n [8]byte
			binary.BigEndian.PutUint64(n[:], uint64(len(p)))
			h.Write(n[:])
			h.Write([]byte(p))
		}
	}
	file := func(what, p string) bool {
		b, err := os.ReadFile(p)
		write(what, p, string(b))
		return err == nil
	}
	for _, k := range c.VerifyKeys {
		if !file("key", k) {
			return "", false
		}
	}
	for _, k := range c.TrustCerts {
		if !file("cert", k) {
			return "", false
		}
	}
	if c.TrustPolicy != "" {
		p, err := trustpolicy.Load(c.TrustPolicy)
		if err != nil || !file("policy", c.TrustPolicy) {
			return "", false
		}
		for _, r := range p.Rules {
			for _, k := range r.Keys {
				if _, _, inCluster := trustpolicy.K8sKey(k); inCluster || !file("key", k) {
					return "", false
				}
			}
			for _, k := range r.Notation {
				if !file("cert", k) {
					return "", false
				}
			}
		}
	}
	if c.TrustedRoot != "" && !file("root", c.TrustedRoot) {
		return "", false
	}
	id := c.Keyless
	write("keyless", id.Subject, id.SubjectRegExp, id.Issuer, id.IssuerRegExp,
		strconv.FormatBool(c.IgnoreTlog), strconv.FormatBool(c.IgnoreSCT))
	kinds := slices.Clone(attestations)
	slices.Sort(kinds)
	write(append([]string{"attestations"}, kinds...)...)
	return hex.EncodeToString(h.Sum(nil)), true
}

// credIdentity is the cache's identity of a credential's content; ok is
// false when it cannot be told (its Authorization fails).
func (s AuditStage) credIdentity(cred registry.Credential) (string, bool) {
	if cred.Auth == nil || cred.ID == registry.Anonymous.ID {
		return "anonymous", true
	}
	cfg, err := cred.Auth.Authorization()
	if err != nil {
		return "", false
	}
	return s.Facts.Identity(cfg.Username, cfg.Password, cfg.Auth, cfg.IdentityToken, cfg.RegistryToken), true
}

// cachedSignature is a signature verdict as kept: Result's JSON leaves the
// attestations' statements out.
type cachedSignature struct {
	Result     signature.Result `json:"result"`
	Statements [][]byte         `json:"statements,omitempty"`
}

// signatureFact is the verdict on j from the cache, else from check, kept
// when complete and vouched. Without FactsAuthorities nothing is kept.
func (s AuditStage) signatureFact(j *sigJob, check func() signature.Result) signature.Result {
	if s.Facts == nil || s.FactsAuthorities == "" {
		return check()
	}
	cred, ok := s.credIdentity(j.cred)
	if !ok {
		return check()
	}
	key := []string{j.repo.Name(), j.digest, cred, j.choice.Rule, j.choice.KeySet, s.FactsAuthorities}
	var c cachedSignature
	if s.Facts.Get(factcache.Signature, key, &c) && len(c.Statements) == len(c.Result.Attestations) {
		for i := range c.Result.Attestations {
			c.Result.Attestations[i].Statement = c.Statements[i]
		}
		c.Result.Complete = true
		return c.Result
	}
	res := check()
	if res.Complete && vouched(res) {
		c = cachedSignature{Result: res}
		for _, a := range res.Attestations {
			c.Statements = append(c.Statements, a.Statement)
		}
		s.Facts.Put(factcache.Signature, key, c)
	}
	return res
}

// vouched: the digest is verified and every attestation the rule requires
// is there. Only such a verdict is kept between runs: a missing signature
// or attestation can be added at any time (a user who runs sign, then
// audit again, must see it), while one that verified stays verified.
func vouched(res signature.Result) bool {
	// unverified: signatures are there and no key was asked for; they
	// stay there.
	if res.Status != signature.StatusVerified && res.Status != signature.StatusUnverified {
		return false
	}
	for _, q := range res.Required {
		if q.Status != signature.RequiredVerified {
			return false
		}
	}
	return true
}

// provenanceFact is j's provenance from the cache, else from read, kept
// when complete. The attestations it was read with are part of the key,
// so a new one (found once the signature verdict expires) reads it again.
// cached says no request was sent.
func (s AuditStage) provenanceFact(j *provJob, read func() provenance.Provenance) (p provenance.Provenance, cached bool) {
	if s.Facts == nil {
		return read(), false
	}
	cred, ok := s.credIdentity(j.cred)
	if !ok {
		return read(), false
	}
	h := sha256.New()
	for _, a := range j.attested {
		h.Write([]byte(strconv.Quote(string(a.Statement)) + strconv.FormatBool(a.Verified) + strconv.Quote(a.SignedBy)))
	}
	key := []string{j.repo.Name(), j.digest, cred, platformString(j.platform), hex.EncodeToString(h.Sum(nil))}
	if s.Facts.Get(factcache.Provenance, key, &p) {
		p.Requests = 0 // this run sent none
		return p, true
	}
	p = read()
	if p.Complete() {
		s.Facts.Put(factcache.Provenance, key, p)
	}
	return p, false
}

// indexFact is the manifests an index lists, from the cache, else from
// read, kept when read without error.
func (s AuditStage) indexFact(j *tagIndexJob, read func() tagIndexRead) tagIndexRead {
	if s.Facts == nil {
		return read()
	}
	cred, ok := s.credIdentity(j.cred)
	if !ok {
		return read()
	}
	key := []string{j.ref.Context().Name(), j.ref.DigestStr(), cred}
	var manifests []string
	if s.Facts.Get(factcache.IndexManifests, key, &manifests) {
		if manifests == nil {
			manifests = []string{}
		}
		return tagIndexRead{manifests: manifests}
	}
	r := read()
	if r.err == nil {
		s.Facts.Put(factcache.IndexManifests, key, r.manifests)
	}
	return r
}

func platformString(p *v1.Platform) string {
	if p == nil {
		return ""
	}
	return p.String()
}
