package manifest

import (
	"bytes"
	"fmt"
	"sort"
	"unicode/utf16"
	"unicode/utf8"

	yaml "go.yaml.in/yaml/v3"
)

var utf8BOM = []byte("\xEF\xBB\xBF")

// LineStarts returns the byte offset of each line, counting line breaks as
// yaml.v3 does: CRLF, CR, LF, NEL, LS and PS. A leading BOM is not part of
// line 1, as yaml.v3 skips it before counting columns. It maps yaml.v3's
// node positions to bytes; editors count lines differently (EditorPosition).
func LineStarts(text []byte) []int {
	start := 0
	if bytes.HasPrefix(text, utf8BOM) {
		start = 3
	}
	starts := []int{start}
	for i := start; i < len(text); {
		switch {
		case text[i] == '\r' && i+1 < len(text) && text[i+1] == '\n':
			i += 2
		case text[i] == '\r' || text[i] == '\n':
			i++
		case bytes.HasPrefix(text[i:], []byte("\xC2\x85")):
			i += 2
		case bytes.HasPrefix(text[i:], []byte("\xE2\x80\xA8")), bytes.HasPrefix(text[i:], []byte("\xE2\x80\xA9")):
			i += 3
		default:
			_, w := utf8.DecodeRune(text[i:])
			i += w
			continue
		}
		starts = append(starts, i)
	}
	return starts
}

// Offset is the byte offset of a yaml.v3 line and column (1-based, the
// column counted in characters) in text; starts is LineStarts(text).
func Offset(text []byte, starts []int, line, column int) (int, error) {
	if line < 1 || line > len(starts) {
		return 0, fmt.Errorf("line %d is outside the file", line)
	}
	off := starts[line-1]
	for col := 1; col < column; col++ {
		if off >= len(text) {
			return 0, fmt.Errorf("column %d is outside line %d", column, line)
		}
		_, w := utf8.DecodeRune(text[off:])
		off += w
	}
	return off, nil
}

// ValueOffset is where a scalar node's value starts: after the tag or the
// anchor ("!!str x", "&img x") that yaml.v3's position includes.
func ValueOffset(text []byte, starts []int, node *yaml.Node) (int, error) {
	off, err := Offset(text, starts, node.Line, node.Column)
	if err != nil {
		return 0, err
	}
	for off < len(text) && (text[off] == '!' || text[off] == '&') {
		for off < len(text) && !isSpace(text[off]) {
			off++
		}
		for off < len(text) && isSpace(text[off]) {
			off++
		}
	}
	return off, nil
}

func isSpace(b byte) bool { return b == ' ' || b == '\t' || b == '\r' || b == '\n' }

// EditorPosition is the 1-based line and column of a byte offset as
// editors and GitHub show them: lines end at LF, CRLF or CR only (YAML
// 1.2, and the viewers, do not break at NEL, LS or PS), and columns count
// UTF-16 code units (SARIF's default columnKind, and JavaScript's strings).
// A leading BOM is not counted. For many lookups in one text, use
// NewPositions: this scans the text each time.
func EditorPosition(text []byte, offset int) (line, column int) {
	return editorPosition(text, editorLineStarts(text), offset)
}

// Positions answers where nodes of one text are, as editors count, with
// the text's line starts found once: each lookup is a binary search and a
// walk along one line.
type Positions struct {
	text   []byte
	yaml   []int // LineStarts: yaml.v3's lines
	editor []int // editorLineStarts: the viewers' lines
}

// NewPositions indexes text's lines both ways.
func NewPositions(text []byte) *Positions {
	return &Positions{text: text, yaml: LineStarts(text), editor: editorLineStarts(text)}
}

// Node is where a node starts (its tag or anchor included); ok is false
// for a position outside the text.
func (p *Positions) Node(n *yaml.Node) (line, column int, ok bool) {
	off, err := Offset(p.text, p.yaml, n.Line, n.Column)
	if err != nil {
		return 0, 0, false
	}
	line, column = editorPosition(p.text, p.editor, off)
	return line, column, true
}

// Value is where a scalar's value starts, after its tag or anchor.
func (p *Positions) Value(n *yaml.Node) (line, column int, ok bool) {
	off, err := ValueOffset(p.text, p.yaml, n)
	if err != nil {
		return 0, 0, false
	}
	line, column = editorPosition(p.text, p.editor, off)
	return line, column, true
}

// editorLineStarts returns the byte offset of each line as editors count
// them (LF, CRLF, CR), line 1 starting after a BOM.
func editorLineStarts(text []byte) []int {
	start := 0
	if bytes.HasPrefix(text, utf8BOM) {
		start = 3
	}
	starts := []int{start}
	for i := start; i < len(text); i++ {
		switch {
		case text[i] == '\r' && i+1 < len(text) && text[i+1] == '\n':
			i++
			starts = append(starts, i+1)
		case text[i] == '\n' || text[i] == '\r':
			starts = append(starts, i+1)
		}
	}
	return starts
}

func editorPosition(text []byte, starts []int, offset int) (line, column int) {
	offset = min(max(offset, 0), len(text))
	idx := sort.Search(len(starts), func(k int) bool { return starts[k] > offset }) - 1
	if idx < 0 {
		return 1, 1 // inside the BOM
	}
	column = 1
	for i := starts[idx]; i < offset; {
		r, w := utf8.DecodeRune(text[i:])
		column += utf16.RuneLen(r)
		i += w
	}
	return idx + 1, column
}
