package pin

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	yaml "go.yaml.in/yaml/v3"

	"github.com/imgtrust/kubectl-imgtrust/pkg/workload"
)

// ErrNotYAML is returned for files that cannot be edited safely as YAML or
// JSON, e.g. Helm templates.
var ErrNotYAML = errors.New("not plain YAML or JSON")

// ImageSite is one image field of a manifest file.
type ImageSite struct {
	Document  int    // index of the YAML document in the file, from 0
	Kind      string // of the object holding the image (the item, in a List)
	Name      string // its metadata.name
	Container string
	Type      workload.ContainerType
	Path      string // JSON pointer of the image in its object
	Line      int    // 1-based position of the value in the file
	Column    int
	Image     string
}

// site is an ImageSite with the node that holds it.
type site struct {
	ImageSite
	node *yaml.Node
	err  error // the field is not a string, so it cannot be an image
}

// Where a pod spec sits in objects other than Pods: workload controllers and
// any custom kind with a pod template, then CronJobs.
var templateSpecPaths = [][]string{
	{"spec", "template", "spec"},
	{"spec", "jobTemplate", "spec", "template", "spec"},
}

// Container lists in the order the kubelet starts them.
var containerListFields = []string{"initContainers", "containers", "ephemeralContainers"}

// parseDocuments parses every document of data into yaml.v3 nodes. The
// nodes are used only to find where the images are; the file is never
// re-encoded.
func parseDocuments(data []byte) ([]*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var docs []*yaml.Node
	for {
		var root yaml.Node
		err := dec.Decode(&root)
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			if bytes.Contains(data, []byte("{{")) {
				return nil, fmt.Errorf("%w: it looks like a template (it holds \"{{\"); render it first, e.g. with helm template, and pin the output: %v", ErrNotYAML, err)
			}
			return nil, fmt.Errorf("%w: %v", ErrNotYAML, err)
		}
		if n := expandedSize(&root, map[*yaml.Node]int{}); n > maxExpandedNodes {
			return nil, fmt.Errorf("%w: document %d expands to more than %d nodes through aliases and merge keys (\"<<\"); refusing it: expand the anchors by hand", ErrNotYAML, len(docs), maxExpandedNodes)
		}
		if looksTemplated(&root) {
			return nil, fmt.Errorf("%w: document %d looks like a template (it holds \"{{\"); render it first, e.g. with helm template, and pin the output", ErrNotYAML, len(docs))
		}
		docs = append(docs, &root)
	}
}

// maxExpandedNodes bounds a document's size once its aliases are expanded,
// as a YAML reader (and our lookups through "<<" merge keys) would see it.
// Real manifests are far below it; a few hundred bytes of nested
// `<<: [*a, *a]` reach billions (the "billion laughs" attack).
const maxExpandedNodes = 1 << 20

// expandedSize counts n's nodes with every alias expanded, each node
// counted once per path that reaches it. It is linear in the document:
// sizes are remembered per node, and a value past the bound stops the
// count. An alias cycle (which yaml.v3 does not build) counts as too big.
func expandedSize(n *yaml.Node, memo map[*yaml.Node]int) int {
	if n == nil {
		return 0
	}
	if size, ok := memo[n]; ok {
		if size < 0 {
			return maxExpandedNodes + 1 // a cycle
		}
		return size
	}
	memo[n] = -1
	size := 1
	if n.Kind == yaml.AliasNode {
		size += expandedSize(n.Alias, memo)
	}
	for _, c := range n.Content {
		size += expandedSize(c, memo)
		if size > maxExpandedNodes {
			break
		}
	}
	size = min(size, maxExpandedNodes+1)
	memo[n] = size
	return size
}

// LocateImages lists the image fields of a manifest file's pod specs in
// file order, with their line and column (for reports that point at them).
func LocateImages(data []byte) ([]ImageSite, error) {
	docs, err := parseDocuments(data)
	if err != nil {
		return nil, err
	}
	var out []ImageSite
	for _, s := range findImages(docs) {
		out = append(out, s.ImageSite)
	}
	return out, nil
}

