package cmd

import (
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"

	"github.com/imgtrust/kubectl-imgtrust/pkg/workload"
)

// registerCompletions completes kubectl's flags the way kubectl does:
// namespaces and contexts from the live cluster and the kubeconfig.
func registerCompletions(root *cobra.Command, configFlags *genericclioptions.ConfigFlags) {
	_ = root.RegisterFlagCompletionFunc("namespace", func(cmd *cobra.Command, _ []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		return workload.CompleteNamespaces(cmd.Context(), configFlags, toComplete), cobra.ShellCompDirectiveNoFileComp
	})
	_ = root.RegisterFlagCompletionFunc("context", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return workload.CompleteContexts(configFlags), cobra.ShellCompDirectiveNoFileComp
	})
}

// completeResourceArgs completes TYPE/NAME: resource types (with their short
// names) before a "/", object names of that type after it.
func completeResourceArgs(configFlags *genericclioptions.ConfigFlags) func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	return func(cmd *cobra.Command, _ []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		if typ, prefix, ok := strings.Cut(toComplete, "/"); ok {
			return workload.CompleteNames(cmd.Context(), configFlags, typ, prefix), cobra.ShellCompDirectiveNoFileComp
		}
		return workload.CompleteTypes(configFlags, toComplete), cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveNoSpace
	}
}
