package pin

import (
	"bytes"
	"fmt"
	"strings"

	yaml "go.yaml.in/yaml/v3"

	"github.com/imgtrust/kubectl-imgtrust/pkg/manifest"
)

// span is the byte range of a scalar as written, quotes included.
type span struct {
	start, end int
	style      yaml.Style // plain (0), single or double quoted
}

// scalarSpan finds where node's value is written in data. yaml.v3 gives
// 1-based lines and columns counted in characters. It fails, rather than
// guess, for anything but a one-line plain or quoted scalar written without
// escapes, which is how image references are written in practice.
func scalarSpan(data []byte, starts []int, node *yaml.Node) (span, error) {
	off, err := manifest.ValueOffset(data, starts, node)
	if err != nil {
		return span{}, err
	}
	v := node.Value
	style := node.Style &^ yaml.TaggedStyle
	switch style {
	case 0:
		if bytes.HasPrefix(data[off:], []byte(v)) {
			return span{off, off + len(v), style}, nil
		}
	case yaml.SingleQuotedStyle, yaml.DoubleQuotedStyle:
		q := "'"
		if style == yaml.DoubleQuotedStyle {
			q = `"`
		}
		if bytes.HasPrefix(data[off:], []byte(q+v+q)) {
			return span{off, off + len(v) + 2, style}, nil
		}
	default:
		return span{}, fmt.Errorf("the image is a block scalar; write it on one line to pin it")
	}
	return span{}, fmt.Errorf("the image is written with escapes or over several lines; write it on one line to pin it")
}

// quote writes value in the style the old value was written in.
func quote(value string, style yaml.Style) string {
	switch style {
	case yaml.SingleQuotedStyle:
		return "'" + strings.ReplaceAll(value, "'", "''") + "'"
	case yaml.DoubleQuotedStyle:
		// Also valid JSON: only the backslash and the quote need escapes in
		// an image reference's character set.
		return `"` + strings.ReplaceAll(strings.ReplaceAll(value, `\`, `\\`), `"`, `\"`) + `"`
	}
	return value
}

// splice replaces each span of data with its text. Spans must be in file
// order and must not overlap.
func splice(data []byte, spans []span, texts []string) ([]byte, error) {
	var out bytes.Buffer
	out.Grow(len(data) + 80*len(spans))
	at := 0
	for i, s := range spans {
		if s.start < at || s.end < s.start || s.end > len(data) {
			return nil, fmt.Errorf("edits overlap at byte %d", s.start)
		}
		out.Write(data[at:s.start])
		out.WriteString(texts[i])
		at = s.end
	}
	out.Write(data[at:])
	return out.Bytes(), nil
}
