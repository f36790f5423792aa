package workload

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/yaml"
)

// ImagePathsAPIVersion and ImagePathsKind head an image-paths file.
const (
	ImagePathsAPIVersion = "imgtrust.dev/v1alpha1"
	ImagePathsKind       = "ImagePaths"
)

// ImagePaths is an image-paths file (--image-paths), the format of the
// built-in catalogue too: which fields of which custom kinds hold images.
type ImagePaths struct {
	APIVersion string          `json:"apiVersion"`
	Kind       string          `json:"kind"`
	Rules      []ImagePathRule `json:"rules"`
}

// ImagePathRule names the image fields of some kinds of one API group.
// Paths are dotted field names with [*] over list items:
// "spec.tasks[*].taskSpec.steps[*]".
type ImagePathRule struct {
	Group string   `json:"group"`
	Kinds []string `json:"kinds"`
	// Containers are container-like objects: image, name, imagePullPolicy.
	Containers []string `json:"containers,omitempty"`
	// Images are plain string fields holding an image reference.
	Images []string `json:"images,omitempty"`
	// ServiceAccountName and ImagePullSecrets, when set, say whose pull
	// credentials the kubelet uses for these images.
	ServiceAccountName string `json:"serviceAccountName,omitempty"`
	ImagePullSecrets   string `json:"imagePullSecrets,omitempty"`
	// Immutable kinds (a TaskRun, a Workflow: runs) cannot change once
	// created: pin leaves them and says to pin their manifest.
	Immutable bool `json:"immutable,omitempty"`
}

// Catalog is the compiled rules, by group and kind. The nil *Catalog is
// the built-in one.
type Catalog struct {
	rules map[schema.GroupKind]*kindRules
	order []schema.GroupKind
}

type kindRules struct {
	containers, images []fieldPath
	serviceAccount     fieldPath
	pullSecrets        fieldPath
	hasSA, hasSecrets  bool
	immutable          bool
}

// fieldPath is a compiled path: each step a field, maybe iterated.
type fieldPath []pathStep

type pathStep struct {
	field string
	each  bool // [*]: every item of the list
}

//go:embed catalog.yaml
var builtinYAML []byte

var builtin = sync.OnceValue(func() *Catalog {
	c, err := parseImagePaths("built-in catalogue", builtinYAML, &Catalog{rules: map[schema.GroupKind]*kindRules{}})
	if err != nil {
		panic(err) // a test parses it: never at run time
	}
	return c
})

// BuiltinCatalog is the catalogue compiled into the plugin.
func BuiltinCatalog() *Catalog { return builtin() }

// LoadImagePaths reads an --image-paths file and returns the built-in
// catalogue with its rules added (a rule for a kind the catalogue knows
// adds to its paths). The error is one line naming the file, the rule and
// the field.
func LoadImagePaths(file string) (*Catalog, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("--image-paths: %w", err)
	}
	return parseImagePaths(file, data, builtin().clone())
}

func (c *Catalog) orBuiltin() *Catalog {
	if c == nil {
		return builtin()
	}
	return c
}

func (c *Catalog) clone() *Catalog {
	out := &Catalog{rules: make(map[schema.GroupKind]*kindRules, len(c.rules)), order: slices.Clone(c.order)}
	for gk, r := range c.rules {
		copied := *r
		copied.containers = slices.Clone(r.containers)
		copied.images = slices.Clone(r.images)
		out.rules[gk] = &copied
	}
	return out
}

// Kinds lists the kinds the catalogue knows, in the order rules name them.
func (c *Catalog) Kinds() []schema.GroupKind { return slices.Clone(c.orBuiltin().order) }

// Knows reports whether the catalogue has rules for group and kind.
func (c *Catalog) Knows(group, kind string) bool {
	_, ok := c.orBuiltin().rules[schema.GroupKind{Group: group, Kind: kind}]
	return ok
}

// Immutable reports whether the catalogue says objects of group and kind
// cannot change once created.
func (c *Catalog) Immutable(group, kind string) bool {
	r, ok := c.orBuiltin().rules[schema.GroupKind{Group: group, Kind: kind}]
	return ok && r.immutable
}

func (c *Catalog) rulesFor(apiVersion, kind string) *kindRules {
	group, _, found := strings.Cut(apiVersion, "/")
	if !found {
		return nil // core kinds have no rules
	}
	return c.orBuiltin().rules[schema.GroupKind{Group: group, Kind: kind}]
}

var (
	fieldName = regexp.MustCompile(`^[A-Za-z0-9_$-]+$`)
	groupName = regexp.MustCompile(`^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$`)
	kindName  = regexp.MustCompile(`^[A-Z][A-Za-z0-9]*$`)
)

