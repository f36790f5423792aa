package workload

import (
	"errors"
	"testing"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/cli-runtime/pkg/genericclioptions"
)

// mapperGetter serves a fixed RESTMapper and counts how often it is asked;
// any other call panics (the embedded getter is nil).
type mapperGetter struct {
	genericclioptions.RESTClientGetter
	mapper meta.RESTMapper
	err    error
	asked  int
}

func (g *mapperGetter) ToRESTMapper() (meta.RESTMapper, error) {
	g.asked++
	return g.mapper, g.err
}

func testMapper() meta.RESTMapper {
	m := meta.NewDefaultRESTMapper(nil)
	m.Add(schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}, meta.RESTScopeNamespace)
	m.Add(schema.GroupVersionKind{Group: "", Version: "v1", Kind: "Pod"}, meta.RESTScopeNamespace)
	return m
}

func TestIsResourceArg(t *testing.T) {
	g := &mapperGetter{mapper: testMapper()}
	for _, arg := range []string{"deployments", "deployment/web", "deployments.apps/web", "deployments.v1.apps", "pods/p"} {
		if !IsResourceArg(g, arg) {
			t.Errorf("IsResourceArg(%q) = false, want a TYPE/NAME", arg)
		}
	}
	// No such resource, or a group that does not serve it: an image.
	for _, arg := range []string{"nginx", "library/nginx", "deployments.batch/web"} {
		if IsResourceArg(g, arg) {
			t.Errorf("IsResourceArg(%q) = true, want an image", arg)
		}
	}
}

// A tag, a digest or a registry host make an image without asking the
// API server; so does an API server that cannot be reached.
func TestIsResourceArgAsksOnlyWhenNeeded(t *testing.T) {
	for _, arg := range []string{"nginx:1.27", "deploy@sha256:abc", "ghcr.io/acme/app", "localhost:5000/app"} {
		g := &mapperGetter{mapper: testMapper()}
		if IsResourceArg(g, arg) || g.asked != 0 {
			t.Errorf("IsResourceArg(%q): an image, asked the API server %d times, want 0", arg, g.asked)
		}
	}
	if IsResourceArg(&mapperGetter{err: errors.New("no cluster")}, "deployments/web") {
		t.Error("without a cluster, deployments/web should be taken for an image")
	}
}

func TestResourceType(t *testing.T) {
	g := &mapperGetter{mapper: testMapper()}
	for _, typ := range []string{"deployment", "deployments", "deployments.apps", "deployments.v1.apps"} {
		got, err := ResourceType(g, typ)
		if want := (schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}); err != nil || got != want {
			t.Errorf("ResourceType(%q) = %v, %v; want %v", typ, got, err, want)
		}
	}
}
