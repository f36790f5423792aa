package registry

// Per-image lookup budgets: Options.LookupTimeout bounds everything done
// for one image (its resolution, then the artifact reads and the tag
// listing of its digest), not each lookup, so that a stalling registry
// costs about one timeout per image rather than one per stage; and
// Options.MaxArtifactRequests bounds the reads of its artifacts of every
// kind together, so that a digest listing thousands of referrers costs a
// few dozen requests, not thousands.

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
)

// budget is the registry time one image has left. Only the time its
// lookups run is drawn, not time waiting for a concurrency slot: an image
// queued behind a slow registry's others has not cost anything yet.
type budget struct {
	limit time.Duration
	// maxReads bounds the artifact reads (Head, Manifest, Blob, referrer
	// pages, referrer copies); reads were sent, skipped were not.
	maxReads int
	mu       sync.Mutex
	left     time.Duration
	reads    int
	skipped  int
}

func (r *Resolver) newBudget() *budget {
	return &budget{limit: r.opts.LookupTimeout, left: r.opts.LookupTimeout, maxReads: r.opts.MaxArtifactRequests}
}

// take draws n reads; when fewer are left it draws none and returns
// false (the caller counts them skipped, once: Artifacts.takeAs).
func (b *budget) take(n int) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.reads+n > b.maxReads {
		return false
	}
	b.reads += n
	return true
}

// readsSpentError is the failure of a read not sent because its image's
// reads were spent: it proves nothing about the image.
func (b *budget) readsSpentError(image, what string) *Error {
	of := "the image's"
	if what == image {
		of = "its"
	}
	return &Error{Reason: ReasonRequestBudget, Message: fmt.Sprintf("%s not read: %s %d artifact reads (--max-artifact-requests) were spent by its earlier reads", what, of, b.maxReads)}
}

// start returns a context bounded by what is left and a func that draws
// the time run once the lookup ends; ok is false (and nothing is to be
// sent) when the budget is spent.
func (b *budget) start(ctx context.Context) (lctx context.Context, left time.Duration, done func(), ok bool) {
	b.mu.Lock()
	left = b.left
	b.mu.Unlock()
	if left <= 0 {
		return nil, 0, nil, false
	}
	lctx, cancel := context.WithTimeout(ctx, left)
	began := time.Now()
	return lctx, left, func() {
		cancel()
		b.mu.Lock()
		b.left -= time.Since(began)
		b.mu.Unlock()
	}, true
}

// spentError is the failure of a lookup not sent because its image's
// budget was spent: a timeout, never a verdict about the image.
func (b *budget) spentError(image, what string) *Error {
	of := "the lookup budget of " + image
	if what == image {
		of = "its lookup budget"
	}
	return &Error{Reason: ReasonTimeout, Message: fmt.Sprintf("%s not asked: %s (%s, --registry-lookup-timeout) was spent by its earlier lookups", what, of, b.limit)}
}

// budgetOf is the budget of one image, by its normalised name: a
// reference before it resolves, or repository@digest.
func (r *Resolver) budgetOf(image string) *budget {
	r.mu.Lock()
	defer r.mu.Unlock()
	b, ok := r.budgets[image]
	if !ok {
		b = r.newBudget()
		r.budgets[image] = b
	}
	return b
}

// linkBudget makes d, which ref resolved to, draw from ref's budget: the
// reads of a digest after its resolution are the same image's. A digest
// with a budget of its own (read before, or another tag's) keeps it.
func (r *Resolver) linkBudget(ref name.Reference, d string) {
	b := r.budgetOf(ref.Name())
	key := ref.Context().Digest(d).Name()
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.budgets[key]; !ok {
		r.budgets[key] = b
	}
}

// ForImage returns a reader whose lookups all draw from the budget of one
// image (Options.LookupTimeout in total): image is a reference as written
// in a pod spec, or repository@digest. A reference that resolved shares
// its budget with the digest it resolved to. A reader from Artifacts alone
// gives each lookup a budget of its own.
func (a *Artifacts) ForImage(image string) *Artifacts {
	ref, err := a.r.parse(image)
	if err != nil {
		return a
	}
	return &Artifacts{r: a.r, cred: a.cred, image: ref.Name(), budget: a.r.budgetOf(ref.Name()), memo: newMemo()}
}

// ForDigest returns a reader for the reads of digest d: they draw from
// d's budget, which, when d has none yet, becomes that of the image the
// reader was for (ForImage), so that a pod's digest read after its tag
// failed to resolve is not a fresh image.
//
// A reader already for d is returned as it is, with what it has read
// (memo.go): the authorities checking one digest share its reads.
func (a *Artifacts) ForDigest(d name.Digest) *Artifacts {
	key := d.Name()
	if a.memo != nil && a.image == key {
		return a
	}
	a.r.mu.Lock()
	b, ok := a.r.budgets[key]
	if !ok {
		b = a.budget
		if b == nil {
			b = a.r.newBudget()
		}
		a.r.budgets[key] = b
	}
	a.r.mu.Unlock()
	return &Artifacts{r: a.r, cred: a.cred, image: key, budget: b, memo: newMemo()}
}

// Skipped is how many reads of the image's artifacts were not sent (or,
// through Skip, not tried) because its reads were spent; 0 for a reader
// without an image (ForImage, ForDigest).
func (a *Artifacts) Skipped() int {
	if a.budget == nil {
		return 0
	}
	a.budget.mu.Lock()
	defer a.budget.mu.Unlock()
	return a.budget.skipped
}

// Skip counts n reads a caller did not try because Spent said the reads
// were spent (the rest of a listing), so that Skipped says what was left
// unread.
func (a *Artifacts) Skip(n int) {
	if a.budget != nil && n > 0 {
		a.budget.mu.Lock()
		a.budget.skipped += n
		a.budget.mu.Unlock()
	}
}

// Spent returns the error a read would fail with now that the image's
// artifact reads are spent (ReasonRequestBudget), or nil while some are
// left: callers stop a listing there rather than ask for each entry.
func (a *Artifacts) Spent(what string) *Error {
	if a.budget == nil {
		return nil
	}
	a.budget.mu.Lock()
	spent := a.budget.reads >= a.budget.maxReads
	a.budget.mu.Unlock()
	if !spent {
		return nil
	}
	return a.budget.readsSpentError(a.image, what)
}

// Within returns ctx bounded by what is left of the image's time, for a
// step that mixes reads through a with other requests (a mirror's writes
// to its target): the reads still draw their own time, and the rest can
// take no longer than the image had left. It fails as timeout when the
// time is spent.
func (a *Artifacts) Within(ctx context.Context) (context.Context, context.CancelFunc, *Error) {
	b := a.budget
	if b == nil {
		ctx, cancel := context.WithTimeout(ctx, a.r.opts.LookupTimeout)
		return ctx, cancel, nil
	}
	b.mu.Lock()
	left := b.left
	b.mu.Unlock()
	if left <= 0 {
		return nil, nil, b.spentError(a.image, "the rest")
	}
	ctx, cancel := context.WithTimeout(ctx, left)
	return ctx, cancel, nil
}
