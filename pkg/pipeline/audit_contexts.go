package pipeline

import (
	"context"
	"fmt"

	"github.com/imgtrust/kubectl-imgtrust/pkg/audit"
	"github.com/imgtrust/kubectl-imgtrust/pkg/report"
)

// auditContexts audits every context at once with one resolver, so an
// image that runs in many clusters is asked for once per credential.
func (cfg AuditConfig) auditContexts(ctx context.Context) AuditResult {
	shared := &Shared{}
	results, errs := EachContext(ctx, cfg.Base, cfg.Contexts, cfg.ScopeFor, func(ctx context.Context, c Cluster) (clusterAudit, error) {
		return cfg.auditCluster(ctx, c, shared)
	})
	return mergeContexts(cfg.Contexts, results, errs, !cfg.Offline)
}

// mergeContexts is one report of every context's: rows and warnings name
// their context, and fixes run against it. A context that could not be
// read is a warning; the others are reported in full.
func mergeContexts(names []string, results []clusterAudit, errs []error, online bool) AuditResult {
	var items []audit.Item
	var warnings []string
	var cost *audit.Cost
	failed := map[string]string{}
	for i, name := range names {
		if errs[i] != nil {
			failed[name] = ErrorLine(errs[i])
			warnings = append(warnings, fmt.Sprintf("context %s: %s", name, failed[name]))
			continue
		}
		for _, it := range results[i].items {
			it.Context = name
			for k := range it.Findings {
				it.Findings[k].Fix = FixInContext(it.Findings[k].Fix, name)
			}
			items = append(items, it)
		}
		for _, w := range results[i].warnings {
			warnings = append(warnings, fmt.Sprintf("context %s: %s", name, w))
		}
		cost = cost.Add(results[i].cost)
	}
	rep := audit.NewReport(report.APIVersion, items, online, warnings)
	rep.Summary.Cost = cost
	rep.Summary.Contexts = audit.SummarizeContexts(rep.Items, names, failed)
	return AuditResult{Report: rep, ContextFailed: len(failed) > 0}
}
