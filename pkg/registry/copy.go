package registry

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// CopyOptions say how to write to the target registry.
type CopyOptions struct {
	// Push authenticates to the target (the local docker config's entry
	// for it); nil is anonymous.
	Push authn.Authenticator
	// OverwriteTags lets the target tag move from another digest.
	OverwriteTags bool
	// Progress, when set, is told the bytes written so far.
	Progress func(written, total int64)
	// Seen, when set, holds the blobs already found at the target this
	// run: they are not asked for again.
	Seen *BlobsSeen
	// Image, when set (ForDigest of the source), is the image whose lookup
	// budget the copy's lookups draw from (the target tag's HEAD, the
	// check after the copy), shared with its resolution and signature
	// check; nil gives them a lookup timeout of their own. The transfer of
	// the blobs is not drawn: an image's size is not a stall.
	Image *Artifacts
}

// CopyResult counts what a copy transferred.
type CopyResult struct {
	// AlreadyPresent: the target already held the digest under the tag.
	AlreadyPresent bool `json:"alreadyPresent"`
	// Blobs uploaded or mounted, and the bytes sent.
	Blobs int   `json:"blobs"`
	Bytes int64 `json:"bytes"`
	// Manifests checked present at the target by digest afterwards (the
	// image or index and each platform manifest).
	Manifests int `json:"manifests"`
	// BlobsChecked: blob HEADs sent to the target afterwards (blobs in
	// Seen are not asked for again).
	BlobsChecked int `json:"blobsChecked"`
	// Signatures: cosign .sig/.att tags and referrers copied.
	Signatures int `json:"signatures"`
}

// Copy copies digest src, read with cred, to the target tag dst: an index
// with every platform manifest, each manifest with its config and layers
// (blobs the target has are skipped; go-containerregistry mounts across
// repositories of one registry), then checks the target as a pull by
// digest would read it, even when it already had the tag: each manifest
// (its content must hash to its digest) and a HEAD of each blob they name
// (checkCopied). A blob missing there, or an upload the target sent to
// another host, is ReasonIncompleteCopy. A target tag that names another
// digest is refused (ReasonTagConflict) unless OverwriteTags.
func (r *Resolver) Copy(ctx context.Context, src name.Digest, cred Credential, dst name.Reference, o CopyOptions) (CopyResult, *Error) {
	var res CopyResult
	counter := &pushTransport{next: r.stack}
	push := o.Push
	if push == nil {
		push = authn.Anonymous
	}
	pushOpts := append(slices.Clone(r.remote), remote.WithTransport(counter), remote.WithAuth(push), remote.WithContext(ctx))
	srcCl := classifier{registry: src.RegistryStr(), ref: src.Name(), attempts: r.opts.Retries, ctx: ctx, lookup: ctx}
	dstCl := classifier{registry: dst.Context().RegistryStr(), ref: dst.Name(), attempts: r.opts.Retries, ctx: ctx, lookup: ctx}
	fail := func(cl classifier, err error) (CopyResult, *Error) {
		var e *Error
		if errors.As(err, &e) {
			return res, e
		}
		return res, cl.classify(err)
	}

	// The target tag: where it points now decides what there is to do.
	headCtx, headDone, e := r.copyLookup(ctx, o.Image, "the target tag "+dst.String())
	if e != nil {
		return res, e
	}
	cur, err := remote.Head(dst, append(slices.Clone(pushOpts), remote.WithContext(headCtx))...)
	headCl := dstCl
	headCl.lookup, headCl.lookupLimit, headCl.perImage = headCtx, r.opts.LookupTimeout, o.Image != nil && o.Image.budget != nil
	var headErr *Error
	if err != nil {
		headErr = headCl.classify(err) // before headDone cancels headCtx
	}
	headDone()
	if headErr == nil {
		if cur.Digest.String() != src.DigestStr() && !o.OverwriteTags {
			return res, &Error{Reason: ReasonTagConflict, Message: fmt.Sprintf("%s already points at %s, not %s: not overwritten (pass --overwrite-tags to move it)", dst, cur.Digest, src.DigestStr())}
		}
		if cur.Digest.String() == src.DigestStr() {
			res.AlreadyPresent = true
		}
	} else if headErr.Reason != ReasonNotFound {
		return res, headErr
	}

	if !res.AlreadyPresent {
		p, err := r.puller(cred)
		if err != nil {
			return fail(srcCl, err)
		}
		desc, err := remote.Get(src, remote.Reuse(p), remote.WithContext(ctx))
		if err != nil {
			return fail(srcCl, err)
		}
		updates := make(chan v1.Update, 16)
		done := make(chan struct{})
		go func() {
			defer close(done)
			for u := range updates {
				res.Bytes = u.Complete
				if o.Progress != nil {
					o.Progress(u.Complete, u.Total)
				}
			}
		}()
		err = write(desc, dst, pushOpts, updates)
		<-done
		res.Blobs = int(counter.blobs.Load())
		if err != nil {
			return fail(dstCl, err)
		}
	}

	// Only what the target now answers by digest counts as copied.
	res.Manifests, res.BlobsChecked, e = r.checkCopied(ctx, dst.Context().Digest(src.DigestStr()), pushOpts, dstCl, o.Seen, o.Image)
	return res, e
}

