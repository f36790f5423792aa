package mirror

import (
	"context"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/imgtrust/kubectl-imgtrust/pkg/registry"
)

// MaxReferrerCopies bounds the signatures and attestations copied with
// one image (the cosign .sig and .att tags, and each referrer): a source
// listing thousands would otherwise cost as many copies. The rest are
// counted in Result.ReferrersSkipped.
const MaxReferrerCopies = 32

// referrerCopy copies what is attached to one digest, within the budget
// and one lookup deadline for them all.
type referrerCopy struct {
	m        *Mirror
	cred     registry.Credential
	src, dst name.Repository
	digest   string
	o        registry.CopyOptions
	left     int
}

// copyReferrers copies the cosign tags and the referrers of digest: from
// the source's referrers API by digest (go-containerregistry records each
// in the target's referrers, or its fallback tag where it has no API), or
// its fallback tag index whole, when it fits the budget.
func (m *Mirror) copyReferrers(ctx context.Context, res *Result, cred registry.Credential, src, dst name.Repository, digest string, o registry.CopyOptions) *registry.Error {
	ctx, cancel := context.WithTimeout(ctx, m.Resolver.LookupTimeout())
	defer cancel()
	rc := &referrerCopy{m: m, cred: cred, src: src, dst: dst, digest: digest, o: o, left: MaxReferrerCopies}
	hex := strings.Replace(digest, ":", "-", 1)
	for _, t := range []string{hex + ".sig", hex + ".att"} {
		if e := rc.tag(ctx, res, t, 1); e != nil {
			return e
		}
	}
	descs, via, e := m.Resolver.Artifacts(cred).Referrers(ctx, src.Digest(digest))
	if e != nil || len(descs) == 0 {
		return e
	}
	if via != registry.ViaReferrersAPI {
		return rc.tag(ctx, res, hex, len(descs))
	}
	for i, d := range descs {
		if rc.left == 0 {
			res.ReferrersSkipped += len(descs) - i
			return nil
		}
		rc.left--
		cr, e := m.Resolver.Copy(ctx, src.Digest(d.Digest.String()), cred, dst.Digest(d.Digest.String()), o)
		if e != nil {
			return e
		}
		res.BlobsChecked += cr.BlobsChecked
		if !cr.AlreadyPresent {
			res.Signatures++
		}
	}
	return nil
}

// tag copies source tag t, which holds n signatures or referrers, when
// the budget has room for them all, else skips it.
func (rc *referrerCopy) tag(ctx context.Context, res *Result, t string, n int) *registry.Error {
	if n > rc.left {
		res.ReferrersSkipped += n
		return nil
	}
	found, cr, e := rc.m.Resolver.CopyTag(ctx, rc.src.Tag(t), rc.cred, rc.dst.Tag(t), rc.o)
	if e != nil || !found {
		return e
	}
	rc.left -= n
	res.BlobsChecked += cr.BlobsChecked
	if !cr.AlreadyPresent {
		res.Signatures++
	}
	return nil
}
