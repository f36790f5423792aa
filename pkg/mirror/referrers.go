package mirror

import (
	"context"
	"reflect"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"

	"github.com/imgtrust/kubectl-imgtrust/pkg/registry"
)

// MaxReferrerCopies bounds the signatures and attestations copied with
// one image (the cosign .sig and .att tags, and each referrer): a source
// listing thousands would otherwise cost as many copies. Their reads and
// copies also draw from the image's budget (registry.Artifacts.ForDigest:
// --max-artifact-requests, --registry-lookup-timeout), shared with its
// resolution and signature check. Those past either are counted in
// Result.ReferrersSkipped.
const MaxReferrerCopies = 32

// referrerCopy copies what is attached to one digest, within the copy
// count and the image's budget.
type referrerCopy struct {
	m        *Mirror
	arts     *registry.Artifacts // the source digest's, with the pod's credential
	cred     registry.Credential
	src, dst name.Repository
	digest   string
	o        registry.CopyOptions
	left     int
}

// overBudget counts n referrers not copied because the image's reads
// were spent.
func (res *Result) overBudget(n int) {
	res.ReferrersSkipped += n
	res.ReferrersOverBudget += n
}

// budgetSpent reports whether e is a read the image's budget of reads
// refused: what it would have copied is skipped, not failed.
func budgetSpent(e *registry.Error) bool {
	return e != nil && e.Reason == registry.ReasonRequestBudget
}

