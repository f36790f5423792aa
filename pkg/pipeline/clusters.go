package pipeline

import (
	"context"
	"fmt"

	"k8s.io/cli-runtime/pkg/genericclioptions"
)

// Clusters are where a pipeline reads workloads: every context of
// Contexts at once when it is set (each with the scope ScopeFor gives it,
// from Base's flags), else the one Cluster.
type Clusters struct {
	Cluster  Cluster
	Base     *genericclioptions.ConfigFlags
	Contexts []string
	ScopeFor ScopeFor
}

// Several says whether the contexts are read rather than the one cluster.
func (c Clusters) Several() bool { return len(c.Contexts) > 0 }

// gatherContexts runs fn on every context and hands each readable one's
// result to keep, in the order of the contexts. A context that cannot be
// read is a warning (and failed is set) and the others are reported in
// full; the warnings keep returns are said as that context's.
func gatherContexts[T any](ctx context.Context, c Clusters, fn func(context.Context, Cluster) (T, error),
	keep func(name string, result T) []string) (warnings []string, failed bool) {
	results, errs := EachContext(ctx, c.Base, c.Contexts, c.ScopeFor, fn)
	for i, name := range c.Contexts {
		if errs[i] != nil {
			failed = true
			warnings = append(warnings, contextWarning(name, ErrorLine(errs[i])))
			continue
		}
		for _, w := range keep(name, results[i]) {
			warnings = append(warnings, contextWarning(name, w))
		}
	}
	return warnings, failed
}

// contextWarning says which context a warning is about.
func contextWarning(name, warning string) string {
	return fmt.Sprintf("context %s: %s", name, warning)
}
