package pin

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	yaml "go.yaml.in/yaml/v3"

	"github.com/imgtrust/kubectl-imgtrust/pkg/manifest"

	"github.com/imgtrust/kubectl-imgtrust/pkg/workload"
)

// ErrNotYAML is returned for files that cannot be edited safely as YAML or
// JSON, e.g. Helm templates.
var ErrNotYAML = manifest.ErrNotYAML

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

// LocateImages lists the image fields of a manifest file's pod specs in
// file order, with their line and column (for reports that point at them).
func LocateImages(data []byte) ([]ImageSite, error) {
	docs, err := manifest.Parse(data)
	if err != nil {
		return nil, err
	}
	var out []ImageSite
	for _, s := range findImages(docs, nil) {
		out = append(out, s.ImageSite)
	}
	return out, nil
}

// findImages returns the image fields of the documents' pod specs, and of
// custom resources the catalogue cat knows (nil: the built-in one), in file
// order, each scalar once even when aliases reach it again.
func findImages(docs []*yaml.Node, cat *workload.Catalog) []site {
	var sites []site
	seen := map[*yaml.Node]bool{}
	for doc, root := range docs {
		if len(root.Content) == 0 {
			continue
		}
		obj := manifest.Deref(root.Content[0])
		kind := manifest.Scalar(manifest.Get(obj, "kind"))
		if items := manifest.Get(obj, "items"); strings.HasSuffix(kind, "List") && items != nil && items.Kind == yaml.SequenceNode {
			for _, item := range items.Content {
				sites = objectImages(sites, seen, doc, manifest.Deref(item), cat)
			}
			continue
		}
		sites = objectImages(sites, seen, doc, obj, cat)
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
func objectImages(sites []site, seen map[*yaml.Node]bool, doc int, obj *yaml.Node, cat *workload.Catalog) []site {
	if obj == nil || obj.Kind != yaml.MappingNode {
		return sites
	}
	kind := manifest.Scalar(manifest.Get(obj, "kind"))
	name := manifest.Scalar(manifest.Get(manifest.Get(obj, "metadata"), "name"))
	if found, ok := resourceImages(sites, seen, doc, obj, kind, name, cat); ok {
		return found
	}
	candidates := templateSpecPaths
	switch kind {
	case "Pod":
		candidates = [][]string{{"spec"}}
	case "PodTemplate":
		candidates = [][]string{{"template", "spec"}}
	}
	for _, path := range candidates {
		spec := obj
		for _, key := range path {
			spec = manifest.Get(spec, key)
		}
		if spec == nil || spec.Kind != yaml.MappingNode || manifest.Get(spec, "containers") == nil {
			continue
		}
		for _, field := range containerListFields {
			list := manifest.Get(spec, field)
			if list == nil || list.Kind != yaml.SequenceNode {
				continue
			}
			for i, item := range list.Content {
				c := manifest.Deref(item)
				value := manifest.Get(c, "image")
				if value == nil || seen[value] {
					continue
				}
				seen[value] = true
				s := site{node: value, ImageSite: ImageSite{
					Document: doc, Kind: kind, Name: name,
					Container: manifest.Scalar(manifest.Get(c, "name")), Type: containerFields[field],
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
		sites = volumeImages(sites, seen, doc, kind, name, path, spec)
		break
	}
	return sites
}

// volumeImages appends the references of a pod spec's image volumes
// (volumes[].image.reference), which the kubelet pulls like images.
func volumeImages(sites []site, seen map[*yaml.Node]bool, doc int, kind, name string, path []string, spec *yaml.Node) []site {
	list := manifest.Get(spec, "volumes")
	if list == nil || list.Kind != yaml.SequenceNode {
		return sites
	}
	for i, item := range list.Content {
		v := manifest.Deref(item)
		value := manifest.Get(manifest.Get(v, "image"), "reference")
		if value == nil || seen[value] {
			continue
		}
		seen[value] = true
		s := site{node: value, ImageSite: ImageSite{
			Document: doc, Kind: kind, Name: name,
			Container: manifest.Scalar(manifest.Get(v, "name")), Type: workload.ImageVolume,
			Path: formatPointer(append(append([]string{}, path...), "volumes", strconv.Itoa(i), "image", "reference")...),
			Line: value.Line, Column: value.Column, Image: value.Value,
		}}
		if value.Kind != yaml.ScalarNode || value.ShortTag() != "!!str" {
			s.Image = ""
			s.err = fmt.Errorf("the image reference is not a string")
		}
		sites = append(sites, s)
	}
	return sites
}

// resourceImages appends the image fields the catalogue's rules reach in a
// custom resource (audit -f reads the same rules, so both see the same
// images); ok is false for a kind it has no rules for.
func resourceImages(sites []site, seen map[*yaml.Node]bool, doc int, obj *yaml.Node, kind, name string, cat *workload.Catalog) ([]site, bool) {
	apiVersion := manifest.Scalar(manifest.Get(obj, "apiVersion"))
	var value map[string]any
	if err := obj.Decode(&value); err != nil {
		return sites, false
	}
	spec, problems, ok := cat.Find(apiVersion, kind, value)
	if !ok {
		return sites, false
	}
	at := func(pointer string) *yaml.Node {
		tokens, err := manifest.SplitPointer(pointer)
		if err != nil {
			return nil
		}
		return manifest.Lookup(obj, tokens...)
	}
	for _, c := range spec.Containers {
		node := at(c.Path)
		if node == nil || seen[node] {
			continue
		}
		seen[node] = true
		sites = append(sites, site{node: node, ImageSite: ImageSite{
			Document: doc, Kind: kind, Name: name, Container: c.Name, Type: workload.ResourceImage,
			Path: c.Path, Line: node.Line, Column: node.Column, Image: c.Image,
		}})
	}
	for _, p := range problems {
		node := at(p.Path)
		if node == nil || seen[node] {
			continue
		}
		seen[node] = true
		sites = append(sites, site{node: node, err: errors.New(p.Message), ImageSite: ImageSite{
			Document: doc, Kind: kind, Name: name, Container: p.Path, Type: workload.ResourceImage,
			Path: p.Path, Line: node.Line, Column: node.Column,
		}})
	}
	return sites, true
}
