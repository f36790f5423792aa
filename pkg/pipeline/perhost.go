package pipeline

import (
	"sync"

	"golang.org/x/sync/errgroup"
)

// perHost runs fn for every job, at most limit at once per registry host
// (host names a job's), and returns when all are done. One overall limit
// would let jobs stuck on one stalling registry (waiting for its per-host
// slots, or for its answers) hold every slot while another registry's jobs
// wait behind them; the resolver bounds the requests in flight overall.
func perHost[J any](jobs []J, host func(J) string, limit int, fn func(J)) {
	groups := map[string][]J{}
	var hosts []string
	for _, j := range jobs {
		h := host(j)
		if _, ok := groups[h]; !ok {
			hosts = append(hosts, h)
		}
		groups[h] = append(groups[h], j)
	}
	var wg sync.WaitGroup
	for _, h := range hosts {
		wg.Go(func() {
			var g errgroup.Group
			g.SetLimit(max(limit, 1))
			for _, j := range groups[h] {
				g.Go(func() error {
					fn(j)
					return nil
				})
			}
			_ = g.Wait()
		})
	}
	wg.Wait()
}
