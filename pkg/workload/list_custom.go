package workload

import (
	"context"
	"errors"
	"strings"
	"sync"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/tools/pager"
)

// templateKinds are custom kinds with a pod template at spec.template,
// read as pod templates (FromUnstructured's generic paths), not by rules:
// their controllers' ReplicaSets and pods roll up into them.
var templateKinds = []schema.GroupKind{
	{Group: "argoproj.io", Kind: "Rollout"},
	{Group: "serving.knative.dev", Kind: "Service"},
}

// ListCustom reads the custom resources of every kind the catalogue knows,
// and of the templateKinds, that the API server serves (its discovery says which: a kind without its
// CRD is not asked for), one paginated LIST per kind, in namespace ns (""
// for all; cluster-scoped kinds only then). Kinds that cannot be read are
// *ListError values, as List's; an object with an image field that is no
// string is a warning naming the field, with its other images kept.
func ListCustom(ctx context.Context, dyn dynamic.Interface, mapper meta.RESTMapper, cat *Catalog, ns string) (objects []Object, problems []*ListError, warnings []string) {
	var kinds []*meta.RESTMapping
	for _, gk := range append(cat.Kinds(), templateKinds...) {
		mapping, err := mapper.RESTMapping(gk)
		if meta.IsNoMatchError(err) {
			continue // not installed here
		}
		if err != nil {
			// Discovery itself failed: the same for every kind, so said once.
			return nil, []*ListError{{Resource: "custom resources", Namespace: ns, Err: err}}, nil
		}
		if ns != "" && mapping.Scope.Name() != meta.RESTScopeNameNamespace {
			continue // a cluster-scoped kind holds nothing of one namespace
		}
		kinds = append(kinds, mapping)
	}
	type result struct {
		objects  []Object
		warnings []string
		err      error
	}
	results := make([]result, len(kinds))
	var wg sync.WaitGroup
	for i, mapping := range kinds {
		wg.Go(func() {
			var res dynamic.ResourceInterface = dyn.Resource(mapping.Resource)
			if mapping.Scope.Name() == meta.RESTScopeNameNamespace {
				res = dyn.Resource(mapping.Resource).Namespace(ns)
			}
			p := pager.New(func(ctx context.Context, opts metav1.ListOptions) (runtime.Object, error) {
				return res.List(ctx, opts)
			})
			p.PageSize = pageSize
			resource := mapping.Resource.GroupResource().String()
			results[i].err = p.EachListItem(ctx, metav1.ListOptions{}, func(item runtime.Object) error {
				u, ok := item.(*unstructured.Unstructured)
				if !ok {
					return nil
				}
				obj, ok, err := cat.FromUnstructured(u)
				var fields *FieldErrors
				switch {
				case errors.As(err, &fields):
					results[i].warnings = append(results[i].warnings, resource+"/"+u.GetName()+namespaceSuffix(u.GetNamespace())+": "+fieldMessages(fields))
				case err != nil:
					results[i].warnings = append(results[i].warnings, err.Error())
					return nil
				}
				if ok {
					obj.Resource = resource
					results[i].objects = append(results[i].objects, obj)
				}
				return nil
			})
		})
	}
	wg.Wait()
	for i, r := range results {
		objects = append(objects, r.objects...)
		warnings = append(warnings, r.warnings...)
		if r.err != nil {
			problems = append(problems, &ListError{Resource: kinds[i].Resource.GroupResource().String(), Namespace: ns, Err: r.err})
		}
	}
	return objects, problems, warnings
}

func namespaceSuffix(ns string) string {
	if ns == "" {
		return ""
	}
	return " -n " + ns
}

func fieldMessages(e *FieldErrors) string {
	msgs := make([]string, len(e.Errs))
	for i, f := range e.Errs {
		msgs[i] = f.Error()
	}
	return strings.Join(msgs, "; ")
}
