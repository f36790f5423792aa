package manifest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// Extensions are the files kubectl reads from a directory.
var Extensions = map[string]bool{".yaml": true, ".yml": true, ".json": true}

// Paths lists the files of -f arguments: files as given, directories'
// .yaml/.yml/.json files (recursively with -R), "-" for stdin.
func Paths(paths []string, recursive bool) ([]string, error) {
	var out []string
	for _, p := range paths {
		if p == "-" {
			out = append(out, p)
			continue
		}
		info, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("-f %s: %w", p, err)
		}
		if !info.IsDir() {
			out = append(out, p)
			continue
		}
		err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				if path != p && !recursive {
					return filepath.SkipDir
				}
				return nil
			}
			if Extensions[strings.ToLower(filepath.Ext(path))] {
				out = append(out, path)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("-f %s: %w", p, err)
		}
	}
	sort.Strings(out)
	return out, nil
}

// Encoding is how a file's text is stored.
type Encoding int

const (
	UTF8    Encoding = iota // with or without a BOM (kept in Text)
	UTF16LE                 // with a BOM
	UTF16BE                 // with a BOM
)

// File is one manifest input.
type File struct {
	Path     string // as given; "-" for stdin
	Data     []byte // the bytes as stored
	Text     []byte // the UTF-8 text: Data itself, or Data decoded from UTF-16
	Encoding Encoding
	Mode     fs.FileMode // permission bits; 0 for stdin
}

// ErrEncoding is wrapped by errors about a file's bytes: invalid UTF-8 or
// UTF-16.
var ErrEncoding = errors.New("not valid text")

// Read reads a file ("-": stdin) and checks its encoding. UTF-16 files
// (with a BOM, as kubectl accepts them) are decoded into Text.
func Read(path string, stdin io.Reader) (*File, error) {
	f := &File{Path: path}
	var err error
	if path == "-" {
		f.Data, err = io.ReadAll(stdin)
	} else {
		var info fs.FileInfo
		if info, err = os.Stat(path); err == nil {
			f.Mode = info.Mode().Perm()
			f.Data, err = os.ReadFile(path)
		}
	}
	if err != nil {
		return nil, err
	}
	return f, f.decode()
}

// Decode builds a File from bytes already read (tests, fuzzing).
func Decode(path string, data []byte) (*File, error) {
	f := &File{Path: path, Data: data}
	return f, f.decode()
}

func (f *File) decode() error {
	switch {
	case bytes.HasPrefix(f.Data, []byte{0xFF, 0xFE}):
		f.Encoding = UTF16LE
	case bytes.HasPrefix(f.Data, []byte{0xFE, 0xFF}):
		f.Encoding = UTF16BE
	default:
		f.Text = f.Data
		if off := invalidUTF8(f.Data); off >= 0 {
			line, col := EditorPosition(f.Data, off)
			return &LineError{Line: line, Err: fmt.Errorf("%w: invalid UTF-8 at line %d, column %d: save the file as UTF-8", ErrEncoding, line, col)}
		}
		return nil
	}
	text, ok := decodeUTF16(f.Data[2:], f.Encoding)
	if !ok {
		return fmt.Errorf("%w: invalid UTF-16 (an odd number of bytes or an unpaired surrogate): save the file as UTF-8", ErrEncoding)
	}
	f.Text = text
	return nil
}

// Encode turns edited UTF-8 text back into the file's own encoding, BOM
// included, so a rewrite keeps the file as it was stored.
func (f *File) Encode(text []byte) []byte {
	if f.Encoding == UTF8 {
		return text
	}
	units := utf16.Encode([]rune(string(text)))
	out := make([]byte, 2, 2+2*len(units))
	out[0], out[1] = f.Data[0], f.Data[1]
	for _, u := range units {
		if f.Encoding == UTF16LE {
			out = append(out, byte(u), byte(u>>8))
		} else {
			out = append(out, byte(u>>8), byte(u))
		}
	}
	return out
}

func decodeUTF16(b []byte, enc Encoding) ([]byte, bool) {
	if len(b)%2 != 0 {
		return nil, false
	}
	units := make([]uint16, len(b)/2)
	for i := range units {
		if enc == UTF16LE {
			units[i] = uint16(b[2*i]) | uint16(b[2*i+1])<<8
		} else {
			units[i] = uint16(b[2*i])<<8 | uint16(b[2*i+1])
		}
	}
	runes := utf16.Decode(units)
	// An unpaired surrogate decodes to U+FFFD: refuse rather than change it.
	if !slices.Equal(utf16.Encode(runes), units) {
		return nil, false
	}
	return []byte(string(runes)), true
}

// invalidUTF8 is the offset of the first invalid UTF-8 byte, or -1.
func invalidUTF8(b []byte) int {
	for i := 0; i < len(b); {
		r, w := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && w == 1 {
			return i
		}
		i += w
	}
	return -1
}

// Write replaces a file's contents with data through a temporary file in
// the same directory, so a crash never leaves half a manifest. A symlink
// is followed and its target written (the link stays a link); the mode is
// kept, and the owner where the process may set it.
func Write(f *File, data []byte) error {
	if f.Path == "-" {
		return errors.New("stdin cannot be rewritten: give a file")
	}
	target, err := filepath.EvalSymlinks(f.Path)
	if err != nil {
		return err
	}
	info, err := os.Stat(target)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(target), "."+filepath.Base(target)+".imgtrust-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(info.Mode().Perm()); err != nil {
		tmp.Close()
		return err
	}
	keepOwner(tmp, info)
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), target)
}
