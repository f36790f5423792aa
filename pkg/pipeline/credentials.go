package pipeline

import (
	"context"
	"fmt"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/google/go-containerregistry/pkg/authn"
	"k8s.io/client-go/kubernetes"

	"github.com/imgtrust/kubectl-imgtrust/pkg/pullsecret"
	"github.com/imgtrust/kubectl-imgtrust/pkg/registry"
	"github.com/imgtrust/kubectl-imgtrust/pkg/workload"
)

// CredentialPlan gives each workload's images the credentials a node would
// try, in the kubelet's order: the pod's pull secrets (or its service
// account's), then the user's docker config standing in for the node's,
// then anonymous.
type CredentialPlan struct {
	store *pullsecret.Store
	local *pullsecret.LocalConfig
	// keyrings by namespace, service account and pull secrets: thousands of
	// containers share a handful of these.
	keyrings map[string]*pullsecret.Keyring
}

func NewCredentialPlan(store *pullsecret.Store) *CredentialPlan {
	return &CredentialPlan{store: store, local: pullsecret.NewLocalConfig(authn.DefaultKeychain), keyrings: map[string]*pullsecret.Keyring{}}
}

// LoadCredentialPlan reads the pull secrets and service accounts of the
// discovered workloads' namespaces (one LIST each per namespace, or across
// the cluster after a cluster-wide discovery) and returns the plan with
// warnings naming what could not be read.
func LoadCredentialPlan(ctx context.Context, client kubernetes.Interface, found *workload.Discovery) (*CredentialPlan, []string) {
	return loadCredentialPlan(ctx, client, found, nil)
}

// loadCredentialPlan is LoadCredentialPlan; with read set, the secrets and
// service accounts come from that read (started with the listing), so
// they are not listed a second time.
func loadCredentialPlan(ctx context.Context, client kubernetes.Interface, found *workload.Discovery, read *pullsecret.Read) (*CredentialPlan, []string) {
	load := pullsecret.Load{
		Namespaces:  found.Namespaces(),
		Referenced:  ReferencedSecrets(found.Workloads),
		ClusterWide: found.ClusterWide,
	}
	var store *pullsecret.Store
	if read != nil {
		store = read.Store(ctx, load)
	} else {
		store = pullsecret.LoadStore(ctx, client, load)
	}
	return NewCredentialPlan(store), storeWarnings(store, found.Namespaces())
}

// For returns the credentials for one image of one workload, and whether
// they are complete (false when the namespace's secrets are unreadable):
// for a Pod its own pull secrets, for a template what a pod created from
// it now gets (the template's, or else its service account's). It is not
// safe for concurrent use.
func (p *CredentialPlan) For(obj workload.Object, image string) ([]registry.Credential, bool, error) {
	if obj.Spec == nil {
		return p.credentials("", "", nil, image)
	}
	if obj.Kind == "Pod" {
		return p.ForPods(obj.Namespace, obj.Spec.PullSecrets, image)
	}
	key := "template\x00" + obj.Namespace + "\x00" + obj.Spec.ServiceAccount + "\x00" + strings.Join(obj.Spec.PullSecrets, "\x00")
	return p.credentials(key, obj.Namespace, func() []pullsecret.Source {
		return p.store.Sources(obj.Namespace, obj.Spec.ServiceAccount, obj.Spec.PullSecrets)
	}, image)
}

// NewPodSecrets names the pull secrets a pod created from obj's template
// gets now: the template's, or else its service account's.
func (p *CredentialPlan) NewPodSecrets(obj workload.Object) []string {
	if obj.Spec == nil {
		return nil
	}
	if len(obj.Spec.PullSecrets) > 0 || p.store == nil {
		return obj.Spec.PullSecrets
	}
	names, _ := p.store.ServiceAccountPullSecrets(obj.Namespace, obj.Spec.ServiceAccount)
	return names
}

// ForPods returns the credentials of pods that exist in ns with the given
// imagePullSecrets: those secrets alone, as the kubelet reads them.
func (p *CredentialPlan) ForPods(ns string, podSecrets []string, image string) ([]registry.Credential, bool, error) {
	key := "pod\x00" + ns + "\x00" + strings.Join(podSecrets, "\x00")
	return p.credentials(key, ns, func() []pullsecret.Source { return p.store.PodSources(ns, podSecrets) }, image)
}

// credentials memoises one keyring per key; sources is nil (or the plan
// has no store) for the local docker config alone.
func (p *CredentialPlan) credentials(key, ns string, sources func() []pullsecret.Source, image string) ([]registry.Credential, bool, error) {
	complete := true
	if p.store == nil || sources == nil {
		key, sources = "", nil
	} else {
		complete = p.store.SecretsError(ns) == nil && p.store.ServiceAccountError(ns) == nil
	}
	keyring, ok := p.keyrings[key]
	if !ok {
		var src []pullsecret.Source
		if sources != nil {
			src = sources()
		}
		keyring = pullsecret.NewKeyring(src...)
		p.keyrings[key] = keyring
	}
	creds, err := keyring.Credentials(image, p.local)
	return creds, complete, err
}

// ReferencedSecrets lists, per namespace, the pull secrets pod specs name.
func ReferencedSecrets(workloads []workload.Workload) map[string][]string {
	out := map[string][]string{}
	seen := map[string]bool{}
	for _, w := range workloads {
		if w.Spec == nil {
			continue
		}
		for _, s := range w.Spec.PullSecrets {
			if key := w.Namespace + "/" + s; !seen[key] {
				seen[key] = true
				out[w.Namespace] = append(out[w.Namespace], s)
			}
		}
	}
	return out
}

// storeWarnings names namespaces whose pull secrets or service accounts
// could not be read.
func storeWarnings(store *pullsecret.Store, namespaces []string) []string {
	var out []string
	for _, ns := range namespaces {
		if err := store.SecretsError(ns); err != nil {
			out = append(out, fmt.Sprintf("cannot read pull secrets in namespace %q (%s): registry results there use only your docker config and anonymous access", ns, Reason(err)))
		}
		if err := store.ServiceAccountError(ns); err != nil {
			out = append(out, fmt.Sprintf("cannot read service accounts in namespace %q (%s): their pull secrets are not considered", ns, Reason(err)))
		}
	}
	return out
}

// Reason shortens API errors for warnings: RBAC denials become "forbidden by RBAC".
func Reason(err error) string {
	if apierrors.IsForbidden(err) {
		return "forbidden by RBAC"
	}
	return err.Error()
}
