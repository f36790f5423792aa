package pullsecret

import (
	"context"
	"errors"
	"slices"
	"sort"

	"golang.org/x/sync/errgroup"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/pager"
)

// Store holds the pull secrets and service accounts of a set of namespaces,
// read once per namespace for the whole run (never per pod).
type Store struct {
	namespaces map[string]*namespaceData
}

type namespaceData struct {
	secrets map[string]*Secret       // parsed pull secrets by name
	invalid map[string]*InvalidError // pull secrets that are unusable as a whole
	other   map[string]corev1.SecretType
	types   map[string]corev1.SecretType // every secret read, by name
	// secretsErr is set when Secrets could not be listed (e.g. RBAC).
	secretsErr error
	// serviceAccounts maps a service account to its imagePullSecrets names.
	serviceAccounts map[string][]string
	saErr           error
}

// loadConcurrency bounds the namespaces read at once.
const loadConcurrency = 8

// pullSecretTypes are listed with a field selector, so other secrets
// (service account tokens, TLS keys…) are never transferred or held.
var pullSecretTypes = []corev1.SecretType{corev1.SecretTypeDockerConfigJson, corev1.SecretTypeDockercfg}

// Load says what LoadStore reads.
type Load struct {
	Namespaces []string
	// Referenced names, per namespace, the secrets the caller's objects
	// use: those of another type are fetched one by one to tell "wrong
	// type" from "missing".
	Referenced map[string][]string
	// ClusterWide is set when the namespaces come from a cluster-wide read
	// (-A): one paged LIST across the cluster per kind then replaces one
	// per namespace (3 requests instead of 3 per namespace, which client-go's
	// rate limit turns into seconds on a large cluster). A cluster-wide list
	// that fails (RBAC granting namespace by namespace) falls back to those.
	ClusterWide bool
	// ListedOnly builds the store from the lists alone, fetching nothing
	// one by one (Read.Store only): the audit's early requests, built once
	// per page of pods, need only the credentials, and a secret no list
	// returned gives none (its type is not a pull secret's, or it is gone).
	ListedOnly bool
}

// LoadStore lists the pull secrets and service accounts of each namespace.
// What cannot be read is remembered per namespace (see SecretsError) and
// never stops the rest.
func LoadStore(ctx context.Context, client kubernetes.Interface, load Load) *Store {
	s := &Store{namespaces: make(map[string]*namespaceData, len(load.Namespaces))}
	for _, ns := range load.Namespaces {
		s.namespaces[ns] = newNamespaceData()
	}
	var saListed, secretsListed bool
	if load.ClusterWide && len(load.Namespaces) > 0 {
		saListed, secretsListed = s.listClusterWide(ctx, client)
	}
	var g errgroup.Group
	g.SetLimit(loadConcurrency)
	for _, ns := range load.Namespaces {
		d := s.namespaces[ns]
		g.Go(func() error {
			d.load(ctx, client, ns, load.Referenced[ns], !saListed, !secretsListed)
			return nil
		})
	}
	_ = g.Wait() // failures are kept per namespace
	return s
}

// listClusterWide lists the service accounts and the pull secrets of the
// whole cluster, keeping those of the store's namespaces, and says which
// of the two it read in full. What failed is left empty for the
// per-namespace lists to read.
func (s *Store) listClusterWide(ctx context.Context, client kubernetes.Interface) (saListed, secretsListed bool) {
	var g errgroup.Group
	g.Go(func() error {
		saListed = listServiceAccounts(ctx, client, metav1.NamespaceAll, s.in) == nil
		if !saListed {
			for _, d := range s.namespaces {
				clear(d.serviceAccounts)
			}
		}
		return nil
	})
	g.Go(func() error {
		secretsListed = listPullSecrets(ctx, client, metav1.NamespaceAll, s.in) == nil
		if !secretsListed {
			for _, d := range s.namespaces {
				d.clearSecrets()
			}
		}
		return nil
	})
	_ = g.Wait()
	return saListed, secretsListed
}

// in is where an object read by a cluster-wide list goes: its namespace's
// data, or nil when the store does not hold that namespace.
func (s *Store) in(ns string) *namespaceData { return s.namespaces[ns] }

func newNamespaceData() *namespaceData {
	return &namespaceData{
		secrets:         map[string]*Secret{},
		invalid:         map[string]*InvalidError{},
		other:           map[string]corev1.SecretType{},
		types:           map[string]corev1.SecretType{},
		serviceAccounts: map[string][]string{},
	}
}

