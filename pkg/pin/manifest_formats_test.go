package pin

import (
	"bytes"
	"strings"
	"testing"
)

// Files that are not plain LF UTF-8 YAML: only the image strings change,
// and line endings, the BOM and the JSON stream's layout stay.
func TestPinManifestFormats(t *testing.T) {
	pod := func(name, image string) string {
		return `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"` + name + `"},"spec":{"containers":[{"name":"a","image":"` + image + `"}]}}`
	}
	tests := []struct {
		name, in string
		images   []string
	}{
		{"JSON stream", pod("a", "nginx:1.25") + "\n" + pod("b", "redis:7") + " " + pod("c", "ghcr.io/acme/x:1") + "\n", []string{"nginx:1.25", "redis:7", "ghcr.io/acme/x:1"}},
		{"CRLF and BOM", "\uFEFFapiVersion: v1\r\nkind: Pod\r\nmetadata: {name: a}\r\nspec:\r\n  containers:\r\n  - name: a\r\n    image: nginx:1.25\r\n---\r\napiVersion: v1\r\nkind: PodTemplate\r\nmetadata: {name: t}\r\ntemplate:\r\n  spec:\r\n    containers:\r\n    - name: b\r\n      image: 'redis:7'\r\n", []string{"nginx:1.25", "redis:7"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := PinManifest([]byte(tt.in), fakeResolve)
			if err != nil {
				t.Fatalf("PinManifest() = %v", err)
			}
			if len(res.Edits) != len(tt.images) {
				t.Fatalf("edits %+v, want %d", res.Edits, len(tt.images))
			}
			want := tt.in
			for _, e := range res.Edits {
				want = strings.Replace(want, e.Image, e.New, 1)
			}
			if !bytes.Equal(res.Data, []byte(want)) {
				t.Errorf("got\n%q\nwant\n%q", res.Data, want)
			}
		})
	}
}