// write pushes an index or an image to dst. go-containerregistry closes
// updates when it is done; write closes it when nothing was pushed.
func write(desc *remote.Descriptor, dst name.Reference, opts []remote.Option, updates chan v1.Update) error {
	opts = append(opts, remote.WithProgress(updates))
	if desc.MediaType.IsIndex() {
		idx, err := desc.ImageIndex()
		if err != nil {
			close(updates)
			return err
		}
		return remote.WriteIndex(dst, idx, opts...)
	}
	img, err := desc.Image()
	if err != nil {
		close(updates)
		return err
	}
	return remote.Write(dst, img, opts...)
}

// CopyTag copies the manifest (image or index) a source tag names to the
// same tag in the target repository, unless the target already has it
// there (res.AlreadyPresent). found is false when the source has no such
// tag.
func (r *Resolver) CopyTag(ctx context.Context, src name.Tag, cred Credential, dst name.Tag, o CopyOptions) (found bool, res CopyResult, e *Error) {
	head, e := r.Artifacts(cred).Head(ctx, src)
	if e != nil && e.Reason == ReasonNotFound {
		return false, res, nil
	}
	if e != nil {
		return false, res, e
	}
	o.OverwriteTags = true // signature tags follow the source
	res, e = r.Copy(ctx, src.Context().Digest(head.Digest.String()), cred, dst, o)
	return true, res, e
}

// Copy copies one of the image's artifacts (a referrer, a cosign tag's
// manifest) as Resolver.Copy does, read with cred, within the image's
// budget (ForImage, ForDigest): the copy takes one of its reads, and one
// more per blob it transferred, and no longer than the time it has left.
// It is not tried once either is spent (ReasonRequestBudget, timeout).
func (a *Artifacts) Copy(ctx context.Context, src name.Digest, cred Credential, dst name.Reference, o CopyOptions) (CopyResult, *Error) {
	if e := a.take(1, "the copy of "+src.Name()); e != nil {
		return CopyResult{}, e
	}
	b := a.budget
	if b == nil {
		b = a.r.newBudget()
	}
	lctx, _, done, ok := b.start(ctx)
	if !ok {
		return CopyResult{}, b.spentError(a.image, "the copy of "+src.Name())
	}
	defer done()
	res, e := a.r.Copy(lctx, src, cred, dst, o)
	if res.Blobs > 0 {
		// Drawn after the fact: the copy is whole or failed, never cut.
		b.mu.Lock()
		b.reads += res.Blobs
		b.mu.Unlock()
	}
	return res, e
}

// copyLookup bounds one lookup of a copy by what is left of img's
// budget (a lookup timeout of its own without one), drawing the time it
// ran once done is called; it fails as timeout when the budget is spent.
func (r *Resolver) copyLookup(ctx context.Context, img *Artifacts, what string) (lctx context.Context, done func(), e *Error) {
	if img == nil || img.budget == nil {
		lctx, cancel := context.WithTimeout(ctx, r.opts.LookupTimeout)
		return lctx, cancel, nil
	}
	lctx, _, done, ok := img.budget.start(ctx)
	if !ok {
		return nil, nil, img.budget.spentError(img.image, what)
	}
	return lctx, done, nil
}