func parseImagePaths(file string, data []byte, into *Catalog) (*Catalog, error) {
	// Each rule is decoded on its own, so that an unknown field is said
	// with its rule.
	var f struct {
		APIVersion string            `json:"apiVersion"`
		Kind       string            `json:"kind"`
		Rules      []json.RawMessage `json:"rules"`
	}
	raw, err := yaml.YAMLToJSON(data)
	if err == nil {
		err = strictJSON(raw, &f)
	}
	if err != nil {
		return nil, fmt.Errorf("--image-paths %s: %v", file, oneLine(err))
	}
	if f.APIVersion != ImagePathsAPIVersion || f.Kind != ImagePathsKind {
		return nil, fmt.Errorf("--image-paths %s: apiVersion %q kind %q: want apiVersion %s, kind %s", file, f.APIVersion, f.Kind, ImagePathsAPIVersion, ImagePathsKind)
	}
	if len(f.Rules) == 0 {
		return nil, fmt.Errorf("--image-paths %s: no rules", file)
	}
	for i, rawRule := range f.Rules {
		bad := func(field, format string, args ...any) error {
			return fmt.Errorf("--image-paths %s: rule %d: %s: %s", file, i, field, fmt.Sprintf(format, args...))
		}
		var r ImagePathRule
		if err := strictJSON(rawRule, &r); err != nil {
			return nil, fmt.Errorf("--image-paths %s: rule %d: %v", file, i, oneLine(err))
		}
		if r.Group == "" || !groupName.MatchString(r.Group) {
			return nil, bad("group", "%q is not an API group (e.g. tekton.dev); core kinds are read as pod specs already", r.Group)
		}
		if len(r.Kinds) == 0 {
			return nil, bad("kinds", "none given")
		}
		for k, kind := range r.Kinds {
			if !kindName.MatchString(kind) {
				return nil, bad(fmt.Sprintf("kinds[%d]", k), "%q is not a kind (e.g. Task, as in the object's kind field)", kind)
			}
		}
		if len(r.Containers) == 0 && len(r.Images) == 0 {
			return nil, bad("containers", "neither containers nor images given")
		}
		compiled := &kindRules{immutable: r.Immutable}
		for k, p := range r.Containers {
			fp, err := parseFieldPath(p)
			if err != nil {
				return nil, bad(fmt.Sprintf("containers[%d]", k), "%v", err)
			}
			compiled.containers = append(compiled.containers, fp)
		}
		for k, p := range r.Images {
			fp, err := parseFieldPath(p)
			if err != nil {
				return nil, bad(fmt.Sprintf("images[%d]", k), "%v", err)
			}
			compiled.images = append(compiled.images, fp)
		}
		if r.ServiceAccountName != "" {
			fp, err := parseFieldPath(r.ServiceAccountName)
			if err == nil && fp.iterates() {
				err = errors.New("a single field, without [*]")
			}
			if err != nil {
				return nil, bad("serviceAccountName", "%v", err)
			}
			compiled.serviceAccount, compiled.hasSA = fp, true
		}
		if r.ImagePullSecrets != "" {
			fp, err := parseFieldPath(r.ImagePullSecrets)
			if err == nil && fp.iterates() {
				err = errors.New("a single list field, without [*]")
			}
			if err != nil {
				return nil, bad("imagePullSecrets", "%v", err)
			}
			compiled.pullSecrets, compiled.hasSecrets = fp, true
		}
		for _, kind := range r.Kinds {
			into.add(schema.GroupKind{Group: r.Group, Kind: kind}, compiled)
		}
	}
	return into, nil
}

// add merges a rule into the catalogue: more paths for a kind it knows.
func (c *Catalog) add(gk schema.GroupKind, r *kindRules) {
	cur, ok := c.rules[gk]
	if !ok {
		copied := *r
		copied.containers = slices.Clone(r.containers)
		copied.images = slices.Clone(r.images)
		c.rules[gk] = &copied
		c.order = append(c.order, gk)
		return
	}
	cur.containers = append(cur.containers, r.containers...)
	cur.images = append(cur.images, r.images...)
	if r.hasSA {
		cur.serviceAccount, cur.hasSA = r.serviceAccount, true
	}
	if r.hasSecrets {
		cur.pullSecrets, cur.hasSecrets = r.pullSecrets, true
	}
	cur.immutable = cur.immutable || r.immutable
}

