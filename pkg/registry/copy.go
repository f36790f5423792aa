package registry

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"

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
	// Signatures: cosign .sig/.att tags and referrers copied.
	Signatures int `json:"signatures"`
}

// uploadCounter counts the blob uploads a push makes: finished uploads
// (PUT …/blobs/uploads/…) and cross-repository mounts that took (201).
type uploadCounter struct {
	next  http.RoundTripper
	blobs atomic.Int64
}

func (u *uploadCounter) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := u.next.RoundTrip(req)
	if err != nil || !strings.Contains(req.URL.Path, "/blobs/uploads/") {
		return resp, err
	}
	switch {
	case req.Method == http.MethodPut && resp.StatusCode == http.StatusCreated:
		u.blobs.Add(1)
	case req.Method == http.MethodPost && req.URL.Query().Get("mount") != "" && resp.StatusCode == http.StatusCreated:
		u.blobs.Add(1)
	}
	return resp, nil
}

// Copy copies digest src, read with cred, to the target tag dst: an index
// with every platform manifest, each manifest with its config and layers
// (blobs the target has are skipped; go-containerregistry mounts across
// repositories of one registry), then checks the target by digest: a GET
// of the image or index (its content must hash to the digest) and, for an
// index, a HEAD of each manifest it lists. A target tag that names
// another digest is refused (ReasonTagConflict) unless OverwriteTags.
func (r *Resolver) Copy(ctx context.Context, src name.Digest, cred Credential, dst name.Reference, o CopyOptions) (CopyResult, *Error) {
	var res CopyResult
	counter := &uploadCounter{next: r.stack}
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
	if cur, err := remote.Head(dst, pushOpts...); err == nil {
		if cur.Digest.String() != src.DigestStr() && !o.OverwriteTags {
			return res, &Error{Reason: ReasonTagConflict, Message: fmt.Sprintf("%s already points at %s, not %s: not overwritten (pass --overwrite-tags to move it)", dst, cur.Digest, src.DigestStr())}
		}
		if cur.Digest.String() == src.DigestStr() {
			res.AlreadyPresent = true
		}
	} else if e := dstCl.classify(err); e.Reason != ReasonNotFound {
		return res, e
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
	n, e := r.checkCopied(ctx, dst.Context().Digest(src.DigestStr()), pushOpts, dstCl)
	res.Manifests = n
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

// checkCopied GETs d at the target (the index's content is needed to list
// its manifests) and, for an index, HEADs every manifest it lists; it
// returns how many it found.
func (r *Resolver) checkCopied(ctx context.Context, d name.Digest, pushOpts []remote.Option, cl classifier) (int, *Error) {
	desc, err := remote.Get(d, pushOpts...)
	if err != nil {
		return 0, cl.classify(err)
	}
	if desc.Digest.String() != d.DigestStr() {
		return 0, &Error{Reason: ReasonDigestMismatch, Message: fmt.Sprintf("the target answers %s with %s", d, desc.Digest)}
	}
	n := 1
	if !desc.MediaType.IsIndex() {
		return n, nil
	}
	idx, err := v1.ParseIndexManifest(bytes.NewReader(desc.Manifest))
	if err != nil {
		return n, cl.classify(err)
	}
	for _, m := range idx.Manifests {
		child := d.Context().Digest(m.Digest.String())
		got, err := remote.Head(child, pushOpts...)
		if err != nil {
			return n, cl.classify(fmt.Errorf("platform manifest %s: %w", m.Digest, err))
		}
		if got.Digest != m.Digest {
			return n, &Error{Reason: ReasonDigestMismatch, Message: fmt.Sprintf("the target answers %s with %s", child, got.Digest)}
		}
		n++
	}
	return n, nil
}

// CopyTag copies the manifest (image or index) a source tag names to the
// same tag in the target repository, unless the target already has it
// there. found is false when the source has no such tag.
func (r *Resolver) CopyTag(ctx context.Context, src name.Tag, cred Credential, dst name.Tag, o CopyOptions) (found bool, copied bool, e *Error) {
	head, e := r.Artifacts(cred).Head(ctx, src)
	if e != nil && e.Reason == ReasonNotFound {
		return false, false, nil
	}
	if e != nil {
		return false, false, e
	}
	o.OverwriteTags = true // signature tags follow the source
	res, e := r.Copy(ctx, src.Context().Digest(head.Digest.String()), cred, dst, o)
	return true, e == nil && !res.AlreadyPresent, e
}
