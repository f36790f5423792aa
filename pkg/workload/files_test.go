package workload

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/imgtrust/kubectl-imgtrust/pkg/manifest"
)

// discoverText reads one manifest file with the given bytes.
func discoverText(t *testing.T, name string, data []byte) *Discovery {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	d, err := Discover(context.Background(), nil, Scope{Filenames: []string{path}})
	if err != nil {
		t.Fatalf("Discover() err = %v", err)
	}
	return d
}

// valueAt is the text at an editor position (1-based line; column in
// UTF-16 code units; lines end at LF, CRLF or CR), as a viewer would
// highlight it.
func valueAt(text []byte, line, column int) (string, bool) {
	s := strings.TrimPrefix(string(text), "\uFEFF")
	for l := 1; l < line; l++ {
		i := strings.IndexAny(s, "\r\n")
		if i < 0 {
			return "", false
		}
		if strings.HasPrefix(s[i:], "\r\n") {
			i++
		}
		s = s[i+1:]
	}
	for units := 1; units < column; {
		r, w := utf8.DecodeRuneInString(s)
		if w == 0 || r == '\n' || r == '\r' {
			return "", false
		}
		units += utf16.RuneLen(r)
		s = s[w:]
	}
	return s, true
}

// checkPositions asserts that every container's position points at its
// image value in the file, as written (perhaps quoted).
func checkPositions(t *testing.T, d *Discovery, text []byte) {
	t.Helper()
	for _, w := range d.Workloads {
		for _, c := range w.Containers {
			at, ok := valueAt(text, c.Line, c.Column)
			if !ok || !(strings.HasPrefix(at, c.Image) || strings.HasPrefix(at, `"`+c.Image) || strings.HasPrefix(at, `'`+c.Image)) {
				t.Errorf("%s/%s container %s: line %d column %d points at %.30q, not at %q", w.Kind, w.Name, c.Name, c.Line, c.Column, at, c.Image)
			}
		}
	}
}

type located struct {
	workload     string
	line, column int
}

func positions(d *Discovery) []located {
	var out []located
	for _, w := range d.Workloads {
		for _, c := range w.Containers {
			out = append(out, located{w.Namespace + "/" + w.Kind + "/" + w.Name + "/" + c.Name, c.Line, c.Column})
		}
	}
	return out
}

func TestFilesDocumentSeparatorsWithTagsAndComments(t *testing.T) {
	text := []byte(`apiVersion: apps/v1
kind: Deployment
metadata: {name: first}
spec: {template: {spec: {containers: [{name: a, image: "nginx:1.25"}]}}}
--- !!map
apiVersion: apps/v1
kind: Deployment
metadata: {name: second}
spec: {template: {spec: {containers: [{name: b, image: "redis:7"}]}}}
--- # a comment
apiVersion: v1
kind: Pod
metadata: {name: third}
spec: {containers: [{name: c, image: busybox}]}
`)
	d := discoverText(t, "sep.yaml", text)
	if got := workloadIDs(d); len(got) != 3 || len(d.InputErrors) != 0 {
		t.Fatalf("workloads %q, errors %q; want all three documents", got, d.InputErrors)
	}
	checkPositions(t, d, text)
}

func TestFilesFailClosed(t *testing.T) {
	tests := []struct {
		name, file, text, want string
		line                   int
	}{
		{"not YAML", "bad.yaml", "kind: Pod\nnot: [yaml\n", "not plain YAML or JSON", 0},
		{"Helm template", "deploy.yaml", "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ .Release.Name }}\nspec:\n  template:\n    spec:\n      containers:\n      - image: {{ .Values.image }}\n", `looks like a template (it holds "{{" at line 4)`, 4},
		{"Helm template that parses", "t.yaml", "apiVersion: v1\nkind: Pod\nmetadata: {name: x}\nspec:\n  containers:\n  - name: a\n    image: {{ .Values.image }}\n", "helm template", 7},
		{"no kind", "k.yaml", "---\napiVersion: v1\nmetadata: {name: x}\n", "document 1 (line 2): not a Kubernetes object", 2},
		{"invalid UTF-8", "u.yaml", "apiVersion: v1\nkind: Pod\nmetadata: {name: \"caf\xe9\"}\n", "invalid UTF-8 at line 3, column 22", 3},
		{"odd UTF-16", "w.yaml", "\xff\xfea\x00b", "invalid UTF-16", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := discoverText(t, tt.file, []byte(tt.text))
			if len(d.InputErrors) != 1 || !strings.Contains(d.InputErrors[0].Error(), tt.want) || !strings.HasSuffix(d.InputErrors[0].File, tt.file) || d.InputErrors[0].Line != tt.line {
				t.Errorf("InputErrors = %+v, want one for %s at line %d containing %q", d.InputErrors, tt.file, tt.line, tt.want)
			}
		})
	}
	t.Run("unreadable file in a directory", func(t *testing.T) {
		dir := t.TempDir()
		if err := os.Symlink(filepath.Join(dir, "gone"), filepath.Join(dir, "dangling.yaml")); err != nil {
			t.Fatal(err)
		}
		d, err := Discover(context.Background(), nil, Scope{Filenames: []string{dir}})
		if err != nil || len(d.InputErrors) != 1 || !strings.Contains(d.InputErrors[0].Error(), "dangling.yaml") {
			t.Errorf("Discover() = %+v, %v; want one input error naming dangling.yaml", d, err)
		}
	})
}

