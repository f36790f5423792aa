package pipeline

import (
	"context"
	"strings"
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
// same read. Then, page by page, the pods whose place in the report is
// certain (workload.EarlyPod): a bare pod's images with its own pull
// secrets, and a controller's template images with the pull secrets of its
// pods where those give other credentials than the template's, as the stage
// asks them. prefetch sends those while the pods are read; the resolver keeps
// every answer for the run, so when the stage asks the same requests
// they are answered without a registry request, and the budget is the
// stage's own. Nothing else is asked early: not a ReplicaSet a Deployment
// owns (an old one's images are never asked), nor a pod whose owner is no
// listed controller.
type prefetch struct {
	resolver *registry.Resolver
	perHost  int
	// creds is the run's one read of the pull secrets and service
	// accounts, started with the listing (start); the stage's plan comes
	// from it.
	creds  *pullsecret.Read
	client kubernetes.Interface
	load   pullsecret.Load

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	pending []earlyBatch // handed over, not yet turned into requests
	working bool         // a goroutine turns pending into requests
	queues  map[string][]registry.Request
	sending map[string]int // goroutines sending a host's queue

	done map[string]bool // a controller's pods' pull secrets handed over

	// Of the goroutine that turns batches into requests (one at a time).
	asked map[string]bool // image and credentials asked early
}

// earlyBatch is what discovery hands over at once: roots or pods.
type earlyBatch struct {
	roots []workload.Object
	pods  []workload.EarlyPod
}

// newPrefetch is the early start of an audit of ns (clusterWide: -A);
// nothing is read before start.
func newPrefetch(ctx context.Context, resolver *registry.Resolver, client kubernetes.Interface, perHost int, ns string, clusterWide bool) *prefetch {
	p := &prefetch{resolver: resolver, perHost: max(perHost, 1), client: client, load: pullsecret.Load{ClusterWide: clusterWide},
		queues: map[string][]registry.Request{}, sending: map[string]int{}, asked: map[string]bool{}, done: map[string]bool{}}
	p.ctx, p.cancel = context.WithCancel(ctx)
	if !clusterWide && ns != "" {
		p.load.Namespaces = []string{ns}
	}
	return p
}

// start begins reading the pull secrets and service accounts the stage
// will read (across the cluster with -A, else in the namespace), when the
// listing starts: after discovery has checked the input and reached the
// API server, alongside the controllers.
func (p *prefetch) start() {
	p.creds = pullsecret.StartRead(p.ctx, p.client, p.load)
}

// roots starts the requests of the workloads discovery is sure of; it
// returns at once (discovery goes on reading the pods).
func (p *prefetch) roots(roots []workload.Object) {
	if len(roots) > 0 {
		p.add(earlyBatch{roots: roots})
	}
}

// pods starts the requests of a page's pods discovery is sure of; it
// returns at once.
func (p *prefetch) pods(pods []workload.EarlyPod) {
	// A controller's pods ask for its template images with their pull
	// secrets: keep one pod per controller and pull secrets, so that
	// thousands of replicas are not held until the secrets are read.
	var kept []workload.EarlyPod
	p.mu.Lock()
	for _, e := range pods {
		if e.Root != nil {
			key := string(e.Root.UID) + "\x00" + strings.Join(e.Pod.Spec.PullSecrets, "\x00")
			if p.done[key] {
				continue
			}
			p.done[key] = true
		}
		kept = append(kept, e)
	}
	p.mu.Unlock()
	if len(kept) > 0 {
		p.add(earlyBatch{pods: kept})
	}
}

func (p *prefetch) add(b earlyBatch) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.pending = append(p.pending, b)
	if !p.working {
		p.working = true
		p.wg.Go(p.work)
	}
}

// work turns the batches handed over into requests, in order, and queues
// them; the credential plan waits for the read of the secrets.
func (p *prefetch) work() {
	for {
		p.mu.Lock()
		batches := p.pending
		p.pending = nil
		if len(batches) == 0 || p.ctx.Err() != nil {
			p.working = false
			p.mu.Unlock()
			return
		}
		p.mu.Unlock()
		for _, b := range batches {
			p.send(p.requests(b))
		}
	}
}

// send queues reqs per registry host, each host sent by at most perHost
// goroutines, as the stage's own queues are.
func (p *prefetch) send(reqs []registry.Request) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, r := range reqs {
		h := registryHost(p.resolver, r.Image)
		p.queues[h] = append(p.queues[h], r)
		if p.sending[h] < p.perHost {
			p.sending[h]++
			p.wg.Go(func() { p.drain(h) })
		}
	}
}

func (p *prefetch) drain(host string) {
	for {
		p.mu.Lock()
		q := p.queues[host]
		if len(q) == 0 || p.ctx.Err() != nil {
			p.sending[host]--
			p.mu.Unlock()
			return
		}
		r := q[0]
		p.queues[host] = q[1:]
		p.mu.Unlock()
		p.resolver.Resolve(p.ctx, r)
	}
}

// requests are the stage's requests for a batch not asked early yet. They
// come from a credential plan of the batch's namespaces built from the read
// the stage's plan comes from (without fetching the referenced secrets of
// other types one by one: those never give credentials); where the read
// failed in a namespace nothing is asked there early (the stage's own plan
// says why), so that an early request is never one the stage would not
// send.
func (p *prefetch) requests(b earlyBatch) []registry.Request {
	if p.creds == nil { // not started: nothing is known of the credentials
		return nil
	}
	found := &workload.Discovery{}
	for _, o := range b.roots {
		found.Workloads = append(found.Workloads, workload.Workload{Object: o})
	}
	for _, e := range b.pods {
		found.Workloads = append(found.Workloads, workload.Workload{Object: e.Pod})
	}
	plan := NewCredentialPlan(p.creds.Store(p.ctx, pullsecret.Load{Namespaces: found.Namespaces(), ListedOnly: true}))
	if p.ctx.Err() != nil {
		return nil
	}
	var reqs []registry.Request
	ask := func(image string, creds []registry.Credential) {
		key := image + "\x00" + CredentialsKey(creds)
		if !p.asked[key] {
			p.asked[key] = true
			reqs = append(reqs, registry.Request{Image: image, Credentials: creds, CheckAccess: true})
		}
	}
	// The stage asks each image of a workload with the credentials of a
	// new pod of it (for a bare pod, its own pull secrets).
	template := func(o workload.Object) {
		for _, c := range o.Spec.Containers {
			if creds, complete, err := plan.For(o, c.Image); err == nil && complete {
				ask(c.Image, creds)
			}
		}
	}
	for _, o := range b.roots {
		template(o)
	}
	for _, e := range b.pods {
		if e.Root == nil {
			template(e.Pod)
			continue
		}
		// A controller's pods: its template images again, with the pods'
		// own pull secrets where they give other credentials than the
		// template's (the stage's RunningPodSecrets requests).
		for _, c := range e.Root.Spec.Containers {
			creds, complete, err := plan.For(*e.Root, c.Image)
			if err != nil || !complete {
				continue
			}
			podCreds, complete, err := plan.ForPods(e.Root.Namespace, e.Pod.Spec.PullSecrets, c.Image)
			if err != nil || !complete || CredentialsKey(podCreds) == CredentialsKey(creds) {
				continue
			}
			ask(c.Image, podCreds)
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
