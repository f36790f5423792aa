package registry

// Per-image lookup budgets: Options.LookupTimeout bounds everything done
// for one image (its resolution, then the artifact reads and the tag
// listing of its digest), not each lookup, so that a stalling registry
// costs about one timeout per image rather than one per stage.

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
	mu    sync.Mutex
	left  time.Duration
}

func newBudget(limit time.Duration) *budget { return &budget{limit: limit, left: limit} }

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
		b = newBudget(r.opts.LookupTimeout)
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
	return &Artifacts{r: a.r, cred: a.cred, image: ref.Name(), budget: a.r.budgetOf(ref.Name())}
}

// ForDigest returns a reader for the reads of digest d: they draw from
// d's budget, which, when d has none yet, becomes that of the image the
// reader was for (ForImage), so that a pod's digest read after its tag
// failed to resolve is not a fresh image.
func (a *Artifacts) ForDigest(d name.Digest) *Artifacts {
	key := d.Name()
	a.r.mu.Lock()
	b, ok := a.r.budgets[key]
	if !ok {
		b = a.budget
		if b == nil {
			b = newBudget(a.r.opts.LookupTimeout)
		}
		a.r.budgets[key] = b
	}
	a.r.mu.Unlock()
	return &Artifacts{r: a.r, cred: a.cred, image: key, budget: b}
}
