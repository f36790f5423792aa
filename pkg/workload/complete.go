package workload

import (
	"context"
	"slices"
	"sort"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/dynamic"
)

// completionTimeout keeps <TAB> responsive against a slow or absent cluster.
const completionTimeout = 5 * time.Second

// The Complete functions answer shell completion: what fails answers
// nothing, as a <TAB> has nowhere to say an error.

// CompleteContexts are the kubeconfig's context names, sorted.
func CompleteContexts(getter genericclioptions.RESTClientGetter) []string {
	cfg, err := getter.ToRawKubeConfigLoader().RawConfig()
	if err != nil {
		return nil
	}
	var names []string
	for name := range cfg.Contexts {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

// CompleteNamespaces are the cluster's namespaces starting with prefix.
func CompleteNamespaces(ctx context.Context, getter genericclioptions.RESTClientGetter, prefix string) []string {
	client, err := NewClient(getter)
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

// CompleteTypes are the listable resource types and their short names
// starting with prefix, each followed by "/".
func CompleteTypes(getter genericclioptions.RESTClientGetter, prefix string) []string {
	disco, err := getter.ToDiscoveryClient()
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

// CompleteNames are TYPE/NAME for the objects of typ in the kubeconfig's
// namespace whose names start with prefix.
func CompleteNames(ctx context.Context, getter genericclioptions.RESTClientGetter, typ, prefix string) []string {
	resource, err := ResourceType(getter, typ)
	if err != nil {
		return nil
	}
	cfg, err := getter.ToRESTConfig()
	if err != nil {
		return nil
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil
	}
	ns, _, _ := getter.ToRawKubeConfigLoader().Namespace()
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
