package workload

import (
	"strings"

	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/cli-runtime/pkg/genericclioptions"
)

// ResourceType maps a TYPE argument (deploy, deployments.apps,
// deployments.v1.apps, a CRD's plural) to its resource through the API
// server's discovery, as kubectl does.
func ResourceType(getter genericclioptions.RESTClientGetter, typ string) (schema.GroupVersionResource, error) {
	mapper, err := getter.ToRESTMapper()
	if err != nil {
		return schema.GroupVersionResource{}, err
	}
	gvr, gr := schema.ParseResourceArg(typ)
	if gvr != nil {
		if r, err := mapper.ResourceFor(*gvr); err == nil {
			return r, nil
		}
	}
	return mapper.ResourceFor(gr.WithVersion(""))
}

// IsResourceArg tells TYPE/NAME (or a bare TYPE) from an image reference:
// image references are the ones with a tag, a digest or a registry host, or
// whose first segment the API server does not know as a resource type.
// Only the last case asks the API server.
func IsResourceArg(getter genericclioptions.RESTClientGetter, arg string) bool {
	if strings.ContainsAny(arg, ":@") || strings.Count(arg, "/") > 1 {
		return false
	}
	typ, _, _ := strings.Cut(arg, "/")
	_, err := ResourceType(getter, typ)
	return err == nil
}
