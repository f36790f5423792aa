package workload

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"sort"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/resource"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// Scope is what the user asked to look at, in kubectl's terms.
type Scope struct {
	Namespace     string // from -n or the kubeconfig context
	AllNamespaces bool   // -A
	Selector      string // -l
	Args          []string
	Filenames     []string  // -f: read manifests, no cluster access
	Recursive     bool      // -R
	Stdin         io.Reader // for -f -; os.Stdin when nil
	// ImagePaths says which fields of custom resources hold images: the
	// built-in catalogue (nil) or it with --image-paths rules added.
	ImagePaths *Catalog
	// Listing, when set, is called once when a listing of the cluster (not
	// with -f or TYPE/NAME) starts: the input is checked and the API server
	// answered.
	Listing func()
	// Early, when set, is called once during a listing of the cluster (not
	// with -f or TYPE/NAME), before the pods are all read, with the
	// workloads already certain to be reported: controllers without an
	// owner, which the selector (if any) matches. Their template images
	// and credentials are then known, so registry work can start.
	Early func([]Object)
	// EarlyPods, when set, is called during such a listing after Early,
	// with each page's pods certain to be reported, and how (EarlyPod).
	EarlyPods func([]EarlyPod)
}

// Offline reports whether the scope reads manifest files rather than the cluster.
func (s Scope) Offline() bool { return len(s.Filenames) > 0 }

// Discovery is what was found.
type Discovery struct {
	Workloads []Workload
	// Warnings name what could not be read (e.g. RBAC-forbidden kinds); the
	// workloads hold everything else.
	Warnings []string
	// ClusterWide is set when the cluster was read across all namespaces
	// (-A): what is read next (pull secrets, service accounts) may then be
	// listed across them too.
	ClusterWide bool
	// InputErrors name -f inputs (files, documents, objects) that could
	// not be read: the report does not cover them.
	InputErrors []InputError
	// Skipped are -f objects of kinds without a pod template.
	Skipped []Skipped
}

// Namespaces returns the sorted namespaces of the discovered workloads.
func (d *Discovery) Namespaces() []string {
	seen := map[string]bool{}
	var out []string
	for _, w := range d.Workloads {
		if !seen[w.Namespace] {
			seen[w.Namespace] = true
			out = append(out, w.Namespace)
		}
	}
	sort.Strings(out)
	return out
}

// Discover finds the workloads in scope. Manifests (-f) are read locally;
// TYPE/NAME arguments go through resource.Builder, so short names and CRDs
// work as in kubectl, and their pods are rolled up into them; otherwise every
// workload kind is listed in the namespace (or cluster-wide with -A).
func Discover(ctx context.Context, getter genericclioptions.RESTClientGetter, scope Scope) (*Discovery, error) {
	if scope.Offline() {
		return discoverFiles(scope)
	}
	// Bad input is said before the cluster is asked anything.
	var selector labels.Selector
	if scope.Selector != "" {
		var err error
		if selector, err = labels.Parse(scope.Selector); err != nil {
			return nil, fmt.Errorf("invalid --selector %q: %w", scope.Selector, err)
		}
	}
	client, err := NewClient(getter)
	if err != nil {
		return nil, err
	}
	// One request before the concurrent listing: an API server that cannot
	// be reached, or credentials that cannot be had (an exec plugin that
	// fails), are then said once, not once per kind.
	if _, err := client.Discovery().ServerVersion(); err != nil {
		return nil, err
	}
	if len(scope.Args) > 0 {
		d, err := discoverNamed(ctx, getter, client, scope)
		if d != nil {
			d.ClusterWide = scope.AllNamespaces
		}
		return d, err
	}
	ns := scope.Namespace
	if scope.AllNamespaces {
		ns = ""
	}
	early, pods := earlyHooks(scope, selector)
	if scope.Listing != nil {
		scope.Listing()
	}
	objects, problems, err := list(ctx, client, ns, early, pods)
	if err != nil {
		return nil, err
	}
	custom, customProblems, warnings := listCustom(ctx, getter, scope.ImagePaths, ns)
	objects = append(objects, custom...)
	warnings = append(messages(append(problems, customProblems...)), warnings...)
	return &Discovery{Workloads: Rollup(objects, RollupOptions{Selector: selector}), Warnings: warnings, ClusterWide: scope.AllNamespaces}, nil
}

// earlyHooks are list's hooks that tell scope.Early and scope.EarlyPods
// what is certain; nil when neither is set.
func earlyHooks(scope Scope, selector labels.Selector) (controllers, pods func([]Object)) {
	var owners ownerIndex
	if scope.Early != nil || scope.EarlyPods != nil {
		controllers = func(objs []Object) {
			owners = newOwnerIndex(objs, selector)
			if scope.Early != nil {
				scope.Early(certainRoots(objs, selector))
			}
		}
	}
	if scope.EarlyPods != nil {
		// Called only after controllers has returned (list holds the
		// pages read before).
		pods = func(page []Object) {
			if certain := owners.certainPods(page); len(certain) > 0 {
				scope.EarlyPods(certain)
			}
		}
	}
	return controllers, pods
}

