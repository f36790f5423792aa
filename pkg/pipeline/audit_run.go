package pipeline

import (
	"context"
	"errors"

	"k8s.io/cli-runtime/pkg/genericclioptions"

	"github.com/imgtrust/kubectl-imgtrust/pkg/audit"
	"github.com/imgtrust/kubectl-imgtrust/pkg/report"
	"github.com/imgtrust/kubectl-imgtrust/pkg/workload"
)

// AuditConfig is one audit: the cluster (or the contexts) to read, the
// rules, and the settings of the registry stage.
type AuditConfig struct {
	// Cluster is the one cluster audited when Contexts is empty.
	Cluster Cluster
	// Contexts, when set, are audited at once from the kubeconfig of Base,
	// each with the scope ScopeFor gives it; their registry stages share
	// one resolver and read each signature, provenance and tag list once.
	Base     *genericclioptions.ConfigFlags
	Contexts []string
	ScopeFor ScopeFor

	AllowedRegistries []audit.AllowedRegistry
	// Offline skips the registry stage (--offline, -f).
	Offline bool
	// Vulnerabilities, when set, joins the scanners' reports in the
	// cluster to the digests that run (--vulnerabilities).
	Vulnerabilities *audit.VulnerabilityOptions
	// Stage holds the registry stage's settings (Resolver, Signatures,
	// provenance, updates, Done); Cost and Shared are set per cluster.
	Stage AuditStage
	// SkippedListed says the caller lists every skipped -f object from the
	// events (-v=1), so the summary warning need not point there.
	SkippedListed bool
	// Events, when set, is told what happens along the way; with Contexts
	// it may be called from several goroutines.
	Events func(AuditEvent)
}

// AuditResult is what an audit found.
type AuditResult struct {
	Report audit.Report
	// ListingComplete is false when RBAC hid some kinds or namespaces, and
	// with Contexts (Reports, which prune on it, live in one cluster).
	ListingComplete bool
	// Skipped counts the -f objects of kinds without a pod template.
	Skipped int
	// ContextFailed says a context could not be read; the report's
	// warnings name it and hold the other contexts in full.
	ContextFailed bool
}

// AuditEvent is something an audit reports as it goes: SkippedObject.
type AuditEvent interface{ auditEvent() }

// SkippedObject is a -f object of a kind without a pod template: the
// images it may hold are not audited.
type SkippedObject struct{ workload.Skipped }

func (SkippedObject) auditEvent() {}

// Audit discovers, evaluates the rules and, unless offline, runs the
// registry stage, for one cluster or for every context of cfg.Contexts.
// Only the one cluster's discovery fails it: a lost context is a warning.
func Audit(ctx context.Context, cfg AuditConfig) (AuditResult, error) {
	if !cfg.Offline && cfg.Stage.Resolver == nil {
		return AuditResult{}, errors.New("pipeline.Audit: no resolver: set Stage.Resolver or Offline")
	}
	if len(cfg.Contexts) > 0 {
		return cfg.auditContexts(ctx), nil
	}
	one, err := cfg.auditCluster(ctx, cfg.Cluster, nil)
	if err != nil {
		return AuditResult{}, err
	}
	rep := audit.NewReport(report.APIVersion, one.items, !cfg.Offline, one.warnings)
	rep.Summary.Cost = one.cost
	rep.Summary.InputErrors = one.inputErrors
	return AuditResult{Report: rep, ListingComplete: one.listingComplete, Skipped: one.skipped}, nil
}

// clusterAudit is what one cluster's audit found.
type clusterAudit struct {
	items    []audit.Item
	warnings []string
	cost     *audit.Cost
	// listingComplete is false when RBAC hid some kinds or namespaces.
	listingComplete bool
	// inputErrors are -f inputs that could not be read.
	inputErrors []workload.InputError
	skipped     int
}

// auditCluster audits one cluster (one kubeconfig context): discovery,
// the rules, and the registry stage on the shared resolver.
func (cfg AuditConfig) auditCluster(ctx context.Context, c Cluster, shared *Shared) (clusterAudit, error) {
	early := cfg.prefetch(ctx, c)
	if early != nil {
		c.Scope.Listing, c.Scope.Early, c.Scope.EarlyPods = early.start, early.roots, early.pods
		defer early.stop()
	}
	found, err := c.Discover(ctx)
	if err != nil {
		return clusterAudit{}, err
	}
	out := clusterAudit{
		items:           audit.Evaluate(found.Workloads, audit.Options{AllowedRegistries: cfg.AllowedRegistries, FromFiles: c.Scope.Offline()}),
		warnings:        found.Warnings,
		listingComplete: len(found.Warnings) == 0,
		inputErrors:     found.InputErrors,
		skipped:         len(found.Skipped),
	}
	for _, e := range found.InputErrors {
		out.warnings = append(out.warnings, "cannot read "+e.Error())
	}
	if line := skippedSummary(found.Skipped, cfg.SkippedListed); line != "" {
		out.warnings = append(out.warnings, line)
		for _, s := range found.Skipped {
			cfg.event(SkippedObject{s})
		}
	}
	var vs *vulnStage
	if cfg.Vulnerabilities != nil && !c.Scope.Offline() {
		var more []string
		vs, more = cfg.readVulnerabilities(ctx, c, found)
		out.warnings = append(out.warnings, more...)
	}
	if !cfg.Offline {
		var more []string
		more, out.cost = cfg.registryStage(ctx, c, found, out.items, shared, vs, early)
		out.warnings = append(out.warnings, more...)
	}
	if vs != nil {
		vs.apply(out.items, *cfg.Vulnerabilities)
	}
	return out, nil
}

// registryStage runs the registry stage on one cluster: resolutions,
// credentials and, when asked, signatures, provenance and updates.
func (cfg AuditConfig) registryStage(ctx context.Context, c Cluster, found *workload.Discovery, items []audit.Item, shared *Shared, vs *vulnStage, early *prefetch) ([]string, *audit.Cost) {
	client, err := c.Client()
	if err != nil {
		return []string{"registry checks skipped: " + err.Error()}, nil
	}
	stage := cfg.Stage
	stage.Shared, stage.Cost, stage.vulns = shared, nil, vs
	if early != nil {
		stage.creds = early.creds
	}
	if stage.Provenance || stage.Updates {
		stage.Cost = &audit.Cost{}
	}
	var warnings []string
	if stage.Signatures != nil {
		var w string
		if stage.Signatures, w = WithContextKeys(stage.Signatures, c); w != "" {
			warnings = append(warnings, w)
		}
	}
	return append(warnings, stage.Run(ctx, client, found, items)...), stage.Cost
}

// prefetch is the registry work started while the pods are listed (see
// prefetch), for a live listing of the cluster that goes online; nil
// otherwise.
func (cfg AuditConfig) prefetch(ctx context.Context, c Cluster) *prefetch {
	if cfg.Offline || cfg.Stage.Resolver == nil || c.Scope.Offline() || len(c.Scope.Args) > 0 {
		return nil
	}
	client, err := c.Client()
	if err != nil {
		return nil // the stage says why
	}
	return newPrefetch(ctx, cfg.Stage.Resolver, client, cfg.Stage.Concurrency, c.Scope.Namespace, c.Scope.AllNamespaces)
}

func (cfg AuditConfig) event(e AuditEvent) {
	if cfg.Events != nil {
		cfg.Events(e)
	}
}
