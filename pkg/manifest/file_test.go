package manifest

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf16"
)

func utf16Bytes(s string, bigEndian bool) []byte {
	var out []byte
	for _, u := range utf16.Encode([]rune(s)) {
		if bigEndian {
			out = append(out, byte(u>>8), byte(u))
		} else {
			out = append(out, byte(u), byte(u>>8))
		}
	}
	return out
}

func TestEncodingRoundTrip(t *testing.T) {
	text := "\uFEFFkind: Pod\r\nspec: {containers: [{name: \"é🐳\", image: nginx}]}\r\n"
	for _, tt := range []struct {
		name string
		data []byte
		enc  Encoding
	}{
		{"UTF-8 with BOM", []byte(text), UTF8},
		{"UTF-16LE", utf16Bytes(text, false), UTF16LE},
		{"UTF-16BE", utf16Bytes(text, true), UTF16BE},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Decode("m.yaml", tt.data)
			if err != nil || f.Encoding != tt.enc {
				t.Fatalf("Decode() = %v, %v; want encoding %v", f, err, tt.enc)
			}
			if !bytes.Contains(f.Text, []byte("é🐳")) {
				t.Errorf("Text = %q", f.Text)
			}
			if got := f.Encode(f.Text); !bytes.Equal(got, tt.data) {
				t.Errorf("Encode(Text) is not the file: %q", got)
			}
			edited := f.Encode(bytes.Replace(f.Text, []byte("nginx"), []byte("nginx@sha256:00"), 1))
			back, err := Decode("m.yaml", edited)
			if err != nil || !bytes.Contains(back.Text, []byte("nginx@sha256:00")) || back.Encoding != tt.enc {
				t.Errorf("an edit does not survive Encode: %q, %v", edited, err)
			}
		})
	}
}

func TestDecodeRefusesInvalidText(t *testing.T) {
	for _, tt := range []struct {
		name, data, want string
	}{
		{"invalid UTF-8", "a: 1\nb: \"\xff\"\n", "invalid UTF-8 at line 2, column 5"},
		{"odd UTF-16", "\xff\xfea", "invalid UTF-16"},
		{"unpaired surrogate", "\xff\xfe\x00\xd8a\x00", "invalid UTF-16"},
	} {
		if _, err := Decode("x.yaml", []byte(tt.data)); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: Decode() err = %v, want %q", tt.name, err, tt.want)
		}
	}
}

func TestWriteFollowsSymlinksAndKeepsMode(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "real", "web.yaml")
	if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(target, []byte("old\r\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "web.yaml")
	if err := os.Symlink(filepath.Join("real", "web.yaml"), link); err != nil {
		t.Fatal(err)
	}
	f, err := Read(link, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := Write(f, []byte("new\r\n")); err != nil {
		t.Fatalf("Write() = %v", err)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("the link was replaced by a regular file: %v", fi.Mode())
	}
	got, _ := os.ReadFile(target)
	if string(got) != "new\r\n" {
		t.Errorf("target holds %q, want the new contents", got)
	}
	if fi, _ := os.Stat(target); fi.Mode().Perm() != 0o640 {
		t.Errorf("mode %v, want 0640", fi.Mode().Perm())
	}
	entries, _ := os.ReadDir(filepath.Dir(target))
	if len(entries) != 1 {
		t.Errorf("temporary files left behind: %v", entries)
	}
}

func TestEditorPosition(t *testing.T) {
	text := []byte("\uFEFFa\r\nb\rc\n\u2028x🐳é|")
	for _, tt := range []struct {
		at           string
		line, column int
	}{
		{"a", 1, 1}, {"b", 2, 1}, {"c", 3, 1}, {"\u2028", 4, 1}, {"x", 4, 2}, {"é", 4, 5}, {"|", 4, 6},
	} {
		off := bytes.Index(text, []byte(tt.at))
		if line, col := EditorPosition(text, off); line != tt.line || col != tt.column {
			t.Errorf("EditorPosition(%q) = %d:%d, want %d:%d", tt.at, line, col, tt.line, tt.column)
		}
	}
}

func TestParseJSONStreamPositions(t *testing.T) {
	text := []byte("  {\"a\": \"x\"}{\"b\":\n \"y\"}\n\t[\"z\"]\n")
	docs, err := Parse(text)
	if err != nil || len(docs) != 3 {
		t.Fatalf("Parse() = %d docs, %v; want 3", len(docs), err)
	}
	starts := LineStarts(text)
	for i, want := range []string{`"x"`, `"y"`, `"z"`} {
		var leaf = docs[i]
		for len(leaf.Content) > 0 {
			leaf = leaf.Content[len(leaf.Content)-1]
		}
		off, err := ValueOffset(text, starts, leaf)
		if err != nil || !bytes.HasPrefix(text[off:], []byte(want)) {
			t.Errorf("document %d: value at %d (%v), want %s there", i, off, err, want)
		}
	}
}