func strictJSON(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

func oneLine(err error) string { return strings.ReplaceAll(err.Error(), "\n", " ") }

// parseFieldPath reads "spec.tasks[*].taskSpec.steps[*]".
func parseFieldPath(p string) (fieldPath, error) {
	if p == "" {
		return nil, errors.New("empty path")
	}
	var out fieldPath
	for _, part := range strings.Split(p, ".") {
		step := pathStep{field: part}
		if name, ok := strings.CutSuffix(part, "[*]"); ok {
			step = pathStep{field: name, each: true}
		}
		if !fieldName.MatchString(step.field) {
			return nil, fmt.Errorf("path %q: %q is not a field name (fields are separated by dots; [*] after a list field takes every item)", p, part)
		}
		out = append(out, step)
	}
	return out, nil
}

func (p fieldPath) iterates() bool {
	return slices.ContainsFunc(p, func(s pathStep) bool { return s.each })
}

func (p fieldPath) String() string {
	parts := make([]string, len(p))
	for i, s := range p {
		parts[i] = s.field
		if s.each {
			parts[i] += "[*]"
		}
	}
	return strings.Join(parts, ".")
}

// match is one value a path reaches.
type match struct {
	value  any
	tokens []string // JSON pointer tokens
	label  []string // "steps", "build" for each [*]; the field for the last step
}

// walk returns every value p reaches in obj, in document order. Missing
// fields reach nothing: a rule names where images may be.
func (p fieldPath) walk(obj any) []match {
	cur := []match{{value: obj}}
	for i, step := range p {
		var next []match
		for _, m := range cur {
			fields, ok := m.value.(map[string]any)
			if !ok {
				continue
			}
			v, ok := fields[step.field]
			if !ok || v == nil {
				continue
			}
			tokens := append(slices.Clone(m.tokens), step.field)
			if !step.each {
				label := m.label
				if i == len(p)-1 {
					label = append(slices.Clone(m.label), step.field)
				}
				next = append(next, match{value: v, tokens: tokens, label: label})
				continue
			}
			items, ok := v.([]any)
			if !ok {
				continue
			}
			for k, item := range items {
				name := strconv.Itoa(k)
				if fields, ok := item.(map[string]any); ok {
					if n, ok := fields["name"].(string); ok && n != "" {
						name = n
					}
				}
				next = append(next, match{
					value:  item,
					tokens: append(slices.Clone(tokens), strconv.Itoa(k)),
					label:  append(slices.Clone(m.label), step.field, name),
				})
			}
		}
		cur = next
	}
	return cur
}

// FieldError is an image field that a rule reaches but that holds no
// string: the object's other images are still read.
type FieldError struct {
	Path    string // JSON pointer
	Message string
}

func (e FieldError) Error() string { return e.Path + ": " + e.Message }

// FieldErrors are the FieldErrors of one object.
type FieldErrors struct {
	Kind, Name string
	Errs       []FieldError
}

func (e *FieldErrors) Error() string {
	return fmt.Sprintf("%s %s: %s", e.Kind, e.Name, fieldMessages(e))
}

// find reads the images a kind's rules reach in obj.
func (r *kindRules) find(obj map[string]any) (*PodSpec, []FieldError) {
	spec := &PodSpec{}
	var problems []FieldError
	if r.hasSA {
		for _, m := range r.serviceAccount.walk(obj) {
			spec.ServiceAccount, _ = m.value.(string)
		}
	}
	if r.hasSecrets {
		for _, m := range r.pullSecrets.walk(obj) {
			items, _ := m.value.([]any)
			for _, item := range items {
				if fields, ok := item.(map[string]any); ok {
					if n, ok := fields["name"].(string); ok && n != "" {
						spec.PullSecrets = append(spec.PullSecrets, n)
					}
				}
			}
		}
	}
	seen := map[string]bool{}
	add := func(m match, image any, tokens []string, policy any) {
		pointer := "/" + strings.Join(escapeTokens(tokens), "/")
		if seen[pointer] {
			return
		}
		seen[pointer] = true
		s, ok := image.(string)
		if !ok {
			problems = append(problems, FieldError{Path: pointer, Message: fmt.Sprintf("the image field holds %s, not a string: skipped", describe(image))})
			return
		}
		p, _ := policy.(string)
		spec.Containers = append(spec.Containers, ContainerSpec{
			Name: strings.Join(m.label, "/"), Type: ResourceImage, Image: s,
			PullPolicy: corev1.PullPolicy(p), Path: pointer,
		})
	}
	for _, p := range r.containers {
		for _, m := range p.walk(obj) {
			fields, ok := m.value.(map[string]any)
			if !ok {
				problems = append(problems, FieldError{Path: "/" + strings.Join(escapeTokens(m.tokens), "/"), Message: fmt.Sprintf("%s holds %s, not a container: skipped", p, describe(m.value))})
				continue
			}
			image, ok := fields["image"]
			if !ok || image == nil {
				continue // e.g. a step template that sets only env
			}
			add(m, image, append(slices.Clone(m.tokens), "image"), fields["imagePullPolicy"])
		}
	}
	for _, p := range r.images {
		for _, m := range p.walk(obj) {
			if !p.iterates() {
				m.label = []string{p.String()} // "spec.image" says more than "image"
			}
			add(m, m.value, m.tokens, nil)
		}
	}
	return spec, problems
}

func describe(v any) string {
	switch v.(type) {
	case map[string]any:
		return "an object"
	case []any:
		return "a list"
	case bool:
		return "a boolean"
	case string:
		return "a string"
	default:
		return "a number"
	}
}

// escapeTokens escapes JSON pointer tokens (RFC 6901).
func escapeTokens(tokens []string) []string {
	out := make([]string, len(tokens))
	for i, t := range tokens {
		out[i] = strings.ReplaceAll(strings.ReplaceAll(t, "~", "~0"), "/", "~1")
	}
	return out
}

// Find reads the images the catalogue's rules reach in obj, a decoded
// object of apiVersion and kind; ok is false for a kind it has no rules for.
func (c *Catalog) Find(apiVersion, kind string, obj map[string]any) (spec *PodSpec, problems []FieldError, ok bool) {
	rules := c.rulesFor(apiVersion, kind)
	if rules == nil {
		return nil, nil, false
	}
	spec, problems = rules.find(obj)
	return spec, problems, true
}