// load reads what the cluster-wide lists did not (listSA, listSecrets) and
// then, one by one, the referenced secrets no pull-secret list returned.
func (d *namespaceData) load(ctx context.Context, client kubernetes.Interface, ns string, referenced []string, listSA, listSecrets bool) {
	d.list(ctx, client, ns, listSA, listSecrets)
	d.fetchReferenced(ctx, client, ns, referenced)
}

// list reads the namespace's service accounts (listSA) and pull secrets
// (listSecrets).
func (d *namespaceData) list(ctx context.Context, client kubernetes.Interface, ns string, listSA, listSecrets bool) {
	only := func(string) *namespaceData { return d }
	if listSA {
		d.saErr = listServiceAccounts(ctx, client, ns, only)
	}
	if listSecrets {
		d.secretsErr = listPullSecrets(ctx, client, ns, only)
	}
}

// fetchReferenced gets the secrets referenced (and those the service
// accounts name) that no pull-secret list returned, to tell a wrong type
// from a missing secret.
func (d *namespaceData) fetchReferenced(ctx context.Context, client kubernetes.Interface, ns string, referenced []string) {
	referenced = slices.Clone(referenced)
	for _, names := range d.serviceAccounts {
		referenced = append(referenced, names...)
	}
	if d.secretsErr != nil {
		return
	}
	fetched := map[string]bool{}
	for _, name := range referenced {
		if d.secrets[name] != nil || d.invalid[name] != nil || fetched[name] {
			continue
		}
		fetched[name] = true
		sec, err := client.CoreV1().Secrets(ns).Get(ctx, name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
		case err != nil:
			d.secretsErr = err
		default:
			d.add(sec)
		}
	}
}

// listServiceAccounts lists the service accounts of ns (all namespaces
// for metav1.NamespaceAll), each into the data into gives for its
// namespace.
func listServiceAccounts(ctx context.Context, client kubernetes.Interface, ns string, into func(ns string) *namespaceData) error {
	return eachItem(ctx, func(ctx context.Context, opts metav1.ListOptions) (runtime.Object, error) {
		return client.CoreV1().ServiceAccounts(ns).List(ctx, opts)
	}, func(o runtime.Object) {
		sa := o.(*corev1.ServiceAccount)
		d := into(sa.Namespace)
		if d == nil {
			return
		}
		names := make([]string, 0, len(sa.ImagePullSecrets))
		for _, r := range sa.ImagePullSecrets {
			names = append(names, r.Name)
		}
		d.serviceAccounts[sa.Name] = names
	})
}

// listPullSecrets lists the secrets of the two pull-secret types in ns
// (all namespaces for metav1.NamespaceAll) and returns the first error;
// one type failing does not stop the other.
func listPullSecrets(ctx context.Context, client kubernetes.Interface, ns string, into func(ns string) *namespaceData) error {
	var first error
	for _, t := range pullSecretTypes {
		err := eachItem(ctx, func(ctx context.Context, opts metav1.ListOptions) (runtime.Object, error) {
			opts.FieldSelector = fields.OneTermEqualSelector("type", string(t)).String()
			return client.CoreV1().Secrets(ns).List(ctx, opts)
		}, func(o runtime.Object) {
			sec := o.(*corev1.Secret)
			if d := into(sec.Namespace); d != nil {
				d.add(sec)
			}
		})
		if err != nil && first == nil {
			first = err
		}
	}
	return first
}

// clearSecrets forgets the secrets read, so a failed cluster-wide list
// leaves nothing half-read behind its per-namespace retry.
func (d *namespaceData) clearSecrets() {
	clear(d.secrets)
	clear(d.invalid)
	clear(d.other)
	clear(d.types)
}

func (d *namespaceData) add(sec *corev1.Secret) {
	d.types[sec.Name] = sec.Type
	parsed, err := Parse(sec)
	var invalid *InvalidError
	switch {
	case errors.As(err, &invalid):
		d.invalid[sec.Name] = invalid
	case err != nil:
		d.invalid[sec.Name] = &InvalidError{Namespace: sec.Namespace, Name: sec.Name, Reason: err.Error()}
	default:
		d.secrets[sec.Name] = parsed
	}
	if sec.Type != corev1.SecretTypeDockerConfigJson && sec.Type != corev1.SecretTypeDockercfg {
		d.other[sec.Name] = sec.Type
	}
}

