package cmd

import (
	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"

	"github.com/imgtrust/kubectl-imgtrust/pkg/pipeline"
	"github.com/imgtrust/kubectl-imgtrust/pkg/workload"
)

// contextFlags run a command against several kubeconfig contexts in one
// go: --contexts a,b or --all-contexts.
type contextFlags struct {
	Contexts    []string
	AllContexts bool
}

func (f *contextFlags) AddFlags(cmd *cobra.Command) {
	cmd.Flags().StringSliceVar(&f.Contexts, "contexts", nil, "Run against these kubeconfig contexts at once (rows gain a CONTEXT column; each registry is asked once for all)")
	cmd.Flags().BoolVar(&f.AllContexts, "all-contexts", false, "Run against every context of the kubeconfig")
}

// names are the contexts to run against; nil means the one context
// kubectl would use.
func (f *contextFlags) names(configFlags *genericclioptions.ConfigFlags) ([]string, error) {
	return pipeline.ContextNames(configFlags, f.Contexts, f.AllContexts)
}

// scopeFor gives each context its own scope from the same flags.
func (f *scopeFlags) scopeFor(args []string) pipeline.ScopeFor {
	return func(getter genericclioptions.RESTClientGetter) (workload.Scope, error) {
		return f.Scope(getter, args)
	}
}
