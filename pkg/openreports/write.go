package openreports

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"

	v1alpha1 "github.com/openreports/reports-api/apis/openreports.io/v1alpha1"
	reportsclient "github.com/openreports/reports-api/pkg/client/clientset/versioned/typed/openreports.io/v1alpha1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/discovery"
)

// InstallCommand installs the CRDs of the API version we write.
const InstallCommand = "kubectl apply --server-side -f https://github.com/openreports/reports-api/releases/download/v0.2.1/install.yaml"

// ErrNotInstalled says the cluster does not serve openreports.io/v1alpha1 reports.
var ErrNotInstalled = errors.New("the OpenReports CRD (reports.openreports.io/v1alpha1) is not installed in this cluster: install it with `" + InstallCommand + "`")

// CheckInstalled asks discovery whether the cluster serves Reports, before
// anything is audited or written.
func CheckInstalled(disc discovery.DiscoveryInterface) error {
	list, err := disc.ServerResourcesForGroupVersion(v1alpha1.GroupVersion.String())
	if apierrors.IsNotFound(err) {
		return ErrNotInstalled
	}
	if err != nil {
		return fmt.Errorf("cannot ask the API server whether OpenReports is installed: %w", err)
	}
	for _, r := range list.APIResources {
		if r.Name == "reports" {
			return nil
		}
	}
	return ErrNotInstalled
}

// Writer applies Reports and prunes ours that no longer hold.
type Writer struct {
	Client reportsclient.ReportsGetter
}

// Target is where the audit looked: one namespace, or all (Namespace "").
// Prune is false when the audit could not read everything (a forbidden
// kind), so that a partial view deletes nothing.
type Target struct {
	Namespace string
	Prune     bool
}

// Outcome says what was written and removed, and what failed where.
type Outcome struct {
	Written []v1alpha1.Report
	Pruned  []string // namespaces whose Report was deleted
	Errors  []error  // one per namespace that could not be written or pruned
}

// Write applies each report server-side (the results list is atomic, so a
// result that no longer holds is gone), then deletes our Reports in the
// target's namespaces that got none this time. A failure in one namespace
// does not stop the others.
func (w Writer) Write(ctx context.Context, reports []v1alpha1.Report, target Target) Outcome {
	var out Outcome
	written := map[string]bool{}
	for _, r := range reports {
		written[r.Namespace] = true // never pruned, even when the write failed
		if err := w.apply(ctx, r); err != nil {
			out.Errors = append(out.Errors, fmt.Errorf("cannot write Report %s/%s: %w", r.Namespace, r.Name, err))
			continue
		}
		out.Written = append(out.Written, r)
	}
	if !target.Prune {
		return out
	}
	ours, err := w.Client.Reports(target.Namespace).List(ctx, metav1.ListOptions{LabelSelector: ManagedByLabel + "=" + Source})
	if err != nil {
		where := "all namespaces"
		if target.Namespace != "" {
			where = "namespace " + target.Namespace
		}
		out.Errors = append(out.Errors, fmt.Errorf("cannot list Reports in %s to prune stale ones: %w", where, err))
		return out
	}
	for _, r := range ours.Items {
		if written[r.Namespace] || r.Name != ReportName {
			continue
		}
		err := w.Client.Reports(r.Namespace).Delete(ctx, r.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &r.UID}})
		switch {
		case err == nil || apierrors.IsNotFound(err):
			out.Pruned = append(out.Pruned, r.Namespace)
		default:
			out.Errors = append(out.Errors, fmt.Errorf("cannot delete stale Report %s/%s: %w", r.Namespace, r.Name, err))
		}
	}
	sort.Strings(out.Pruned)
	return out
}

func (w Writer) apply(ctx context.Context, r v1alpha1.Report) error {
	data, err := json.Marshal(r)
	if err != nil {
		return err
	}
	force := true // we own our Report; take over fields someone edited
	_, err = w.Client.Reports(r.Namespace).Patch(ctx, r.Name, types.ApplyPatchType, data, metav1.PatchOptions{FieldManager: FieldManager, Force: &force})
	return err
}
