package pipeline

import (
	"context"
	"sync"

	"k8s.io/client-go/kubernetes"

	"github.com/imgtrust/kubectl-imgtrust/pkg/pullsecret"
	"github.com/imgtrust/kubectl-imgtrust/pkg/registry"
	"github.com/imgtrust/kubectl-imgtrust/pkg/workload"
)

// prefetch overlaps the registry stage with the pod listing. Pods are most
// of a cluster and most of the listing's time, but the controllers without
// an owner (Deployments, StatefulSets, DaemonSets, CronJobs, bare Jobs and
// ReplicaSets) are read first and are reported whatever the pods turn out to
// be, so the requests the stage will send for their template images are
// known then: each image with the credentials a new pod of the template
// gets. The pull secrets and service accounts are read alongside the
// controllers (creds), once: the stage builds its credential plan from the
// same read. prefetch sends those while the pods are read; the resolver keeps
// every answer for the run, so when the stage asks the same requests
// they are answered without a registry request, and the budget is the
// stage's own. Nothing else is asked early: not a ReplicaSet a Deployment
// owns (an old one's images are never asked), nor a pod's own pull secrets
// (read only once the pods are).
type prefetch struct {
	resolver *registry.Resolver
	perHost  int
	// creds is the run's one read of the pull secrets and service
	// accounts, started with the listing; the stage's plan comes from it.
	creds *pullsecret.Read

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	// sent counts the requests started early (tests).
	mu   sync.Mutex
	sent []registry.Request
}

// newPrefetch starts reading the pull secrets and service accounts the
// stage will read: across the cluster with -A (clusterWide), else in ns.
func newPrefetch(ctx context.Context, resolver *registry.Resolver, client kubernetes.Interface, perHost int, ns string, clusterWide bool) *prefetch {
	p := &prefetch{resolver: resolver, perHost: max(perHost, 1)}
	p.ctx, p.cancel = context.WithCancel(ctx)
	load := pullsecret.Load{ClusterWide: clusterWide}
	if !clusterWide && ns != "" {
		load.Namespaces = []string{ns}
	}
	p.creds = pullsecret.StartRead(p.ctx, client, load)
	return p
}

// roots starts the requests of the workloads discovery is sure of; it
// returns at once (discovery goes on reading the pods).
func (p *prefetch) roots(roots []workload.Object) {
	if len(roots) == 0 {
		return
	}
	p.wg.Go(func() {
		reqs := p.requests(roots)
		p.mu.Lock()
		p.sent = append(p.sent, reqs...)
		p.mu.Unlock()
		perHost(reqs, func(r registry.Request) string { return registryHost(p.resolver, r.Image) }, p.perHost, func(r registry.Request) {
			p.resolver.Resolve(p.ctx, r)
		})
	})
}

// requests are the stage's template requests for roots, each once. They
// come from a credential plan of the roots' namespaces built from the read
// the stage's plan comes from (without fetching the referenced secrets of
// other types one by one: those never give credentials); where the read
// failed in a namespace nothing is asked there early (the stage's own plan
// says why), so that an early request is never one the stage would not
// send.
func (p *prefetch) requests(roots []workload.Object) []registry.Request {
	found := &workload.Discovery{}
	for _, o := range roots {
		found.Workloads = append(found.Workloads, workload.Workload{Object: o})
	}
	plan := NewCredentialPlan(p.creds.Store(p.ctx, pullsecret.Load{Namespaces: found.Namespaces()}))
	if p.ctx.Err() != nil {
		return nil
	}
	seen := map[string]bool{}
	var reqs []registry.Request
	for _, o := range roots {
		for _, c := range o.Spec.Containers {
			creds, complete, err := plan.For(o, c.Image)
			if err != nil || !complete {
				continue
			}
			key := c.Image + "\x00" + CredentialsKey(creds)
			if seen[key] {
				continue
			}
			seen[key] = true
			reqs = append(reqs, registry.Request{Image: c.Image, Credentials: creds, CheckAccess: true})
		}
	}
	return p.spread(reqs)
}

// spread orders requests as the resolver orders a host's queue: one per
// repository and first credential, then the second of each, and so on, so
// that the workers of a host start new repositories (each its own token)
// rather than wait for another tag's token of one being fetched.
func (p *prefetch) spread(reqs []registry.Request) []registry.Request {
	var rounds [][]registry.Request
	perRepo := map[string]int{}
	for _, r := range reqs {
		key := ""
		if repo, err := p.resolver.RepositoryOf(r.Image); err == nil {
			key = repo.Name()
		}
		if len(r.Credentials) > 0 {
			key += "\x00" + registry.CredentialKey(r.Credentials[0])
		}
		n := perRepo[key]
		perRepo[key]++
		if n == len(rounds) {
			rounds = append(rounds, nil)
		}
		rounds[n] = append(rounds[n], r)
	}
	out := make([]registry.Request, 0, len(reqs))
	for _, round := range rounds {
		out = append(out, round...)
	}
	return out
}

// stop ends what is still early once the stage has asked its own: every
// early request is one of them, so what is left is answered already.
func (p *prefetch) stop() {
	p.cancel()
	p.wg.Wait()
}

// registryHost is the registry of an image, "" when it does not parse.
func registryHost(r *registry.Resolver, image string) string {
	repo, err := r.RepositoryOf(image)
	if err != nil {
		return ""
	}
	return repo.RegistryStr()
}