// listCustom is ListCustom with the clients of getter.
func listCustom(ctx context.Context, getter genericclioptions.RESTClientGetter, cat *Catalog, ns string) ([]Object, []*ListError, []string) {
	cfg, err := getter.ToRESTConfig()
	if err != nil {
		return nil, nil, []string{"custom resources not read: " + err.Error()}
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, nil, []string{"custom resources not read: " + err.Error()}
	}
	mapper, err := getter.ToRESTMapper()
	if err != nil {
		return nil, nil, []string{"custom resources not read: " + err.Error()}
	}
	return ListCustom(ctx, dyn, mapper, cat, ns)
}

// NewClient builds a typed client that speaks protobuf, which the API server
// encodes and we decode several times faster than JSON on large lists.
func NewClient(getter genericclioptions.RESTClientGetter) (kubernetes.Interface, error) {
	cfg, err := getter.ToRESTConfig()
	if err != nil {
		return nil, err
	}
	cfg = cfgCopyProtobuf(cfg)
	return kubernetes.NewForConfig(cfg)
}

func discoverNamed(ctx context.Context, getter genericclioptions.RESTClientGetter, client kubernetes.Interface, scope Scope) (*Discovery, error) {
	r := resource.NewBuilder(getter).
		Unstructured().
		NamespaceParam(scope.Namespace).DefaultNamespace().AllNamespaces(scope.AllNamespaces).
		LabelSelectorParam(scope.Selector).
		ResourceTypeOrNameArgs(true, scope.Args...).
		ContinueOnError().
		Latest().
		Flatten().
		Do()
	infos, err := r.Infos()
	if err != nil && len(infos) == 0 {
		return nil, err
	}
	d := &Discovery{}
	if err != nil {
		d.Warnings = append(d.Warnings, err.Error())
	}
	named, warnings := fromInfos(scope.ImagePaths, infos)
	d.Warnings = append(d.Warnings, warnings...)

	// List the named objects' namespaces so their ReplicaSets, Jobs and pods
	// (and what those run) roll up into them.
	roots := make(map[types.UID]bool, len(named))
	namespaces := map[string]bool{}
	for _, o := range named {
		roots[o.UID] = true
		namespaces[o.Namespace] = true
	}
	var objects []Object
	seen := map[types.UID]bool{}
	for _, ns := range slices.Sorted(maps.Keys(namespaces)) {
		listed, problems, err := List(ctx, client, ns)
		d.Warnings = append(d.Warnings, messages(problems)...)
		if err != nil {
			continue
		}
		for _, o := range listed {
			seen[o.UID] = true
			objects = append(objects, o)
		}
	}
	for _, o := range named {
		if !seen[o.UID] { // kinds List does not know, e.g. CRDs
			objects = append(objects, o)
		}
	}
	d.Workloads = Rollup(objects, RollupOptions{Named: roots})
	return d, nil
}

// fromInfos keeps the objects that hold a pod spec; others are named in a
// warning when the user asked for them explicitly.
func fromInfos(cat *Catalog, infos []*resource.Info) ([]Object, []string) {
	var objects []Object
	var warnings []string
	for _, info := range infos {
		u, ok := info.Object.(*unstructured.Unstructured)
		if !ok {
			continue
		}
		obj, ok, err := cat.FromUnstructured(u)
		var fields *FieldErrors
		if errors.As(err, &fields) {
			warnings = append(warnings, err.Error()) // its other images are read
			err = nil
		}
		switch {
		case err != nil:
			warnings = append(warnings, err.Error())
		case !ok:
			if !isIgnorable(u.GetKind()) {
				warnings = append(warnings, fmt.Sprintf("%s %s has no pod template: skipped", u.GetKind(), u.GetName()))
			}
		default:
			if info.Mapping != nil && !isCoreOrApps(info.Mapping.GroupVersionKind.Group) {
				obj.Resource = info.Mapping.Resource.GroupResource().String()
			}
			objects = append(objects, obj)
		}
	}
	return objects, warnings
}

// isIgnorable: kinds that never hold a pod spec and are common in manifest
// folders, so skipping them is not worth a warning.
func isIgnorable(kind string) bool {
	switch kind {
	case "Service", "ConfigMap", "Secret", "ServiceAccount", "Namespace", "Ingress", "Role", "RoleBinding",
		"ClusterRole", "ClusterRoleBinding", "PersistentVolumeClaim", "NetworkPolicy", "PodDisruptionBudget",
		"HorizontalPodAutoscaler", "CustomResourceDefinition":
		return true
	}
	return false
}

func messages(problems []*ListError) []string {
	out := make([]string, 0, len(problems))
	for _, p := range problems {
		out = append(out, p.Error())
	}
	sort.Strings(out)
	return out
}

// cfgCopyProtobuf asks for protobuf, falling back to JSON for anything
// that does not speak it.
func cfgCopyProtobuf(cfg *rest.Config) *rest.Config {
	c := rest.CopyConfig(cfg)
	c.ContentType = "application/vnd.kubernetes.protobuf"
	c.AcceptContentTypes = "application/vnd.kubernetes.protobuf,application/json"
	return c
}