// eachItem pages through a list, 500 items at a time, as kubectl does.
func eachItem(ctx context.Context, list pager.ListPageFunc, each func(runtime.Object)) error {
	p := pager.New(list)
	p.PageSize = 500
	return p.EachListItem(ctx, metav1.ListOptions{}, func(o runtime.Object) error {
		each(o)
		return nil
	})
}

// SecretState is what a namespace holds under a secret name.
type SecretState int

const (
	SecretUnknown SecretState = iota // Secrets could not be read
	SecretMissing                    // no such secret
	SecretInvalid                    // exists but unusable (wrong type, undecodable…)
	SecretUsable                     // a parsed pull secret
)

// Secret reports the state of ns/name and, when usable, the parsed secret;
// when invalid, why.
func (s *Store) Secret(ns, name string) (SecretState, *Secret, *InvalidError) {
	d := s.namespaces[ns]
	if d == nil {
		return SecretUnknown, nil, nil
	}
	if sec := d.secrets[name]; sec != nil {
		return SecretUsable, sec, nil
	}
	if d.secretsErr != nil { // what was not read may exist
		return SecretUnknown, nil, nil
	}
	if inv := d.invalid[name]; inv != nil {
		return SecretInvalid, nil, inv
	}
	return SecretMissing, nil, nil
}

// SecretType returns the type of a secret that was read, "" when none was.
func (s *Store) SecretType(ns, name string) corev1.SecretType {
	if d := s.namespaces[ns]; d != nil {
		return d.types[name]
	}
	return ""
}

// SecretsError says why the namespace's Secrets could not be read, or nil.
func (s *Store) SecretsError(ns string) error {
	if d := s.namespaces[ns]; d != nil {
		return d.secretsErr
	}
	return nil
}

// ServiceAccountError says why the namespace's ServiceAccounts could not be read, or nil.
func (s *Store) ServiceAccountError(ns string) error {
	if d := s.namespaces[ns]; d != nil {
		return d.saErr
	}
	return nil
}

// ServiceAccountPullSecrets returns the imagePullSecrets names of a service
// account ("" means "default") and whether it exists.
func (s *Store) ServiceAccountPullSecrets(ns, sa string) ([]string, bool) {
	if sa == "" {
		sa = "default"
	}
	d := s.namespaces[ns]
	if d == nil {
		return nil, false
	}
	names, ok := d.serviceAccounts[sa]
	return names, ok
}

// PullSecretNames returns the names of the namespace's pull secrets (usable
// or not, of the two pull-secret types), sorted.
func (s *Store) PullSecretNames(ns string) []string {
	d := s.namespaces[ns]
	if d == nil {
		return nil
	}
	var out []string
	for name := range d.secrets {
		if _, other := d.other[name]; !other {
			out = append(out, name)
		}
	}
	for name := range d.invalid {
		if _, other := d.other[name]; !other {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

// ServiceAccounts returns the namespace's service accounts, sorted.
func (s *Store) ServiceAccounts(ns string) []string {
	d := s.namespaces[ns]
	if d == nil {
		return nil
	}
	out := make([]string, 0, len(d.serviceAccounts))
	for name := range d.serviceAccounts {
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

// Sources returns the pull secrets the kubelet would use for a pod or pod
// template in ns: its own imagePullSecrets, or else its service account's
// (which admission copies onto pods that name none). Missing and invalid
// secrets are left out, as the kubelet skips them.
func (s *Store) Sources(ns, serviceAccount string, podSecrets []string) []Source {
	saSecrets, _ := s.ServiceAccountPullSecrets(ns, serviceAccount)
	get := func(name string) *Secret {
		_, sec, _ := s.Secret(ns, name)
		return sec
	}
	return TemplateSources(localRefs(podSecrets), localRefs(saSecrets), get)
}

// PodSources returns the sources of a pod that exists: its own
// imagePullSecrets and nothing else, which is all the kubelet reads (the
// service account's were copied in at creation, if at all).
func (s *Store) PodSources(ns string, podSecrets []string) []Source {
	var out []Source
	for _, n := range podSecrets {
		if _, sec, _ := s.Secret(ns, n); sec != nil {
			out = append(out, Source{Kind: KindPodSecret, Secret: sec})
		}
	}
	return out
}

func localRefs(names []string) []corev1.LocalObjectReference {
	out := make([]corev1.LocalObjectReference, len(names))
	for i, n := range names {
		out[i] = corev1.LocalObjectReference{Name: n}
	}
	return out
}
