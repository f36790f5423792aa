package pipeline

import (
	"context"
	"maps"
	"slices"

	"golang.org/x/sync/errgroup"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/imgtrust/kubectl-imgtrust/pkg/coverage"
	"github.com/imgtrust/kubectl-imgtrust/pkg/pullsecret"
	"github.com/imgtrust/kubectl-imgtrust/pkg/registry"
	"github.com/imgtrust/kubectl-imgtrust/pkg/workload"
)

// verifyConcurrency bounds --verify checks in flight; there are few, one
// per distinct credential and registry.
const verifyConcurrency = 4

// namespacesOf are those of the workloads found, plus the current
// namespace (it may hold pull secrets but no workload); with -A and no
// narrowing, every namespace the user may list.
func namespacesOf(ctx context.Context, client kubernetes.Interface, scope workload.Scope, found *workload.Discovery, whole bool) []string {
	set := map[string]bool{}
	for _, ns := range found.Namespaces() {
		set[ns] = true
	}
	switch {
	case !scope.AllNamespaces && whole:
		set[scope.Namespace] = true
	case scope.AllNamespaces && whole:
		for _, ns := range listNamespaces(ctx, client) {
			set[ns] = true
		}
	}
	delete(set, "")
	return slices.Sorted(maps.Keys(set))
}

// listNamespaces lists every namespace; without permission it returns
// none and the report covers the namespaces of the workloads found.
func listNamespaces(ctx context.Context, client kubernetes.Interface) []string {
	list, err := client.CoreV1().Namespaces().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil
	}
	out := make([]string, 0, len(list.Items))
	for _, ns := range list.Items {
		out = append(out, ns.Name)
	}
	return out
}

// locateMissing finds where the missing secrets live: one server-filtered
// LIST per name, or, without permission to list secrets cluster-wide, the
// namespaces already loaded.
func locateMissing(ctx context.Context, client kubernetes.Interface, store *pullsecret.Store, namespaces, names []string) map[string][]pullsecret.Location {
	out := map[string][]pullsecret.Location{}
	for _, name := range names {
		locs, err := pullsecret.Locate(ctx, client, name)
		if err != nil {
			locs = nil
			for _, ns := range namespaces {
				if state, _, _ := store.Secret(ns, name); state != pullsecret.SecretUsable && state != pullsecret.SecretInvalid {
					continue
				}
				if t := store.SecretType(ns, name); t == corev1.SecretTypeDockerConfigJson || t == corev1.SecretTypeDockercfg {
					locs = append(locs, pullsecret.Location{Namespace: ns, Type: t})
				}
			}
		}
		if len(locs) > 0 {
			out[name] = locs
		}
	}
	return out
}

// verifyAll runs the checks, a few at a time; the Verifier sends each
// credential to each registry at most once.
func verifyAll(ctx context.Context, v *registry.Verifier, checks []coverage.Check) map[coverage.CheckKey]registry.Verification {
	results := make([]registry.Verification, len(checks))
	var g errgroup.Group
	g.SetLimit(verifyConcurrency)
	for i, c := range checks {
		g.Go(func() error {
			results[i] = v.Verify(ctx, c.Key.Registry, c.Repository, c.Credential)
			return nil
		})
	}
	_ = g.Wait() // verdicts carry their own failures
	out := make(map[coverage.CheckKey]registry.Verification, len(checks))
	for i, c := range checks {
		out[c.Key] = results[i]
	}
	return out
}