// findImages returns the image fields of the documents' pod specs in file
// order, each scalar once even when aliases reach it again.
func findImages(docs []*yaml.Node) []site {
	var sites []site
	seen := map[*yaml.Node]bool{}
	for doc, root := range docs {
		if len(root.Content) == 0 {
			continue
		}
		obj := deref(root.Content[0])
		kind := scalar(mapGet(obj, "kind"))
		if items := mapGet(obj, "items"); strings.HasSuffix(kind, "List") && items != nil && items.Kind == yaml.SequenceNode {
			for _, item := range items.Content {
				sites = objectImages(sites, seen, doc, deref(item))
			}
			continue
		}
		sites = objectImages(sites, seen, doc, obj)
	}
	sort.SliceStable(sites, func(a, b int) bool {
		if sites[a].Line != sites[b].Line {
			return sites[a].Line < sites[b].Line
		}
		return sites[a].Column < sites[b].Column
	})
	return sites
}

// objectImages appends the image fields of one object's pod spec, if any.
func objectImages(sites []site, seen map[*yaml.Node]bool, doc int, obj *yaml.Node) []site {
	if obj == nil || obj.Kind != yaml.MappingNode {
		return sites
	}
	kind := scalar(mapGet(obj, "kind"))
	name := scalar(mapGet(mapGet(obj, "metadata"), "name"))
	candidates := templateSpecPaths
	if kind == "Pod" {
		candidates = [][]string{{"spec"}}
	}
	for _, path := range candidates {
		spec := obj
		for _, key := range path {
			spec = mapGet(spec, key)
		}
		if spec == nil || spec.Kind != yaml.MappingNode || mapGet(spec, "containers") == nil {
			continue
		}
		for _, field := range containerListFields {
			list := mapGet(spec, field)
			if list == nil || list.Kind != yaml.SequenceNode {
				continue
			}
			for i, item := range list.Content {
				c := deref(item)
				value := mapGet(c, "image")
				if value == nil || seen[value] {
					continue
				}
				seen[value] = true
				s := site{node: value, ImageSite: ImageSite{
					Document: doc, Kind: kind, Name: name,
					Container: scalar(mapGet(c, "name")), Type: containerFields[field],
					Path: formatPointer(append(append([]string{}, path...), field, strconv.Itoa(i), "image")...),
					Line: value.Line, Column: value.Column, Image: value.Value,
				}}
				if value.Kind != yaml.ScalarNode || value.ShortTag() != "!!str" {
					s.Image = ""
					s.err = fmt.Errorf("the image field is not a string")
				}
				sites = append(sites, s)
			}
		}
		break
	}
	return sites
}

// mapGet returns the value of key in a mapping node, following aliases and
// "<<" merge keys as YAML readers do; nil when absent.
func mapGet(m *yaml.Node, key string) *yaml.Node {
	m = deref(m)
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	var merges []*yaml.Node
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		switch {
		case k.Kind == yaml.ScalarNode && k.Value == key && k.ShortTag() != "!!merge":
			return deref(v)
		case k.ShortTag() == "!!merge":
			merges = append(merges, deref(v))
		}
	}
	// Explicit keys win over merged ones; earlier merges win over later.
	for _, merged := range merges {
		if merged != nil && merged.Kind == yaml.SequenceNode {
			for _, each := range merged.Content {
				if v := mapGet(each, key); v != nil {
					return v
				}
			}
			continue
		}
		if v := mapGet(merged, key); v != nil {
			return v
		}
	}
	return nil
}

// deref follows an alias to its anchored node.
func deref(n *yaml.Node) *yaml.Node {
	for depth := 0; n != nil && n.Kind == yaml.AliasNode && depth < 16; depth++ {
		n = n.Alias
	}
	return n
}

// scalar is a scalar node's value, or "".
func scalar(n *yaml.Node) string {
	if n == nil || n.Kind != yaml.ScalarNode {
		return ""
	}
	return n.Value
}

// looksTemplated spots Go templates that happen to parse as YAML: Helm's
// "key: {{ x }}" reads as a flow mapping whose first key is another flow
// mapping, which no real manifest holds. Scalars may hold "{{" legitimately
// (alerting templates in a ConfigMap, Argo Workflows parameters), so they
// are not taken as a sign; a templated image is reported on its own.
func looksTemplated(n *yaml.Node) bool {
	if n == nil {
		return false
	}
	if n.Kind == yaml.MappingNode && n.Style&yaml.FlowStyle != 0 && len(n.Content) > 0 && n.Content[0].Kind == yaml.MappingNode {
		return true
	}
	for _, c := range n.Content {
		if looksTemplated(c) {
			return true
		}
	}
	return false
}