// copyReferrers copies the cosign tags and the referrers of digest, adding
// them to what the target already holds for it: the mirror copy may carry
// signatures of its own (pin --sign-key, kubectl imgtrust sign), which a
// copy must never replace.
func (m *Mirror) copyReferrers(ctx context.Context, res *Result, cred registry.Credential, src, dst name.Repository, digest string, o registry.CopyOptions) *registry.Error {
	arts := m.Resolver.Artifacts(cred).ForDigest(src.Digest(digest))
	// The target's answers too take no longer than the image has left.
	ctx, cancel, e := arts.Within(ctx)
	if e != nil {
		return e
	}
	defer cancel()
	rc := &referrerCopy{m: m, arts: arts, cred: cred, src: src, dst: dst, digest: digest, o: o, left: MaxReferrerCopies}
	hex := strings.Replace(digest, ":", "-", 1)
	for _, t := range []string{hex + ".sig", hex + ".att"} {
		if e := rc.cosignTag(ctx, res, t); budgetSpent(e) {
			res.overBudget(1)
		} else if e != nil {
			return e
		}
	}
	// Each referrer is copied by digest, whether the source lists them
	// with its referrers API or in its fallback tag index: writing a
	// manifest with a subject records it in the target's referrers (its
	// API, or go-containerregistry adds it to the target's fallback tag
	// index, once). Copying the source's fallback index whole would
	// replace the target's and lose the referrers only the target had.
	descs, _, e := arts.Referrers(ctx, src.Digest(digest))
	if budgetSpent(e) {
		return nil // nothing listed, nothing known to skip
	}
	if e != nil {
		return e
	}
	for i, d := range descs {
		if rc.left == 0 {
			res.ReferrersSkipped += len(descs) - i
			return nil
		}
		if arts.Spent("") != nil {
			res.overBudget(len(descs) - i)
			arts.Skip(len(descs) - i)
			return nil
		}
		rc.left--
		cr, e := arts.Copy(ctx, src.Digest(d.Digest.String()), cred, dst.Digest(d.Digest.String()), o)
		if budgetSpent(e) {
			res.overBudget(len(descs) - i)
			arts.Skip(len(descs) - i - 1) // the refused copy counted itself
			return nil
		}
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

// cosignTag copies the source's cosign tag t (.sig or .att: an image
// whose layers are one signature or attestation each). Where the target
// already has t for another manifest, the source's layers it lacks are
// appended to the target's, as cosign itself adds a signature: each
// layer carries its own payload, signature and certificate or bundle, so
// every signature on either side stays verifiable, and verifiers accept
// the tag when any layer verifies. Leaving the target's tag alone would
// instead lose the upstream signatures at the mirror, and copying the
// source's over it would lose the mirror's own.
func (rc *referrerCopy) cosignTag(ctx context.Context, res *Result, t string) *registry.Error {
	srcTag, dstTag := rc.src.Tag(t), rc.dst.Tag(t)
	head, e := rc.arts.Head(ctx, srcTag)
	if e != nil && e.Reason == registry.ReasonNotFound {
		return nil
	}
	if e != nil {
		return e
	}
	if rc.left == 0 {
		res.ReferrersSkipped++
		return nil
	}
	rc.left--
	opts := rc.m.Resolver.WriteOptions(ctx, rc.o.Push)
	from := rc.src.Digest(head.Digest.String())
	cur, err := remote.Head(dstTag, opts...)
	if err != nil {
		if e := rc.m.Resolver.WriteError(ctx, dstTag, err); e.Reason != registry.ReasonNotFound {
			return e
		}
	} else if cur.Digest != head.Digest {
		now, wrote, e := rc.merge(ctx, from, rc.dst.Digest(cur.Digest.String()), dstTag, opts)
		if e != nil {
			return e
		}
		// The target's tag now holds both sides: Copy finds it there and
		// only checks it whole, as every copy is checked.
		from = rc.dst.Digest(now)
		if wrote {
			res.Signatures++
		}
	}
	o := rc.o
	o.OverwriteTags = true // only ever moved to the source's or the merge
	cred := rc.cred
	if from.Context() == rc.dst {
		// Were the tag moved meanwhile, the merge is read back from the
		// target: with the push credential, never the source's.
		cred = registry.Credential{Source: "push", ID: "push:" + rc.dst.RegistryStr(), Auth: rc.o.Push}
	}
	cr, e := rc.arts.Copy(ctx, from, cred, dstTag, o)
	if e != nil {
		return e
	}
	res.BlobsChecked += cr.BlobsChecked
	if !cr.AlreadyPresent {
		res.Signatures++
	}
	return nil
}

// merge appends to the target's image cur, tagged dstTag, the layers of
// the source's manifest src it does not have (the same blob with the same
// annotations is the same signature), writes the result under dstTag and
// returns its digest; cur's, and wrote false, when cur had them all.
func (rc *referrerCopy) merge(ctx context.Context, src, cur name.Digest, dstTag name.Tag, opts []remote.Option) (now string, wrote bool, e *registry.Error) {
	a := rc.arts
	desc, e := a.Manifest(ctx, src)
	if e != nil {
		return "", false, e
	}
	srcImg, err := desc.Image()
	if err != nil {
		return "", false, &registry.Error{Reason: registry.ReasonServerError, Message: "the cosign tag " + src.Name() + " is not an image: " + err.Error()}
	}
	srcM, err := srcImg.Manifest()
	if err != nil {
		return "", false, rc.m.Resolver.WriteError(ctx, src, err)
	}
	dstImg, err := remote.Image(cur, opts...)
	if err != nil {
		return "", false, rc.m.Resolver.WriteError(ctx, cur, err)
	}
	dstM, err := dstImg.Manifest()
	if err != nil {
		return "", false, rc.m.Resolver.WriteError(ctx, cur, err)
	}
	var adds []mutate.Addendum
	for _, l := range srcM.Layers {
		if hasLayer(dstM.Layers, l) {
			continue
		}
		b, e := a.Blob(ctx, rc.src, l.Digest)
		if e != nil {
			return "", false, e
		}
		adds = append(adds, mutate.Addendum{Layer: static.NewLayer(b, l.MediaType), Annotations: l.Annotations, MediaType: l.MediaType})
	}
	if len(adds) == 0 {
		return cur.DigestStr(), false, nil
	}
	img, err := mutate.Append(dstImg, adds...)
	if err == nil {
		err = remote.Write(dstTag, img, opts...)
	}
	if err != nil {
		return "", false, rc.m.Resolver.WriteError(ctx, dstTag, err)
	}
	d, err := img.Digest()
	if err != nil {
		return "", false, rc.m.Resolver.WriteError(ctx, dstTag, err)
	}
	return d.String(), true, nil
}

// hasLayer: one of layers is l, blob and annotations alike.
func hasLayer(layers []v1.Descriptor, l v1.Descriptor) bool {
	for _, h := range layers {
		if h.Digest == l.Digest && h.MediaType == l.MediaType && reflect.DeepEqual(h.Annotations, l.Annotations) {
			return true
		}
	}
	return false
}
