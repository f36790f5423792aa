package pullsecret

import (
	"context"
	"maps"
	"sync"

	"golang.org/x/sync/errgroup"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// Read is one read of the pull secrets and service accounts, started
// before the caller knows every namespace it needs (an audit starts it
// with the listing of the cluster) and shared by the stores built from it:
// each namespace is listed once however many stores ask for it.
type Read struct {
	ctx    context.Context
	client kubernetes.Interface

	// listed is closed once the cluster-wide lists are in (at once when
	// there are none); wide then holds every namespace they read.
	listed                  chan struct{}
	wide                    map[string]*namespaceData
	saListed, secretsListed bool

	mu    sync.Mutex
	perNS map[string]*namespaceRead
}

// namespaceRead is one namespace's lists, read by the first store that
// needs them.
type namespaceRead struct {
	once sync.Once
	d    *namespaceData
}

// StartRead starts reading the service accounts and pull secrets across
// the cluster (load.ClusterWide: 3 LISTs; one that fails leaves its kind
// to per-namespace lists, as LoadStore does) and in load.Namespaces, and
// returns at once. load.Referenced is not read: stores fetch what theirs
// reference.
func StartRead(ctx context.Context, client kubernetes.Interface, load Load) *Read {
	r := &Read{ctx: ctx, client: client, listed: make(chan struct{}), perNS: map[string]*namespaceRead{}}
	if !load.ClusterWide {
		close(r.listed)
	} else {
		go func() {
			defer close(r.listed)
			r.listClusterWide()
		}()
	}
	for _, ns := range load.Namespaces {
		go r.namespace(ns)
	}
	return r
}

// listClusterWide lists both kinds across the cluster into wide, keeping
// the kinds that were read in full.
func (r *Read) listClusterWide() {
	sas, secrets := map[string]*namespaceData{}, map[string]*namespaceData{}
	into := func(m map[string]*namespaceData) func(string) *namespaceData {
		return func(ns string) *namespaceData {
			if m[ns] == nil {
				m[ns] = newNamespaceData()
			}
			return m[ns]
		}
	}
	var g errgroup.Group
	g.Go(func() error {
		r.saListed = listServiceAccounts(r.ctx, r.client, metav1.NamespaceAll, into(sas)) == nil
		return nil
	})
	g.Go(func() error {
		r.secretsListed = listPullSecrets(r.ctx, r.client, metav1.NamespaceAll, into(secrets)) == nil
		return nil
	})
	_ = g.Wait()
	r.wide = map[string]*namespaceData{}
	if r.saListed {
		for ns, d := range sas {
			r.wide[ns] = newNamespaceData()
			r.wide[ns].serviceAccounts = d.serviceAccounts
		}
	}
	if r.secretsListed {
		for ns, d := range secrets {
			if r.wide[ns] == nil {
				r.wide[ns] = newNamespaceData()
			}
			w := r.wide[ns]
			w.secrets, w.invalid, w.other, w.types = d.secrets, d.invalid, d.other, d.types
		}
	}
}

// namespace is what the read holds of ns: the cluster-wide lists' part,
// and what they did not read listed in ns once. It is shared: callers
// clone it before adding to it.
func (r *Read) namespace(ns string) *namespaceData {
	<-r.listed
	if r.saListed && r.secretsListed {
		if d := r.wide[ns]; d != nil {
			return d
		}
		return newNamespaceData() // nothing of either kind there
	}
	r.mu.Lock()
	e := r.perNS[ns]
	if e == nil {
		e = &namespaceRead{}
		r.perNS[ns] = e
	}
	r.mu.Unlock()
	e.once.Do(func() {
		d := newNamespaceData()
		if w := r.wide[ns]; w != nil {
			*d = *w.clone()
		}
		d.list(r.ctx, r.client, ns, !r.saListed, !r.secretsListed)
		e.d = d
	})
	return e.d
}

// Store is LoadStore's store for load, built from the read: each
// namespace's lists as the read holds them (listed now if it does not
// yet), then, unless load.ListedOnly, the secrets load or a service
// account references that no list returned, fetched one by one as
// LoadStore does. It waits for the lists it needs.
func (r *Read) Store(ctx context.Context, load Load) *Store {
	s := &Store{namespaces: make(map[string]*namespaceData, len(load.Namespaces))}
	for _, ns := range load.Namespaces {
		s.namespaces[ns] = newNamespaceData()
	}
	var g errgroup.Group
	g.SetLimit(loadConcurrency)
	for _, ns := range load.Namespaces {
		d := s.namespaces[ns]
		g.Go(func() error {
			*d = *r.namespace(ns).clone()
			if !load.ListedOnly {
				d.fetchReferenced(ctx, r.client, ns, load.Referenced[ns])
			}
			return nil
		})
	}
	_ = g.Wait()
	return s
}

// clone copies d's maps, so that a store adds its fetched secrets to its
// own copy.
func (d *namespaceData) clone() *namespaceData {
	c := *d
	c.secrets = cloneMap(d.secrets)
	c.invalid = cloneMap(d.invalid)
	c.other = cloneMap(d.other)
	c.types = cloneMap(d.types)
	c.serviceAccounts = cloneMap(d.serviceAccounts)
	return &c
}

// cloneMap is maps.Clone, never nil (a store adds to it).
func cloneMap[K comparable, V any](m map[K]V) map[K]V {
	if m == nil {
		return map[K]V{}
	}
	return maps.Clone(m)
}
