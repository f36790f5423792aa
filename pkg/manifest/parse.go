package manifest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	yaml "go.yaml.in/yaml/v3"
)

// ErrNotYAML is wrapped by errors for text that is not plain YAML or JSON,
// e.g. a Helm template.
var ErrNotYAML = errors.New("not plain YAML or JSON")

// templateHint is what a template gets told, by every command alike.
const templateHint = "render it first (e.g. helm template NAME CHART > rendered.yaml) and give the output"

// Parse parses every document of a file's text into yaml.v3 nodes, with
// positions in the text: YAML (one or many documents, with tags or
// comments after "---") or JSON (one object, or a stream of them as kubectl
// accepts). Empty documents are kept, so indices are the file's own. The
// nodes only say what is where; nothing is ever re-encoded from them.
func Parse(text []byte) ([]*yaml.Node, error) {
	if segments := jsonStream(text); len(segments) > 1 {
		return parseJSONStream(text, segments)
	}
	dec := yaml.NewDecoder(bytes.NewReader(text))
	var docs []*yaml.Node
	for {
		var root yaml.Node
		err := dec.Decode(&root)
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			if at := bytes.Index(text, []byte("{{")); at >= 0 {
				line, _ := EditorPosition(text, at)
				return nil, &LineError{Line: line, Err: fmt.Errorf("%w: it looks like a template (it holds \"{{\" at line %d): %s (%v)", ErrNotYAML, line, templateHint, err)}
			}
			// yaml.v3's own "line N" is kept in the text only: it counts
			// from 0 for some errors and from 1 for others.
			return nil, fmt.Errorf("%w: %v", ErrNotYAML, err)
		}
		if err := check(text, &root, len(docs)); err != nil {
			return nil, err
		}
		docs = append(docs, &root)
	}
}

// check refuses documents no reader should trust: alias bombs and
// templates that happen to parse.
func check(text []byte, root *yaml.Node, index int) error {
	if n := expandedSize(root, map[*yaml.Node]int{}); n > maxExpandedNodes {
		return &LineError{Line: editorLine(text, root), Err: fmt.Errorf("%w: document %d expands to more than %d nodes through aliases and merge keys (\"<<\"); refusing it: expand the anchors by hand", ErrNotYAML, index+1, maxExpandedNodes)}
	}
	if n := templated(root); n != nil {
		line := editorLine(text, n)
		return &LineError{Line: line, Err: fmt.Errorf("%w: document %d looks like a template (it holds \"{{\" at line %d): %s", ErrNotYAML, index+1, line, templateHint)}
	}
	return nil
}

// LineError is an error about a line of a file (as editors count).
type LineError struct {
	Line int
	Err  error
}

func (e *LineError) Error() string { return e.Err.Error() }
func (e *LineError) Unwrap() error { return e.Err }

// ErrorLine is the line an error is about, or 0.
func ErrorLine(err error) int {
	var le *LineError
	if errors.As(err, &le) {
		return le.Line
	}
	return 0
}

// editorLine is the editor line of a parsed node.
func editorLine(text []byte, n *yaml.Node) int {
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	off, err := Offset(text, LineStarts(text), n.Line, n.Column)
	if err != nil {
		return 0
	}
	line, _ := EditorPosition(text, off)
	return line
}

