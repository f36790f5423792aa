package vulns

import (
	"context"
	"fmt"
	"sort"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/tools/pager"
)

// GroupVersion is the Trivy Operator's API.
const GroupVersion = "aquasecurity.github.io/v1alpha1"

var (
	vulnerabilityReports        = schema.GroupVersionResource{Group: "aquasecurity.github.io", Version: "v1alpha1", Resource: "vulnerabilityreports"}
	clusterVulnerabilityReports = schema.GroupVersionResource{Group: "aquasecurity.github.io", Version: "v1alpha1", Resource: "clustervulnerabilityreports"}
	replicaSets                 = schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "replicasets"}
)

const pageSize = 500

// Clients are what Read asks: discovery for whether the CRDs are served,
// the dynamic client for the reports, the metadata client for the
// ReplicaSets a Deployment's reports are filed under.
type Clients struct {
	Discovery discovery.DiscoveryInterface
	Dynamic   dynamic.Interface
	Metadata  metadata.Interface
}

// Index is every report read in scope, with what could not be read.
type Index struct {
	// Served is false when the cluster serves no VulnerabilityReports
	// (no Trivy Operator): there is nothing to read, and that is a fact.
	Served  bool
	Reports []Report
	// SBOMs are the SbomReports in scope, when served.
	SBOMs   []Report
	Skipped []Skipped
	// skippedReports are the VulnerabilityReports among Skipped: a usage
	// they are filed under cannot be said to have no scan.
	skippedReports []Skipped
	// failed holds why reports could not be read, by namespace ("" for
	// every namespace).
	failed map[string]string
	// owners maps a ReplicaSet ("ns/name") to the Deployment controlling it.
	owners       map[string]string
	ownersFailed map[string]string
	// Warnings are failures that decide no usage's answer (cluster reports).
	Warnings []string
	// byDigest and byContainer index Reports (candidates).
	byDigest, byContainer map[string][]int
}

// Read lists the reports in namespaces (nil: all namespaces), one paged
// LIST per namespace, and the ClusterVulnerabilityReports. Failures are
// kept per namespace and decide the answer of the usages there only.
func Read(ctx context.Context, c Clients, namespaces []string) *Index {
	ix := &Index{failed: map[string]string{}, owners: map[string]string{}, ownersFailed: map[string]string{}}
	scopes := namespaces
	if scopes == nil {
		scopes = []string{metav1.NamespaceAll}
	}
	served, clusterServed, sbomServed, err := servedKinds(c.Discovery)
	if err != nil {
		for _, ns := range scopes {
			ix.failed[ns] = "cannot ask the API server whether the Trivy Operator's reports are served: " + err.Error()
		}
		return ix
	}
	if !served {
		return ix
	}
	ix.Served = true
	for _, ns := range scopes {
		err := each(ctx, c.Dynamic.Resource(vulnerabilityReports).Namespace(ns), func(u *unstructured.Unstructured) {
			ix.add("VulnerabilityReport", u)
		})
		if err != nil {
			ix.failed[ns] = listError("vulnerabilityreports.aquasecurity.github.io", ns, err)
		}
	}
	if clusterServed {
		err := each(ctx, c.Dynamic.Resource(clusterVulnerabilityReports), func(u *unstructured.Unstructured) {
			ix.add("ClusterVulnerabilityReport", u)
		})
		if err != nil {
			ix.Warnings = append(ix.Warnings, listError("clustervulnerabilityreports.aquasecurity.github.io", "", err))
		}
	}
	// SBOMs: one paged LIST per scope, like the reports. One that cannot
	// be listed leaves the items without an SBOM and says so once: it
	// decides no vulnerability answer.
	for _, ns := range scopes {
		if !sbomServed {
			break
		}
		err := each(ctx, c.Dynamic.Resource(sbomReports).Namespace(ns), func(u *unstructured.Unstructured) {
			if r, err := Parse("SbomReport", u); err == nil {
				ix.SBOMs = append(ix.SBOMs, r)
			} else {
				ix.Skipped = append(ix.Skipped, skipped("SbomReport", u, err.Error()))
			}
		})
		if err != nil {
			ix.Warnings = append(ix.Warnings, listError("sbomreports.aquasecurity.github.io", ns, err)+": no SBOM is reported from them")
		}
	}
	// Deployments are reported at ReplicaSet level: their owners are read
	// only when such a report (or a skipped one) exists.
	for _, ns := range scopes {
		if !ix.hasReplicaSetReports(ns) {
			continue
		}
		err := eachMeta(ctx, c.Metadata.Resource(replicaSets).Namespace(ns), func(m *metav1.PartialObjectMetadata) {
			if owner := metav1.GetControllerOf(m); owner != nil && owner.Kind == "Deployment" {
				ix.owners[m.Namespace+"/"+m.Name] = owner.Name
			}
		})
		if err != nil {
			ix.ownersFailed[ns] = listError("replicasets.apps", ns, err)
		}
	}
	sort.Slice(ix.Skipped, func(i, j int) bool { return ix.Skipped[i].Ref < ix.Skipped[j].Ref })
	return ix
}

