package pipeline

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/imgtrust/kubectl-imgtrust/pkg/workload"
)

// IMAGE arguments are resolved even when a context is lost; the lost
// ones are said to Warn, in the order of the contexts, before the
// registries are asked.
func TestResolveImagesBesideLostContexts(t *testing.T) {
	noDockerConfig(t)
	reg := newTestRegistry(t)
	web := reg.PushImage(t, "shop/web:1.0").String()
	resolver := reg.resolver(t)
	clusters := unreachable(t)
	var warnings []string
	res, err := Resolve(context.Background(), ResolveConfig{
		Resolver: resolver,
		Images:   []string{reg.Host + "/shop/web:1.0"},
		Clusters: &clusters,
		Warn: func(w string) {
			if resolver.Stats().Requests > 0 {
				t.Errorf("warning %q after a registry request", w)
			}
			warnings = append(warnings, w)
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if !res.ContextFailed || len(warnings) != 2 || !strings.HasPrefix(warnings[0], "context prod: ") || !strings.HasPrefix(warnings[1], "context dev: ") {
		t.Errorf("ContextFailed %v, warnings %q", res.ContextFailed, warnings)
	}
	got := make([]string, len(res.Results))
	for i, r := range res.Results {
		got[i] = r.Digest
	}
	if !slices.Equal(got, []string{web}) || res.Failed != 0 {
		t.Errorf("digests %v, failed %d; want [%s]", got, res.Failed, web)
	}
}

// One cluster that cannot be read is an error, and no registry is asked.
func TestResolveOneClusterUnreadable(t *testing.T) {
	noDockerConfig(t)
	reg := newTestRegistry(t)
	resolver := reg.resolver(t)
	c := unreachable(t)
	one := &Clusters{Cluster: Cluster{Getter: ForContext(c.Base, "prod"), Scope: workload.Scope{Namespace: "shop"}}}
	_, err := Resolve(context.Background(), ResolveConfig{Resolver: resolver, Images: []string{reg.Host + "/shop/web:1.0"}, Clusters: one})
	if err == nil || resolver.Stats().Requests != 0 {
		t.Errorf("err %v, %d registry requests", err, resolver.Stats().Requests)
	}
}