// jsonStream returns the byte ranges of the values of a JSON stream (text
// starting with "{" or "["), or nil when text is not JSON.
func jsonStream(text []byte) [][2]int {
	body := bytes.TrimPrefix(text, utf8BOM)
	base := len(text) - len(body)
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	if len(trimmed) == 0 || (trimmed[0] != '{' && trimmed[0] != '[') {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	var segments [][2]int
	for {
		start := int(dec.InputOffset())
		for start < len(body) && isSpace(body[start]) {
			start++
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			if errors.Is(err, io.EOF) {
				return segments
			}
			// Not JSON after all (a YAML flow mapping), or broken JSON:
			// the YAML parser says which, with a position.
			return nil
		}
		segments = append(segments, [2]int{base + start, base + int(dec.InputOffset())})
	}
}

// parseJSONStream parses each value of a JSON stream as its own document
// (JSON is YAML), moving its nodes to where the value sits in the file.
func parseJSONStream(text []byte, segments [][2]int) ([]*yaml.Node, error) {
	starts := LineStarts(text)
	var docs []*yaml.Node
	for i, seg := range segments {
		var root yaml.Node
		if err := yaml.Unmarshal(text[seg[0]:seg[1]], &root); err != nil {
			line, _ := EditorPosition(text, seg[0])
			return nil, &LineError{Line: line, Err: fmt.Errorf("%w: JSON value %d (line %d): %v", ErrNotYAML, i+1, line, err)}
		}
		line := lineOf(starts, seg[0])
		column := 1 + utf8.RuneCount(text[starts[line-1]:seg[0]])
		shift(&root, line-1, column-1)
		if err := check(text, &root, len(docs)); err != nil {
			return nil, err
		}
		docs = append(docs, &root)
	}
	return docs, nil
}

// lineOf is the 1-based line (yaml.v3's count) holding offset.
func lineOf(starts []int, offset int) int {
	return sort.Search(len(starts), func(k int) bool { return starts[k] > offset })
}

// shift moves a parsed value's positions by lines, and those on its first
// line also by columns.
func shift(n *yaml.Node, lines, columns int) {
	if n.Line == 1 {
		n.Column += columns
	}
	n.Line += lines
	for _, c := range n.Content {
		shift(c, lines, columns)
	}
}

// maxExpandedNodes bounds a document's size once its aliases are expanded,
// as a YAML reader (and lookups through "<<" merge keys) would see it.
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

// templated spots Go templates that happen to parse as YAML: Helm's
// "key: {{ x }}" reads as a flow mapping whose first key is another flow
// mapping, which no real manifest holds. Scalars may hold "{{" legitimately
// (alerting templates in a ConfigMap, Argo Workflows parameters), so they
// are not taken as a sign; a templated image is reported on its own.
// It returns the node that looks so, or nil.
func templated(n *yaml.Node) *yaml.Node {
	if n == nil {
		return nil
	}
	if n.Kind == yaml.MappingNode && n.Style&yaml.FlowStyle != 0 && len(n.Content) > 0 && n.Content[0].Kind == yaml.MappingNode {
		return n
	}
	for _, c := range n.Content {
		if t := templated(c); t != nil {
			return t
		}
	}
	return nil
}

// Get returns the value of key in a mapping node, following aliases and
// "<<" merge keys as YAML readers do; nil when absent.
func Get(m *yaml.Node, key string) *yaml.Node {
	m = Deref(m)
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	var merges []*yaml.Node
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		switch {
		case k.Kind == yaml.ScalarNode && k.Value == key && k.ShortTag() != "!!merge":
			return Deref(v)
		case k.ShortTag() == "!!merge":
			merges = append(merges, Deref(v))
		}
	}
	// Explicit keys win over merged ones; earlier merges win over later.
	for _, merged := range merges {
		if merged != nil && merged.Kind == yaml.SequenceNode {
			for _, each := range merged.Content {
				if v := Get(each, key); v != nil {
					return v
				}
			}
			continue
		}
		if v := Get(merged, key); v != nil {
			return v
		}
	}
	return nil
}

// Deref follows an alias to its anchored node.
func Deref(n *yaml.Node) *yaml.Node {
	for depth := 0; n != nil && n.Kind == yaml.AliasNode && depth < 16; depth++ {
		n = n.Alias
	}
	return n
}

// Scalar is a scalar node's value, or "".
func Scalar(n *yaml.Node) string {
	if n == nil || n.Kind != yaml.ScalarNode {
		return ""
	}
	return n.Value
}

// SplitPointer splits an RFC 6901 JSON pointer ("/spec/containers/0/image")
// into unescaped tokens.
func SplitPointer(pointer string) ([]string, error) {
	if !strings.HasPrefix(pointer, "/") {
		return nil, fmt.Errorf("JSON pointer %q does not start with /", pointer)
	}
	tokens := strings.Split(pointer[1:], "/")
	for i, t := range tokens {
		// ~1 first, so that "~01" becomes "~1" and not "/".
		tokens[i] = strings.ReplaceAll(strings.ReplaceAll(t, "~1", "/"), "~0", "~")
	}
	return tokens, nil
}

// Lookup follows JSON pointer tokens from n through mappings (with aliases
// and merge keys) and sequences; nil when the path is not there.
func Lookup(n *yaml.Node, tokens ...string) *yaml.Node {
	n = Deref(n)
	if n != nil && n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = Deref(n.Content[0])
	}
	for _, tok := range tokens {
		switch {
		case n == nil:
			return nil
		case n.Kind == yaml.MappingNode:
			n = Get(n, tok)
		case n.Kind == yaml.SequenceNode:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(n.Content) {
				return nil
			}
			n = Deref(n.Content[i])
		default:
			return nil
		}
	}
	return n
}
