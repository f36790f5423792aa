package cmd

import (
	"context"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
)

// completionTimeout keeps <TAB> responsive against a slow or absent cluster.
const completionTimeout = 5 * time.Second

// registerCompletions completes kubectl's flags the way kubectl does:
// namespaces and contexts from the live cluster and the kubeconfig.
func registerCompletions(root *cobra.Command, configFlags *genericclioptions.ConfigFlags) {
	_ = root.RegisterFlagCompletionFunc("namespace", func(cmd *cobra.Command, _ []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		return completeNamespaces(cmd.Context(), configFlags, toComplete), cobra.ShellCompDirectiveNoFileComp
	})
	_ = root.RegisterFlagCompletionFunc("context", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		cfg, err := configFlags.ToRawKubeConfigLoader().RawConfig()
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		var names []string
		for name := range cfg.Contexts {
			names = append(names, name)
		}
		sort.Strings(names)
		return names, cobra.ShellCompDirectiveNoFileComp
	})
}

func completeNamespaces(ctx context.Context, configFlags *genericclioptions.ConfigFlags, prefix string) []string {
	cfg, err := configFlags.ToRESTConfig()
	if err != nil {
		return nil
	}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(orBackground(ctx), completionTimeout)
	defer cancel()
	list, err := client.CoreV1().Namespaces().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil
	}
	var out []string
	for _, ns := range list.Items {
		if strings.HasPrefix(ns.Name, prefix) {
			out = append(out, ns.Name)
		}
	}
	return out
}

// completeResourceArgs completes TYPE/NAME: resource types (with their short
// names) before a "/", object names of that type after it.
func completeResourceArgs(configFlags *genericclioptions.ConfigFlags) func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	return func(cmd *cobra.Command, _ []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		if typ, prefix, ok := strings.Cut(toComplete, "/"); ok {
			return completeNames(cmd.Context(), configFlags, typ, prefix), cobra.ShellCompDirectiveNoFileComp
		}
		return completeTypes(configFlags, toComplete), cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveNoSpace
	}
}

func completeTypes(configFlags *genericclioptions.ConfigFlags, prefix string) []string {
	disco, err := configFlags.ToDiscoveryClient()
	if err != nil {
		return nil
	}
	lists, _ := disco.ServerPreferredResources() // partial results are fine for completion
	seen := map[string]bool{}
	var out []string
	add := func(s string) {
		if !seen[s] && strings.HasPrefix(s, prefix) {
			seen[s] = true
			out = append(out, s+"/")
		}
	}
	for _, l := range lists {
		for _, r := range l.APIResources {
			if strings.Contains(r.Name, "/") || !slices.Contains(r.Verbs, "list") {
				continue
			}
			add(r.Name)
			for _, short := range r.ShortNames {
				add(short)
			}
		}
	}
	sort.Strings(out)
	return out
}

func completeNames(ctx context.Context, configFlags *genericclioptions.ConfigFlags, typ, prefix string) []string {
	resource, err := resourceType(configFlags, typ)
	if err != nil {
		return nil
	}
	cfg, err := configFlags.ToRESTConfig()
	if err != nil {
		return nil
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil
	}
	ns, _, _ := configFlags.ToRawKubeConfigLoader().Namespace()
	ctx, cancel := context.WithTimeout(orBackground(ctx), completionTimeout)
	defer cancel()
	list, err := dyn.Resource(resource).Namespace(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil
	}
	var out []string
	for _, item := range list.Items {
		if strings.HasPrefix(item.GetName(), prefix) {
			out = append(out, typ+"/"+item.GetName())
		}
	}
	return out
}

func orBackground(ctx context.Context) context.Context {
	if ctx == nil {
		return context.Background()
	}
	return ctx
}
