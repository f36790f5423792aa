package registry

import (
	"context"
	"sync"
)

// outcome is what one registry lookup for one (reference, credential)
// found.
type outcome struct {
	digest, mediaType, platform, platformDigest, note string
	verified                                          bool // digest computed from the content
	// children are the manifests an index read by GET lists (Options.Platform).
	children []string
	err      *Error
}

// flights runs each lookup at most once per Resolver and remembers its
// outcome: singleflight and the run's result cache in one map.
//
// golang.org/x/sync/singleflight alone does not fit: it forgets a result
// once the call returns (we want one request per key for the whole run) and
// ties the shared call to the first caller's context (one caller giving up
// would fail everyone waiting). Here the call runs on its own context,
// canceled only when every caller waiting for it has given up; such an
// abandoned call is forgotten, so a later caller starts afresh.
type flights struct {
	mu sync.Mutex
	m  map[string]*flight
}

type flight struct {
	done    chan struct{}
	out     outcome
	waiters int
	cancel  context.CancelFunc
}

// do returns the outcome for key, running fn unless an earlier or
// concurrent call for key already did or is doing it (shared is then true).
func (g *flights) do(ctx context.Context, key string, fn func(context.Context) outcome) (out outcome, shared bool) {
	if err := ctx.Err(); err != nil {
		return outcome{err: contextError(ctx)}, false
	}
	g.mu.Lock()
	if g.m == nil {
		g.m = map[string]*flight{}
	}
	if f, ok := g.m[key]; ok {
		select {
		case <-f.done:
			g.mu.Unlock()
			return f.out, true
		default:
		}
		f.waiters++
		g.mu.Unlock()
		return g.wait(ctx, key, f), true
	}
	fctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	f := &flight{done: make(chan struct{}), waiters: 1, cancel: cancel}
	g.m[key] = f
	g.mu.Unlock()

	go func() {
		out := fn(fctx)
		g.mu.Lock()
		f.out = out
		if fctx.Err() != nil && g.m[key] == f {
			delete(g.m, key) // abandoned: nobody wants this outcome
		}
		close(f.done)
		g.mu.Unlock()
		cancel()
	}()
	return g.wait(ctx, key, f), false
}

func (g *flights) wait(ctx context.Context, key string, f *flight) outcome {
	select {
	case <-f.done:
		return f.out
	case <-ctx.Done():
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	select {
	case <-f.done: // finished meanwhile: take it
		return f.out
	default:
	}
	f.waiters--
	if f.waiters == 0 {
		f.cancel()
		if g.m[key] == f {
			delete(g.m, key)
		}
	}
	return outcome{err: contextError(ctx)}
}
