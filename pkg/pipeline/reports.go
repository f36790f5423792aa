package pipeline

import (
	"context"
	"time"

	reportsclient "github.com/openreports/reports-api/pkg/client/clientset/versioned/typed/openreports.io/v1alpha1"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/discovery"

	"github.com/imgtrust/kubectl-imgtrust/pkg/audit"
	"github.com/imgtrust/kubectl-imgtrust/pkg/openreports"
	"github.com/imgtrust/kubectl-imgtrust/pkg/workload"
)

// ReportWriter checks that the cluster of getter serves OpenReports
// Reports and returns their writer. It is asked before anything is
// audited, so that a missing CRD is one clear error and not a failure
// after the audit.
func ReportWriter(getter genericclioptions.RESTClientGetter) (*openreports.Writer, error) {
	cfg, err := getter.ToRESTConfig()
	if err != nil {
		return nil, err
	}
	client, err := reportsclient.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	// Uncached discovery: a CRD installed a minute ago must be seen.
	disc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, err
	}
	if err := openreports.CheckInstalled(disc); err != nil {
		return nil, err
	}
	return &openreports.Writer{Client: client}, nil
}

// WriteReports applies the audit's Reports in the namespaces of scope.
// Stale ones are pruned only when listingComplete: a partial view must
// delete nothing.
func WriteReports(ctx context.Context, w *openreports.Writer, rep audit.Report, scope workload.Scope, listingComplete bool) openreports.Outcome {
	target := openreports.Target{Prune: listingComplete}
	if !scope.AllNamespaces {
		target.Namespace = scope.Namespace
	}
	return w.Write(ctx, openreports.FromAudit(rep, time.Now()), target)
}
