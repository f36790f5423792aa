package pipeline

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"golang.org/x/sync/errgroup"
	"k8s.io/cli-runtime/pkg/genericclioptions"

	"github.com/imgtrust/kubectl-imgtrust/pkg/workload"
)

// maxConcurrentContexts bounds how many clusters are listed at once; the
// registry stage is bounded by the shared resolver.
const maxConcurrentContexts = 4

// ContextNames are the contexts of --contexts (as given, once each) or
// --all-contexts (sorted); nil means the one context kubectl would use.
func ContextNames(base *genericclioptions.ConfigFlags, contexts []string, all bool) ([]string, error) {
	if !all && len(contexts) == 0 {
		return nil, nil
	}
	if all && len(contexts) > 0 {
		return nil, errors.New("--contexts and --all-contexts exclude each other: pick one")
	}
	if clusterFlag := oneClusterFlag(base); clusterFlag != "" {
		return nil, fmt.Errorf("%s names one cluster and cannot be combined with --contexts or --all-contexts: use --contexts a,b alone", clusterFlag)
	}
	raw, err := base.ToRawKubeConfigLoader().RawConfig()
	if err != nil {
		return nil, fmt.Errorf("reading the kubeconfig: %w", err)
	}
	var out []string
	if all {
		for name := range raw.Contexts {
			out = append(out, name)
		}
		if len(out) == 0 {
			return nil, errors.New("--all-contexts: the kubeconfig has no contexts")
		}
		slices.Sort(out)
		return out, nil
	}
	for _, name := range contexts {
		name = strings.TrimSpace(name)
		if name == "" || slices.Contains(out, name) {
			continue
		}
		if _, ok := raw.Contexts[name]; !ok {
			return nil, fmt.Errorf("context %q is not in the kubeconfig: `kubectl config get-contexts` lists them", name)
		}
		out = append(out, name)
	}
	if len(out) == 0 {
		return nil, errors.New("--contexts: no context named")
	}
	return out, nil
}

// oneClusterFlag names a kubectl flag that picks one cluster or identity,
// which would silently apply to every context.
func oneClusterFlag(c *genericclioptions.ConfigFlags) string {
	for _, f := range []struct {
		name  string
		value *string
	}{
		{"--context", c.Context}, {"--cluster", c.ClusterName}, {"--user", c.AuthInfoName},
		{"--server", c.APIServer}, {"--token", c.BearerToken}, {"--certificate-authority", c.CAFile},
		{"--client-certificate", c.CertFile}, {"--client-key", c.KeyFile}, {"--tls-server-name", c.TLSServerName},
	} {
		if f.value != nil && *f.value != "" {
			return f.name
		}
	}
	return ""
}

// ForContext is a copy of the kubeconfig flags that selects one context;
// -n, impersonation and the request timeout carry over.
func ForContext(base *genericclioptions.ConfigFlags, name string) *genericclioptions.ConfigFlags {
	cf := genericclioptions.NewConfigFlags(true)
	cf.KubeConfig, cf.CacheDir, cf.Namespace = base.KubeConfig, base.CacheDir, base.Namespace
	cf.Impersonate, cf.ImpersonateUID, cf.ImpersonateGroup = base.Impersonate, base.ImpersonateUID, base.ImpersonateGroup
	cf.Timeout, cf.Insecure, cf.DisableCompression = base.Timeout, base.Insecure, base.DisableCompression
	cf.WrapConfigFn = base.WrapConfigFn
	cf.Context = &name
	return cf
}

// ScopeFor gives the scope of one context: its default namespace unless
// -n or -A say otherwise.
type ScopeFor func(genericclioptions.RESTClientGetter) (workload.Scope, error)

// EachContext runs fn on the cluster of every named context, a few at a
// time, and returns the results and errors in the order of names: one
// lost cluster stops no other.
func EachContext[T any](ctx context.Context, base *genericclioptions.ConfigFlags, names []string, scopeFor ScopeFor,
	fn func(context.Context, Cluster) (T, error)) ([]T, []error) {
	results, errs := make([]T, len(names)), make([]error, len(names))
	var g errgroup.Group
	g.SetLimit(maxConcurrentContexts)
	for i, name := range names {
		g.Go(func() error {
			flags := ForContext(base, name)
			scope, err := scopeFor(flags)
			if err == nil {
				results[i], err = fn(ctx, Cluster{Context: name, Getter: flags, Scope: scope})
			}
			errs[i] = err
			return nil
		})
	}
	_ = g.Wait()
	return results, errs
}

// namespaceFlag is the -n NS (a DNS label) of the kubectl commands in fixes.
var namespaceFlag = regexp.MustCompile(` -n ([a-z0-9][-a-z0-9]*)`)

// FixInContext makes the kubectl commands of a fix name the context the
// finding came from, so that a fix read from a report of several clusters
// runs against the right one: " -n NS" becomes " -n NS --context NAME".
// (kubectl does not find plugins behind global flags, so the flag goes
// after the namespace, not after "kubectl".)
func FixInContext(fix, context string) string {
	if !strings.Contains(fix, "kubectl ") {
		return fix
	}
	return namespaceFlag.ReplaceAllString(fix, " -n $1 --context "+context)
}
