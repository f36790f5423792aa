package pipeline

import (
	"context"

	"k8s.io/client-go/kubernetes"

	"github.com/imgtrust/kubectl-imgtrust/pkg/coverage"
	"github.com/imgtrust/kubectl-imgtrust/pkg/pullsecret"
	"github.com/imgtrust/kubectl-imgtrust/pkg/registry"
	"github.com/imgtrust/kubectl-imgtrust/pkg/report"
	"github.com/imgtrust/kubectl-imgtrust/pkg/workload"
)

// SecretsConfig is what secrets looks at: the clusters, and, with
// --verify, the verifier that asks the registries whether the credentials
// work (nil: no registry is asked).
type SecretsConfig struct {
	Clusters Clusters
	Verifier *registry.Verifier
	// ReadKubeletConfig reads each relevant kubelet's configuration through
	// nodes/proxy (configz), which RBAC treats as sensitive: only when asked.
	ReadKubeletConfig bool
	// NodeCredentialRegistries are the registries the nodes' kubelet
	// credential providers serve (matchImages patterns).
	NodeCredentialRegistries []string

	// configz fetches a node's /configz; nil asks the API server's node
	// proxy (tests replace it).
	configz func(ctx context.Context, client kubernetes.Interface, node string) ([]byte, error)
}

// SecretsResult is the coverage report of every cluster read, and whether
// a context could not be read at all (said in the report's warnings).
type SecretsResult struct {
	Report        coverage.Report
	ContextFailed bool
}

// Secrets computes pull-secret coverage per workload and registry: the
// workloads are discovered, their namespaces' pull secrets and service
// accounts read once, and, with a verifier, the registries asked. With
// several contexts a lost one is a warning; with one cluster, an error.
func Secrets(ctx context.Context, cfg SecretsConfig) (SecretsResult, error) {
	verified := cfg.Verifier != nil
	if !cfg.Clusters.Several() {
		res, err := secretsCluster(ctx, cfg.Clusters.Cluster, cfg)
		if err != nil {
			return SecretsResult{}, err
		}
		return SecretsResult{Report: coverage.NewReport(report.APIVersion, res, verified)}, nil
	}
	var all coverage.Result
	warnings, failed := gatherContexts(ctx, cfg.Clusters,
		func(ctx context.Context, c Cluster) (coverage.Result, error) {
			return secretsCluster(ctx, c, cfg)
		},
		func(name string, res coverage.Result) []string {
			for _, row := range res.Rows {
				row.Context = name
				all.Rows = append(all.Rows, row)
			}
			for _, f := range res.Findings {
				f.Context = name
				f.Fix = FixInContext(f.Fix, name)
				all.Findings = append(all.Findings, f)
			}
			return res.Warnings
		})
	all.Warnings = warnings
	return SecretsResult{Report: coverage.NewReport(report.APIVersion, all, verified), ContextFailed: failed}, nil
}

// secretsCluster computes the coverage of one cluster (one kubeconfig
// context).
func secretsCluster(ctx context.Context, c Cluster, cfg SecretsConfig) (coverage.Result, error) {
	found, err := c.Discover(ctx)
	if err != nil {
		return coverage.Result{}, err
	}
	client, err := c.Client()
	if err != nil {
		return coverage.Result{}, err
	}
	res := coverageOf(ctx, client, c.Scope, found, cfg)
	res.Warnings = append(append([]string(nil), found.Warnings...), res.Warnings...)
	return res, nil
}

// coverageOf evaluates the discovered workloads against the pull secrets
// and service accounts of their namespaces, read once. With --verify, the
// kubelets of the nodes where a pod may run on another pod's cached pull
// are read too (only those nodes).
func coverageOf(ctx context.Context, client kubernetes.Interface, scope workload.Scope, found *workload.Discovery, cfg SecretsConfig) coverage.Result {
	whole := len(scope.Args) == 0 && scope.Selector == ""
	namespaces := namespacesOf(ctx, client, scope, found, whole)
	store := pullsecret.LoadStore(ctx, client, pullsecret.Load{
		Namespaces:  namespaces,
		Referenced:  ReferencedSecrets(found.Workloads),
		ClusterWide: found.ClusterWide,
	})
	in := coverage.Input{Workloads: found.Workloads, Store: store, Namespaces: namespaces, WholeNamespaces: whole, NodeCredentials: cfg.NodeCredentialRegistries}
	in.Elsewhere = locateMissing(ctx, client, store, namespaces, coverage.MissingNames(in))
	if cfg.Verifier != nil {
		in.Verdicts = verifyAll(ctx, cfg.Verifier, coverage.Checks(in))
		if nodes := coverage.CachedPullNodes(in); len(nodes) > 0 {
			in.Nodes = readKubelets(ctx, client, nodes, cfg)
		}
	}
	return coverage.Evaluate(in)
}
