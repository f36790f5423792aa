package workload

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	yaml "go.yaml.in/yaml/v3"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/imgtrust/kubectl-imgtrust/pkg/manifest"
)

// Skipped is an object of a manifest that holds no pod spec (a CRD kind
// the user may expect us to read, say).
type Skipped struct {
	Kind, Name string
	Source     string // file
	Line       int    // where its document starts
}

// InputError is a manifest file, or a document or object in it, that
// could not be read.
type InputError struct {
	File    string `json:"file"`
	Line    int    `json:"line,omitempty"` // as editors count; 0 when not known
	Message string `json:"message"`
}

func (e InputError) Error() string { return e.File + ": " + e.Message }

// discoverFiles reads -f manifests through pkg/manifest, the reader pin -f
// uses, so both see the same documents. A file or object that cannot be
// read is an input error, not a warning: a report that skipped it would
// pass a gate on something never read.
func discoverFiles(scope Scope) (*Discovery, error) {
	var selector labels.Selector
	if scope.Selector != "" {
		var err error
		if selector, err = labels.Parse(scope.Selector); err != nil {
			return nil, fmt.Errorf("invalid --selector %q: %w", scope.Selector, err)
		}
	}
	paths, err := manifest.Paths(scope.Filenames, scope.Recursive)
	if err != nil {
		return nil, fmt.Errorf("reading manifests: %w", err)
	}
	stdin := scope.Stdin
	if stdin == nil {
		stdin = os.Stdin
	}
	d := &Discovery{}
	var objects []Object
	for _, path := range paths {
		found, skipped, problems := readManifestFile(scope.ImagePaths, path, stdin)
		objects = append(objects, found...)
		d.Skipped = append(d.Skipped, skipped...)
		d.InputErrors = append(d.InputErrors, problems...)
	}
	// Manifests carry no UIDs or owners: every object is its own workload.
	d.Workloads = Rollup(objects, RollupOptions{Selector: selector})
	return d, nil
}

// readManifestFile returns a file's objects with pod specs, each image
// with its line and column, the objects without one, and what could not
// be read.
func readManifestFile(cat *Catalog, path string, stdin io.Reader) (objects []Object, skipped []Skipped, problems []InputError) {
	name := path
	if path == "-" {
		name = "stdin"
	}
	f, err := manifest.Read(path, stdin)
	if err != nil {
		return nil, nil, []InputError{{File: name, Line: manifest.ErrorLine(err), Message: err.Error()}}
	}
	return fileObjects(cat, name, f)
}

// fileObjects is readManifestFile for a file already read; name is what
// errors call it.
func fileObjects(cat *Catalog, name string, f *manifest.File) (objects []Object, skipped []Skipped, problems []InputError) {
	path := f.Path
	docs, err := manifest.Parse(f.Text)
	if err != nil {
		return nil, nil, []InputError{{File: name, Line: manifest.ErrorLine(err), Message: err.Error()}}
	}
	pos := manifest.NewPositions(f.Text)
	for i, doc := range docs {
		if len(doc.Content) == 0 || isNull(manifest.Deref(doc.Content[0])) {
			continue // an empty document, or one with comments only
		}
		// fail records a problem with the document, or one of its List
		// items, at the line it starts on.
		fail := func(prefix []string, format string, args ...any) {
			line := startLine(pos, doc, prefix)
			where := fmt.Sprintf("document %d (line %d)", i+1, line)
			if len(prefix) > 0 {
				where += ", item " + prefix[1]
			}
			problems = append(problems, InputError{File: name, Line: line, Message: where + ": " + fmt.Sprintf(format, args...)})
		}
		var value any
		if err := doc.Decode(&value); err != nil {
			fail(nil, "%v", err)
			continue
		}
		for _, o := range objectsOf(jsonCompatible(value)) {
			u := &unstructured.Unstructured{}
			raw, err := json.Marshal(o.value)
			if err == nil {
				err = u.UnmarshalJSON(raw)
			}
			if err != nil {
				fail(o.prefix, "not a Kubernetes object: %v", err)
				continue
			}
			line := startLine(pos, doc, o.prefix)
			obj, ok, err := cat.FromUnstructured(u)
			var fields *FieldErrors
			if errors.As(err, &fields) {
				// Said as an input error, with the object's other images
				// still read.
				fail(o.prefix, "%v", err)
				err = nil
			}
			switch {
			case err != nil:
				fail(o.prefix, "%v", err)
			case !ok:
				if !isIgnorable(u.GetKind()) {
					skipped = append(skipped, Skipped{Kind: u.GetKind(), Name: obj.Name, Source: path, Line: line})
				}
			default:
				obj.Source = path
				obj.SourceLine = line
				locateImages(obj.Spec, pos, doc, o.prefix)
				objects = append(objects, obj)
			}
		}
	}
	return objects, skipped, problems
}

func isNull(n *yaml.Node) bool {
	return n == nil || (n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null")
}

// fileObject is one object of a document: the document itself, or an item
// of a List (prefix /items/N).
type fileObject struct {
	value  any
	prefix []string
}

// objectsOf flattens a List (any kind ending in "List" with items) into
// its items, as kubectl does.
func objectsOf(value any) []fileObject {
	m, ok := value.(map[string]any)
	if !ok {
		return []fileObject{{value: value}}
	}
	kind, _ := m["kind"].(string)
	items, isList := m["items"].([]any)
	if !strings.HasSuffix(kind, "List") || !isList {
		return []fileObject{{value: value}}
	}
	out := make([]fileObject, 0, len(items))
	for i, item := range items {
		out = append(out, fileObject{value: item, prefix: []string{"items", strconv.Itoa(i)}})
	}
	return out
}

// jsonCompatible turns maps with non-string keys (YAML allows them) into
// string-keyed ones, as kubectl's YAML-to-JSON conversion does.
func jsonCompatible(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			t[k] = jsonCompatible(e)
		}
		return t
	case map[any]any:
		out := make(map[string]any, len(t))
		for k, e := range t {
			out[fmt.Sprint(k)] = jsonCompatible(e)
		}
		return out
	case []any:
		for i, e := range t {
			t[i] = jsonCompatible(e)
		}
		return t
	}
	return v
}

// locateImages sets each container's Line and Column: where its image
// value is written, as editors count (pkg/manifest.Positions). The node
// is found by the container's own JSON pointer in its own document, so
// two objects of the same name, or an image reached through an alias,
// each point at their own value (the anchor's, for an alias).
func locateImages(spec *PodSpec, pos *manifest.Positions, doc *yaml.Node, prefix []string) {
	if spec == nil {
		return
	}
	for i := range spec.Containers {
		c := &spec.Containers[i]
		tokens, err := manifest.SplitPointer(c.Path)
		if err != nil {
			continue
		}
		node := manifest.Lookup(doc, append(append([]string{}, prefix...), tokens...)...)
		if node == nil || node.Kind != yaml.ScalarNode {
			continue
		}
		if line, column, ok := pos.Value(node); ok {
			c.Line, c.Column = line, column
		}
	}
}

// startLine is the editor line an object starts on: its document's, or
// its List item's.
func startLine(pos *manifest.Positions, doc *yaml.Node, prefix []string) int {
	node := manifest.Lookup(doc, prefix...)
	if node == nil {
		return 0
	}
	line, _, _ := pos.Node(node)
	return line
}
