package manifest

import (
	"bytes"
	"fmt"
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
// A leading BOM is not counted.
func EditorPosition(text []byte, offset int) (line, column int) {
	offset = min(max(offset, 0), len(text))
	line, start := 1, 0
	if bytes.HasPrefix(text, utf8BOM) && offset >= 3 {
		start = 3
	}
	for i := start; i < offset; i++ {
		switch {
		case text[i] == '\r' && i+1 < len(text) && text[i+1] == '\n':
			if i+1 < offset {
				i++
				line, start = line+1, i+1
			}
		case text[i] == '\n' || text[i] == '\r':
			line, start = line+1, i+1
		}
	}
	column = 1
	for i := start; i < offset; {
		r, w := utf8.DecodeRune(text[i:])
		column++
		if r >= 0x10000 {
			column++ // a surrogate pair
		}
		i += w
	}
	return line, column
}
