package registry

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"golang.org/x/sync/errgroup"
)

// Bounds on the check after a copy: a real image has a few dozen blobs
// per platform and indexes are a level or two deep.
const (
	MaxCopyBlobs      = 4096
	maxCopyIndexDepth = 4
)

// BlobsSeen remembers the blobs found at a target (repository@digest), so
// that one run HEADs each once. It is safe for concurrent use; a nil one
// remembers nothing.
type BlobsSeen struct {
	mu sync.Mutex
	m  map[string]bool
}

// NewBlobsSeen starts an empty memory.
func NewBlobsSeen() *BlobsSeen { return &BlobsSeen{m: map[string]bool{}} }

func (s *BlobsSeen) has(key string) bool {
	if s == nil {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.m[key]
}

func (s *BlobsSeen) add(key string) {
	if s != nil {
		s.mu.Lock()
		s.m[key] = true
		s.mu.Unlock()
	}
}

// copyCheck is what the target answers for a copy, read as the pods will
// pull it: each manifest by digest, then a HEAD of each blob they name.
type copyCheck struct {
	p         *remote.Puller
	repo      name.Repository
	cl        classifier
	seen      *BlobsSeen
	manifests int
	blobs     []v1.Hash
	heads     atomic.Int64
}

// checkCopied checks digest d at the target within one lookup deadline
// (what is left of img's budget, when given): d
// and every manifest under it answer with their digest, and every blob
// they name is there. It returns the manifests found and the blob HEADs
// sent.
func (r *Resolver) checkCopied(ctx context.Context, d name.Digest, pushOpts []remote.Option, cl classifier, seen *BlobsSeen, img *Artifacts) (int, int, *Error) {
	ctx, done, e := r.copyLookup(ctx, img, "the check of the copy "+d.String())
	if e != nil {
		return 0, 0, e
	}
	defer done()
	cl.lookup, cl.lookupLimit = ctx, r.opts.LookupTimeout
	cl.perImage = img != nil && img.budget != nil
	p, err := remote.NewPuller(pushOpts...)
	if err != nil {
		return 0, 0, cl.classify(err)
	}
	c := &copyCheck{p: p, repo: d.Context(), cl: cl, seen: seen}
	e = c.manifest(ctx, d.DigestStr(), 0)
	if e == nil {
		e = c.checkBlobs(ctx, r.opts.PerHost)
	}
	return c.manifests, int(c.heads.Load()), e
}

// manifest GETs digest at the target (go-containerregistry checks the
// content against it) and notes the blobs of an image, or walks the
// manifests of an index.
func (c *copyCheck) manifest(ctx context.Context, digest string, depth int) *Error {
	ref := c.repo.Digest(digest)
	desc, err := c.p.Get(ctx, ref)
	if err != nil && depth > 0 && notFound(err) {
		return &Error{Reason: ReasonIncompleteCopy, Status: http.StatusNotFound, Message: fmt.Sprintf(
			"%s accepted the index but does not have its manifest %s: the copy cannot be pulled", c.repo, digest)}
	}
	if err != nil {
		return c.cl.classify(fmt.Errorf("manifest %s: %w", digest, err))
	}
	if desc.Digest.String() != digest {
		return &Error{Reason: ReasonDigestMismatch, Message: fmt.Sprintf("the target answers %s with %s", ref, desc.Digest)}
	}
	c.manifests++
	if !desc.MediaType.IsIndex() {
		m, err := v1.ParseManifest(bytes.NewReader(desc.Manifest))
		if err != nil {
			return c.cl.classify(err)
		}
		c.note(m.Config)
		for _, l := range m.Layers {
			c.note(l)
		}
		return nil
	}
	if depth >= maxCopyIndexDepth {
		return &Error{Reason: ReasonServerError, Message: fmt.Sprintf("%s nests indexes more than %d deep", ref, maxCopyIndexDepth)}
	}
	idx, err := v1.ParseIndexManifest(bytes.NewReader(desc.Manifest))
	if err != nil {
		return c.cl.classify(err)
	}
	for _, m := range idx.Manifests {
		if e := c.manifest(ctx, m.Digest.String(), depth+1); e != nil {
			return e
		}
	}
	return nil
}

// note adds a blob to check: one the registry must hold (foreign layers
// are not pushed), not yet found this run.
func (c *copyCheck) note(d v1.Descriptor) {
	if d.Digest.Algorithm == "" || !d.MediaType.IsDistributable() || c.seen.has(c.key(d.Digest)) {
		return
	}
	for _, h := range c.blobs {
		if h == d.Digest {
			return
		}
	}
	c.blobs = append(c.blobs, d.Digest)
}

func (c *copyCheck) key(h v1.Hash) string { return c.repo.Name() + "@" + h.String() }

// checkBlobs HEADs the blobs noted, perHost at a time; the first missing
// or failed one ends the check.
func (c *copyCheck) checkBlobs(ctx context.Context, perHost int) *Error {
	if len(c.blobs) > MaxCopyBlobs {
		return &Error{Reason: ReasonTooLarge, Message: fmt.Sprintf("%s names %d blobs, more than the %d checked after a copy", c.repo, len(c.blobs), MaxCopyBlobs)}
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(max(perHost, 1))
	for _, h := range c.blobs {
		g.Go(func() error { return c.head(gctx, h) })
	}
	err := g.Wait()
	var e *Error
	if err == nil || errors.As(err, &e) {
		return e
	}
	return c.cl.classify(err)
}

// head asks the target for one blob, as a pull of the copy would.
func (c *copyCheck) head(ctx context.Context, h v1.Hash) error {
	l, err := c.p.Layer(ctx, c.repo.Digest(h.String()))
	if err == nil {
		c.heads.Add(1)
		_, err = l.Size() // a HEAD of the blob
	}
	if notFound(err) {
		return &Error{Reason: ReasonIncompleteCopy, Status: http.StatusNotFound, Message: fmt.Sprintf(
			"%s accepted the manifest but does not have blob %s (did its upload go to another host?): the copy cannot be pulled", c.repo, h)}
	}
	if err != nil {
		return c.cl.classify(fmt.Errorf("blob %s: %w", h, err))
	}
	c.seen.add(c.key(h))
	return nil
}

// LookupTimeout is Options.LookupTimeout (its default when unset): what
// callers bound one image's lookups with as a whole.
func (r *Resolver) LookupTimeout() time.Duration { return r.opts.LookupTimeout }

func notFound(err error) bool {
	var terr *transport.Error
	return errors.As(err, &terr) && terr.StatusCode == http.StatusNotFound
}
