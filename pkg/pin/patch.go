package pin

import (
	"encoding/json"
	"fmt"

	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/scheme"

	"github.com/imgtrust/kubectl-imgtrust/pkg/workload"
)

// StrategicMergeSupported reports whether the API server accepts a strategic
// merge patch for the kind: built-in kinds only, never custom resources,
// which need JSONPatch.
func StrategicMergeSupported(apiVersion, kind string) bool {
	gv, err := schema.ParseGroupVersion(apiVersion)
	if err != nil {
		return false
	}
	return scheme.Scheme.Recognizes(gv.WithKind(kind))
}

// StrategicMergePatch builds one strategic merge patch that sets every
// changed image of obj. Container lists merge by name, so each entry names
// its container and sets only its image. When obj has a resourceVersion the
// patch carries it, which makes the server reject the patch if the object
// changed since it was read.
func StrategicMergePatch(obj workload.Object, changes []Change) ([]byte, error) {
	if len(changes) == 0 {
		return nil, fmt.Errorf("%s %s: no changes to patch", obj.Kind, obj.Name)
	}
	root := map[string]any{}
	if obj.ResourceVersion != "" {
		root["metadata"] = map[string]any{"resourceVersion": obj.ResourceVersion}
	}
	seen := map[string]bool{}
	for _, c := range changes {
		p, err := patchablePath(c)
		if err != nil {
			return nil, err
		}
		if c.Container.Name == "" {
			return nil, fmt.Errorf("%s at %s has no name to merge on", c.Container.Type, c.Container.Path)
		}
		spec, err := nestedMap(root, p.spec)
		if err != nil {
			return nil, err
		}
		key := formatPointer(append(p.spec, p.field, c.Container.Name)...)
		if seen[key] {
			return nil, fmt.Errorf("%s %q is changed twice", c.Container.Type, c.Container.Name)
		}
		seen[key] = true
		// Both lists merge on name: a container's image is a string, an
		// image volume's is image.reference.
		entry := map[string]any{"name": c.Container.Name, "image": c.New}
		if p.field == volumesField {
			entry["image"] = map[string]any{"reference": c.New}
		}
		list, _ := spec[p.field].([]any)
		spec[p.field] = append(list, entry)
	}
	return json.Marshal(root)
}

// nestedMap returns the map at tokens under root, creating it as needed.
func nestedMap(root map[string]any, tokens []string) (map[string]any, error) {
	m := root
	for _, t := range tokens {
		next, ok := m[t]
		if !ok {
			child := map[string]any{}
			m[t] = child
			m = child
			continue
		}
		child, ok := next.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%s is both a list and an object", formatPointer(tokens...))
		}
		m = child
	}
	return m, nil
}

// jsonPatchOp is one RFC 6902 operation.
type jsonPatchOp struct {
	Op    string `json:"op"`
	Path  string `json:"path"`
	Value string `json:"value"`
}

// JSONPatch builds one RFC 6902 patch for obj. Each replace is preceded by
// a test of the old image, and the patch starts with a test of the
// resourceVersion when obj has one, so any concurrent change makes the whole
// patch fail and nothing is half applied. It works for custom resources too.
func JSONPatch(obj workload.Object, changes []Change) ([]byte, error) {
	if len(changes) == 0 {
		return nil, fmt.Errorf("%s %s: no changes to patch", obj.Kind, obj.Name)
	}
	var ops []jsonPatchOp
	if obj.ResourceVersion != "" {
		ops = append(ops, jsonPatchOp{"test", "/metadata/resourceVersion", obj.ResourceVersion})
	}
	seen := map[string]bool{}
	for _, c := range changes {
		if _, err := patchablePath(c); err != nil {
			return nil, err
		}
		if seen[c.Container.Path] {
			return nil, fmt.Errorf("%s is changed twice", c.Container.Path)
		}
		seen[c.Container.Path] = true
		ops = append(ops,
			jsonPatchOp{"test", c.Container.Path, c.Old},
			jsonPatchOp{"replace", c.Container.Path, c.New})
	}
	return json.Marshal(ops)
}

// patchablePath checks that a change can be sent as a patch at all.
func patchablePath(c Change) (imagePath, error) {
	if c.Container.Type == workload.ResourceImage {
		// A custom resource's field, wherever its rule found it: only a
		// JSON patch at its pointer sets it.
		if c.Old == "" || c.New == "" || c.Container.Path == "" {
			return imagePath{}, fmt.Errorf("%s %q: change without a path, an old and a new image", c.Container.Type, c.Container.Name)
		}
		return imagePath{}, nil
	}
	p, err := parseImagePath(c.Container.Path)
	if err != nil {
		return imagePath{}, err
	}
	if containerFields[p.field] == workload.EphemeralContainer {
		return imagePath{}, fmt.Errorf("ephemeral container %q cannot be changed once added", c.Container.Name)
	}
	if c.Old == "" || c.New == "" {
		return imagePath{}, fmt.Errorf("%s %q: change without an old and a new image", c.Container.Type, c.Container.Name)
	}
	return p, nil
}