// Failed is an index that could not be read at all: every usage's
// answer is why.
func Failed(why string) *Index {
	return &Index{failed: map[string]string{"": why}}
}

func (ix *Index) add(kind string, u *unstructured.Unstructured) {
	r, err := Parse(kind, u)
	if err != nil {
		ix.Skipped = append(ix.Skipped, skipped(kind, u, err.Error()))
		if kind == "VulnerabilityReport" {
			ix.skippedReports = append(ix.skippedReports, ix.Skipped[len(ix.Skipped)-1])
		}
		return
	}
	ix.Reports = append(ix.Reports, r)
}

func (ix *Index) hasReplicaSetReports(ns string) bool {
	for _, r := range ix.Reports {
		if r.OwnerKind == "ReplicaSet" && r.Namespace != "" && (ns == "" || r.Namespace == ns) {
			return true
		}
	}
	for _, s := range ix.skippedReports {
		if s.OwnerKind == "ReplicaSet" && s.Namespace != "" && (ns == "" || s.Namespace == ns) {
			return true
		}
	}
	return false
}

// Failure says why the reports of a workload in namespace ns could not
// all be read; "" when they could.
func (ix *Index) Failure(ns, kind string) string {
	for _, scope := range []string{ns, ""} {
		if msg := ix.failed[scope]; msg != "" {
			return msg
		}
	}
	if kind == "Deployment" {
		for _, scope := range []string{ns, ""} {
			if msg := ix.ownersFailed[scope]; msg != "" {
				return msg
			}
		}
	}
	return ""
}

// servedKinds asks discovery whether VulnerabilityReports,
// ClusterVulnerabilityReports and SbomReports are served.
func servedKinds(d discovery.DiscoveryInterface) (namespaced, cluster, sbom bool, err error) {
	list, err := d.ServerResourcesForGroupVersion(GroupVersion)
	if apierrors.IsNotFound(err) {
		return false, false, false, nil
	}
	if err != nil {
		return false, false, false, err
	}
	for _, r := range list.APIResources {
		switch r.Name {
		case vulnerabilityReports.Resource:
			namespaced = true
		case clusterVulnerabilityReports.Resource:
			cluster = true
		case sbomReports.Resource:
			sbom = true
		}
	}
	return namespaced, cluster, sbom, nil
}

func each(ctx context.Context, ri dynamic.ResourceInterface, f func(*unstructured.Unstructured)) error {
	p := pager.New(func(ctx context.Context, opts metav1.ListOptions) (runtime.Object, error) {
		return ri.List(ctx, opts)
	})
	p.PageSize = pageSize
	return p.EachListItem(ctx, metav1.ListOptions{}, func(obj runtime.Object) error {
		if u, ok := obj.(*unstructured.Unstructured); ok {
			f(u)
		}
		return nil
	})
}

func eachMeta(ctx context.Context, ri metadata.ResourceInterface, f func(*metav1.PartialObjectMetadata)) error {
	p := pager.New(func(ctx context.Context, opts metav1.ListOptions) (runtime.Object, error) {
		return ri.List(ctx, opts)
	})
	p.PageSize = pageSize
	return p.EachListItem(ctx, metav1.ListOptions{}, func(obj runtime.Object) error {
		if m, ok := obj.(*metav1.PartialObjectMetadata); ok {
			f(m)
		}
		return nil
	})
}

// listError names what could not be listed where; RBAC is said as such.
func listError(resource, ns string, err error) string {
	where := "in all namespaces"
	if ns != "" {
		where = fmt.Sprintf("in namespace %q", ns)
	}
	reason := err.Error()
	if apierrors.IsForbidden(err) {
		reason = "forbidden by RBAC"
	}
	return fmt.Sprintf("cannot list %s %s: %s", resource, where, reason)
}