func TestFilesGenerateNameAndPodTemplate(t *testing.T) {
	text := []byte(`apiVersion: batch/v1
kind: Job
metadata: {generateName: db-migrate-}
spec: {template: {spec: {containers: [{name: m, image: "ghcr.io/acme/migrate:1"}]}}}
---
apiVersion: batch/v1
kind: Job
metadata: {generateName: db-migrate-}
spec: {template: {spec: {containers: [{name: m, image: "ghcr.io/acme/migrate:2"}]}}}
---
apiVersion: v1
kind: PodTemplate
metadata: {name: worker}
template: {spec: {containers: [{name: w, image: "ghcr.io/acme/worker:3"}]}}
---
apiVersion: example.com/v1
kind: Widget
spec: {size: 1}
`)
	d := discoverText(t, "jobs.yaml", text)
	want := []located{{"/Job/db-migrate-*/m", 4, 56}, {"/Job/db-migrate-*/m", 9, 56}, {"/PodTemplate/worker/w", 14, 49}}
	if got := positions(d); !slices.Equal(got, want) {
		t.Errorf("positions = %v, want %v", got, want)
	}
	if d.Workloads[0].SourceLine == d.Workloads[1].SourceLine {
		t.Errorf("two generateName Jobs share their source line %d: they are two workloads", d.Workloads[0].SourceLine)
	}
	if len(d.Skipped) != 1 || d.Skipped[0].Name != "(unnamed)" {
		t.Errorf("Skipped = %+v, want the unnamed Widget named (unnamed)", d.Skipped)
	}
}

func TestFilesPositions(t *testing.T) {
	sameName := `apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: blue}
spec:
  template:
    spec:
      containers:
      - name: web
        image: nginx:1.25
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: green}
spec:
  template:
    spec:
      containers:
      - name: web
        image: nginx:1.27
`
	tests := []struct {
		name string
		text string
		want []located
	}{
		{"same name in two namespaces", sameName, []located{{"blue/Deployment/web/web", 9, 16}, {"green/Deployment/web/web", 19, 16}}},
		{"CRLF", strings.ReplaceAll(sameName, "\n", "\r\n"), []located{{"blue/Deployment/web/web", 9, 16}, {"green/Deployment/web/web", 19, 16}}},
		{"BOM", "\uFEFF" + sameName, []located{{"blue/Deployment/web/web", 9, 16}, {"green/Deployment/web/web", 19, 16}}},
		// Editors and GitHub break lines at LF, CRLF and CR only: LS, PS
		// and NEL in a string move nothing (yaml.v3 counts them).
		{"LS, PS and NEL are not line breaks", strings.Replace(sameName, "metadata: {name: web, namespace: blue}", "metadata: {name: web, namespace: blue, annotations: {note: \"a\u2028b\u2029c\u0085d\"}}", 1),
			[]located{{"blue/Deployment/web/web", 9, 16}, {"green/Deployment/web/web", 19, 16}}},
		// Columns count UTF-16 code units: "é" is one, "🐳" two.
		{"columns in UTF-16 units", "apiVersion: v1\nkind: Pod\nmetadata: {name: x}\nspec: {containers: [{name: \"é🐳\", image: nginx}]}\n",
			[]located{{"/Pod/x/é🐳", 4, 42}}},
		{"anchors, aliases and merge keys", `apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  template:
    spec:
      containers:
      - &base
        name: web
        image: &img ghcr.io/acme/web:1
      - <<: *base
        name: sidecar
      - name: third
        image: *img
`, []located{{"/Deployment/web/web", 10, 21}, {"/Deployment/web/sidecar", 10, 21}, {"/Deployment/web/third", 10, 21}}},
		{"JSON stream", `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"a"},"spec":{"containers":[{"name":"a","image":"nginx:1"}]}}
{"apiVersion":"v1","kind":"Pod","metadata":{"name":"b"},
 "spec":{"containers":[{"name":"b","image":"nginx:2"}]}} {"apiVersion":"v1","kind":"Pod","metadata":{"name":"c"},"spec":{"containers":[{"name":"c","image":"nginx:3"}]}}
`, []located{{"/Pod/a/a", 1, 99}, {"/Pod/b/b", 3, 44}, {"/Pod/c/c", 3, 156}}},
		{"List items", `apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Pod
  metadata: {name: a}
  spec: {containers: [{name: a, image: "nginx:1"}]}
- apiVersion: v1
  kind: Pod
  metadata: {name: a, namespace: other}
  spec: {containers: [{name: a, image: "nginx:2"}]}
`, []located{{"/Pod/a/a", 7, 40}, {"other/Pod/a/a", 11, 40}}},
		// An image volume's reference is located like a container's image.
		{"image volume", `apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  containers:
  - {name: app, image: "nginx:1"}
  volumes:
  - name: scratch
    emptyDir: {}
  - name: data
    image: {reference: 'ghcr.io/org/data:1', pullPolicy: Always}
`, []located{{"/Pod/p/app", 6, 24}, {"/Pod/p/data", 11, 24}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := discoverText(t, "m.yaml", []byte(tt.text))
			if len(d.InputErrors) != 0 {
				t.Fatalf("InputErrors = %q", d.InputErrors)
			}
			if got := positions(d); !slices.Equal(got, tt.want) {
				t.Errorf("positions = %v, want %v", got, tt.want)
			}
			checkPositions(t, d, []byte(tt.text))
		})
	}
}

