package registry

// Scheduling: ResolveAll's per-host queues and workers, the order a
// host's queue is served in, and the per-host concurrency bound.

import (
	"context"
	"sync"
	"sync/atomic"

	"golang.org/x/sync/semaphore"
)

// ResolveAll resolves every request and returns the results in input
// order. Requests are queued per registry host and served by at most
// PerHost workers each, so a slow or busy registry cannot take the workers
// of the others; Concurrency bounds the lookups in flight overall.
func (r *Resolver) ResolveAll(ctx context.Context, reqs []Request) []Result {
	results := make([]Result, len(reqs))
	var done atomic.Int64
	queues := map[string][]int{}
	repos := make([]string, len(reqs))
	var hosts []string
	for i, req := range reqs {
		h := ""
		if ref, err := r.parse(req.Image); err == nil {
			h = ref.Context().RegistryStr()
			repos[i] = ref.Context().Name()
		}
		if _, ok := queues[h]; !ok {
			hosts = append(hosts, h)
		}
		queues[h] = append(queues[h], i)
	}
	var wg sync.WaitGroup
	for _, h := range hosts {
		queue := spreadQueue(reqs, repos, queues[h])
		next := make(chan int, len(queue))
		for _, i := range queue {
			next <- i
		}
		close(next)
		for range min(r.opts.PerHost, len(queue)) {
			wg.Go(func() {
				for i := range next {
					results[i] = r.Resolve(ctx, reqs[i])
					if r.opts.Progress != nil {
						r.opts.Progress(int(done.Add(1)), len(reqs))
					}
				}
			})
		}
	}
	wg.Wait()
	return results
}

// spreadQueue orders a host's queue so that concurrent workers start new
// lookups rather than wait for each other: first one request per
// repository (each its own token), then the second of each, and so on;
// requests repeating a lookup already queued (the same image with the same
// first credential) come last. In input order, a worker taking a repeat of
// a lookup in flight, or another tag of a repository whose token is being
// fetched, waits for it while the host's other slots sit idle; an audit
// asks each image once per container, so repeats are most of its requests.
// repos[i] is request i's repository ("" when it does not parse).
func spreadQueue(reqs []Request, repos []string, queue []int) []int {
	seen := make(map[string]bool, len(queue))
	perRepo := map[string]int{}
	var rounds [][]int
	var repeats []int
	for _, i := range queue {
		first := Anonymous
		if len(reqs[i].Credentials) > 0 {
			first = reqs[i].Credentials[0]
		}
		cred := credKey(first)
		key := reqs[i].Image + "\x00" + cred
		if seen[key] {
			repeats = append(repeats, i)
			continue
		}
		seen[key] = true
		repo := repos[i] + "\x00" + cred
		round := perRepo[repo]
		perRepo[repo]++
		if round == len(rounds) {
			rounds = append(rounds, nil)
		}
		rounds[round] = append(rounds[round], i)
	}
	out := make([]int, 0, len(queue))
	for _, r := range rounds {
		out = append(out, r...)
	}
	return append(out, repeats...)
}

func (r *Resolver) hostSemaphore(host string) *semaphore.Weighted {
	r.mu.Lock()
	defer r.mu.Unlock()
	s, ok := r.hosts[host]
	if !ok {
		s = semaphore.NewWeighted(int64(r.opts.PerHost))
		r.hosts[host] = s
	}
	return s
}