func TestFilesUTF16(t *testing.T) {
	text := "apiVersion: v1\r\nkind: Pod\r\nmetadata: {name: x}\r\nspec: {containers: [{name: a, image: nginx:1.25}]}\r\n"
	for _, bigEndian := range []bool{false, true} {
		units := utf16.Encode([]rune("\uFEFF" + text))
		var data []byte
		for _, u := range units {
			if bigEndian {
				data = append(data, byte(u>>8), byte(u))
			} else {
				data = append(data, byte(u), byte(u>>8))
			}
		}
		d := discoverText(t, "w.yaml", data)
		if got, want := positions(d), []located{{"/Pod/x/a", 4, 38}}; !slices.Equal(got, want) || len(d.InputErrors) != 0 {
			t.Errorf("big endian %v: positions %v (errors %q), want %v", bigEndian, got, d.InputErrors, want)
		}
	}
}

// The location finder behind SARIF regions and JSON sources: whatever the
// bytes, every position it gives points inside the file at the image's
// value as written.
func FuzzFileImagePositions(f *testing.F) {
	for _, seed := range []string{
		"apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec: {containers: [{name: a, image: nginx}]}\n",
		"\uFEFFapiVersion: apps/v1\r\nkind: Deployment\r\nmetadata: {name: w}\r\nspec:\r\n  template:\r\n    spec:\r\n      containers:\r\n      - &c {name: a, image: &i 'ghcr.io/x:1'}\r\n      - <<: *c\r\n        name: b\r\n      initContainers: [{name: i, image: *i}]\r\n",
		"{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"a\"},\"spec\":{\"containers\":[{\"name\":\"a\",\"image\":\"é🐳\"}]}} {\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"b\"},\"spec\":{\"containers\":[{\"name\":\"b\",\"image\":\"x\"}]}}",
		"apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: Pod, metadata: {annotations: {n: \"a\u2028b\"}}, spec: {containers: [{name: a, image: !!str nginx}]}}\n--- !!map\napiVersion: v1\nkind: PodTemplate\ntemplate: {spec: {containers: [{name: b, image: \"redis\"}]}}\n",
		"\xff\xfek\x00i\x00n\x00d\x00:\x00 \x00P\x00o\x00d\x00\n\x00",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := manifest.Decode("fuzz.yaml", data)
		if err != nil {
			return
		}
		objects, _, _ := fileObjects(nil, "fuzz.yaml", file)
		for _, o := range objects {
			for _, c := range o.Spec.Containers {
				if c.Line == 0 {
					continue // not a plain scalar in the file (e.g. not a string)
				}
				at, ok := valueAt(file.Text, c.Line, c.Column)
				if !ok {
					t.Fatalf("container %s: line %d column %d is outside the file", c.Name, c.Line, c.Column)
				}
				if !pointsAtValue(at, c.Image) {
					t.Fatalf("container %s: line %d column %d points at %.40q, not at the image %q", c.Name, c.Line, c.Column, at, c.Image)
				}
			}
		}
	})
}

// pointsAtValue says whether text starts with value as YAML writes it:
// plain, or quoted; a value written with escapes, folded over lines or as
// a block scalar cannot be compared byte for byte, but still starts there.
func pointsAtValue(text, value string) bool {
	if strings.HasPrefix(text, value) {
		return true
	}
	if text == "" {
		return false
	}
	switch text[0] {
	case '"', '\'':
		raw := text[1:min(len(text), 1+len(value)+1)]
		return strings.HasPrefix(text[1:], value) || strings.ContainsAny(raw, "\\'\"\r\n")
	case '|', '>':
		return true
	}
	head := text[:min(len(text), len(value))]
	return strings.ContainsAny(head, "\r\n#")
}
