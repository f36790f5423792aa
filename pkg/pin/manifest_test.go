package pin

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/imgtrust/kubectl-imgtrust/pkg/manifest"
	"github.com/imgtrust/kubectl-imgtrust/pkg/workload"
	yaml "go.yaml.in/yaml/v3"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// fakeResolve pins to a digest derived from the image, and fails for one
// host, as a registry that cannot be reached.
func fakeResolve(image string) (string, error) {
	if strings.HasPrefix(image, "broken.example.com/") {
		return "", errors.New("connection refused")
	}
	return PinnedImage(image, digestOf(image), false)
}

func TestPinManifestGolden(t *testing.T) {
	tests := []struct {
		file        string
		edits       int
		skipped     int
		errors      int
		wantNotYAML bool
	}{
		{file: "deployment-comments.in.yaml", edits: 5, skipped: 1},
		{file: "multi-document.in.yaml", edits: 3},
		{file: "list.in.yaml", edits: 3},
		{file: "cronjob.in.yaml", edits: 3},
		{file: "custom-resource.in.yaml", edits: 2},
		{file: "errors.in.yaml", edits: 1, skipped: 2, errors: 2},
		{file: "crlf.in.yaml", edits: 1},
		{file: "deployment.in.json", edits: 2},
		{file: "minified.in.json", edits: 2},
		{file: "tabs.in.json", edits: 1},
		{file: "nothing-to-pin.in.yaml", skipped: 1},
		{file: "helm-template.in.yaml", wantNotYAML: true},
		{file: "helm-parses.in.yaml", wantNotYAML: true},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			in, err := os.ReadFile(filepath.Join("testdata", "manifest", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			res, err := PinManifest(in, fakeResolve)
			if tt.wantNotYAML {
				if !errors.Is(err, ErrNotYAML) {
					t.Fatalf("PinManifest() error = %v, want ErrNotYAML", err)
				}
				if !bytes.Equal(res.Data, in) {
					t.Errorf("PinManifest() changed a file it refused")
				}
				return
			}
			if err != nil {
				t.Fatalf("PinManifest() error: %v", err)
			}
			if len(res.Edits) != tt.edits || len(res.Skipped) != tt.skipped || len(res.Errors) != tt.errors {
				t.Errorf("PinManifest() = %d edits, %d skipped, %d errors; want %d, %d, %d\n%s",
					len(res.Edits), len(res.Skipped), len(res.Errors), tt.edits, tt.skipped, tt.errors, report(res))
			}
			base := strings.Replace(tt.file, ".in.", ".out.", 1)
			golden(t, filepath.Join("testdata", "manifest", base), res.Data)
			golden(t, filepath.Join("testdata", "manifest", strings.TrimSuffix(base, filepath.Ext(base))+".report"), []byte(report(res)))
			assertOnlyImagesChanged(t, in, res)
		})
	}
}

// report lists what happened to each image, for the golden .report files.
func report(res ManifestResult) string {
	var b strings.Builder
	for _, e := range res.Edits {
		fmt.Fprintf(&b, "edit  %d:%d %s/%s %s %s\n      %s\n   -> %s\n", e.Line, e.Column, e.Kind, e.Name, e.Type, e.Path, e.Image, e.New)
	}
	for _, s := range res.Skipped {
		fmt.Fprintf(&b, "skip  %d:%d %s/%s %s %s: %s\n", s.Line, s.Column, s.Kind, s.Name, s.Type, s.Path, s.Reason)
	}
	for _, e := range res.Errors {
		fmt.Fprintf(&b, "error %s\n", e.Error())
	}
	return b.String()
}

// assertOnlyImagesChanged checks, independently of the goldens, that the
// output differs from the input only on the edited lines, and there only
// by the image text.
func assertOnlyImagesChanged(t *testing.T, in []byte, res ManifestResult) {
	t.Helper()
	inLines, outLines := bytes.SplitAfter(in, []byte("\n")), bytes.SplitAfter(res.Data, []byte("\n"))
	if len(inLines) != len(outLines) {
		t.Fatalf("line count changed from %d to %d", len(inLines), len(outLines))
	}
	edits := map[int][]ManifestEdit{}
	for _, e := range res.Edits {
		edits[e.Line] = append(edits[e.Line], e)
	}
	for i := range inLines {
		want := string(inLines[i])
		for _, e := range edits[i+1] {
			want = strings.Replace(want, e.Image, e.New, 1)
		}
		if got := string(outLines[i]); got != want {
			t.Errorf("line %d:\n got %q\nwant %q", i+1, got, want)
		}
	}
}

func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading the golden file (run go test -update to create it): %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the output (go test -update rewrites it):\n%s", path, UnifiedDiff(path, "got", string(want), string(got)))
	}
}

func TestPinManifestResolverAnswers(t *testing.T) {
	in := []byte("kind: Pod\nspec:\n  containers:\n  - name: a\n    image: nginx:1.25\n  - name: b\n    image: nginx:1.25\n")
	tests := []struct {
		name    string
		resolve Resolver
		wantErr string // "" when the image is pinned
	}{
		{"good", func(image string) (string, error) { return image + "@" + digA, nil }, ""},
		{"drop tag is the resolver's choice", func(string) (string, error) { return "nginx@" + digA, nil }, ""},
		{"no digest", func(image string) (string, error) { return image, nil }, "has no digest"},
		{"another repository", func(string) (string, error) { return "evil.example.com/nginx@" + digA, nil }, "another repository"},
		{"garbage", func(string) (string, error) { return "::", nil }, "invalid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			calls := 0
			res, err := PinManifest(in, func(image string) (string, error) {
				calls++
				return tt.resolve(image)
			})
			if err != nil {
				t.Fatalf("PinManifest() error: %v", err)
			}
			if calls != 1 {
				t.Errorf("resolver called %d times for one distinct image, want 1", calls)
			}
			if tt.wantErr == "" {
				if len(res.Edits) != 2 || len(res.Errors) != 0 {
					t.Errorf("PinManifest() = %s, want 2 edits", report(res))
				}
				return
			}
			if len(res.Edits) != 0 || len(res.Errors) != 2 || !strings.Contains(res.Errors[0].Error(), tt.wantErr) {
				t.Errorf("PinManifest() = %s, want 2 errors containing %q", report(res), tt.wantErr)
			}
			if !bytes.Equal(res.Data, in) {
				t.Errorf("PinManifest() changed the file although every image failed")
			}
		})
	}
}

func TestPinManifestInputs(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		edits int
		want  string // "" for the input unchanged
	}{
		{"empty file", "", 0, ""},
		{"only separators and comments", "---\n# nothing\n---\n", 0, ""},
		{"scalar document", "just a string\n", 0, ""},
		{"byte order mark", "\uFEFF{\"kind\":\"Pod\",\"spec\":{\"containers\":[{\"name\":\"a\",\"image\":\"nginx\"}]}}",
			1, "\uFEFF{\"kind\":\"Pod\",\"spec\":{\"containers\":[{\"name\":\"a\",\"image\":\"nginx@" + digA + "\"}]}}"},
		{"merge key", "kind: Deployment\nspec:\n  template:\n    spec:\n      containers:\n      - <<: {image: nginx}\n        name: a\n",
			1, "kind: Deployment\nspec:\n  template:\n    spec:\n      containers:\n      - <<: {image: nginx@" + digA + "}\n        name: a\n"},
		// yaml.v3 counts LS and NEL as line breaks; so must the splice.
		{"unicode line breaks", "kind: Pod\nmetadata: {name: \"a\u2028 b\u0085 c\"}\nspec:\n  containers:\n  - image: nginx\n",
			1, "kind: Pod\nmetadata: {name: \"a\u2028 b\u0085 c\"}\nspec:\n  containers:\n  - image: nginx@" + digA + "\n"},
		{"template-like scalars are data", "kind: Pod\nmetadata:\n  name: run-{{workflow.name}}\nspec:\n  containers:\n  - image: nginx\n  - image: nginx:{{ .Values.tag }}\n",
			1, "kind: Pod\nmetadata:\n  name: run-{{workflow.name}}\nspec:\n  containers:\n  - image: nginx@" + digA + "\n  - image: nginx:{{ .Values.tag }}\n"},
		{"pod-spec-like data outside a workload", "kind: ConfigMap\ndata:\n  spec: |\n    containers:\n    - image: nginx\n", 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := PinManifest([]byte(tt.in), func(image string) (string, error) { return image + "@" + digA, nil })
			if err != nil {
				t.Fatalf("PinManifest() error: %v", err)
			}
			want := tt.want
			if want == "" {
				want = tt.in
			}
			if len(res.Edits) != tt.edits || string(res.Data) != want {
				t.Errorf("PinManifest() = %d edits, %q\nwant %d edits, %q", len(res.Edits), short(string(res.Data)), tt.edits, short(want))
			}
		})
	}
}

func TestVerifyCatchesStrayChanges(t *testing.T) {
	in := []byte("kind: Pod\nmetadata: {name: a}\nspec:\n  containers:\n  - name: app\n    image: nginx\n")
	docs, err := manifest.Parse(in)
	if err != nil {
		t.Fatal(err)
	}
	sites := findImages(docs, nil)
	want := map[*yaml.Node]string{sites[0].node: "nginx@" + digA}
	tests := []struct {
		name    string
		out     string
		wantErr bool
	}{
		{"only the image", "kind: Pod\nmetadata: {name: a}\nspec:\n  containers:\n  - name: app\n    image: nginx@" + digA + "\n", false},
		{"another field too", "kind: Pod\nmetadata: {name: b}\nspec:\n  containers:\n  - name: app\n    image: nginx@" + digA + "\n", true},
		{"image not changed", string(in), true},
		{"image changed to something else", "kind: Pod\nmetadata: {name: a}\nspec:\n  containers:\n  - name: app\n    image: nginx@" + digB + "\n", true},
		{"structure changed", "kind: Pod\nmetadata: {name: a}\nspec:\n  containers:\n  - name: app\n  - image: nginx@" + digA + "\n", true},
		{"a document more", string(in) + "---\nkind: Service\n", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := verify([]byte(tt.out), docs, want); (err != nil) != tt.wantErr {
				t.Errorf("verify() = %v, want error %v", err, tt.wantErr)
			}
		})
	}
}

func TestPinManifestImageVolumes(t *testing.T) {
	in := `apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  template:
    spec:
      containers:
      - name: web
        image: nginx:1.25@` + digA + `
        volumeMounts: [{name: data, mountPath: /data}]
      volumes:
      - name: cache
        emptyDir: {}
      - name: data   # the model
        image:
          reference: "ghcr.io/org/data:1"  # keep me
          pullPolicy: IfNotPresent
      - {name: pinned, image: {reference: ghcr.io/org/x:2@` + digA + `}}
`
	res, err := PinManifest([]byte(in), func(image string) (string, error) { return image + "@" + digB, nil })
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Replace(in, `"ghcr.io/org/data:1"`, `"ghcr.io/org/data:1@`+digB+`"`, 1)
	if string(res.Data) != want {
		t.Errorf("PinManifest() =\n%s\nwant\n%s", res.Data, want)
	}
	if len(res.Edits) != 1 || len(res.Errors) != 0 {
		t.Fatalf("PinManifest() = %s, want 1 edit", report(res))
	}
	e := res.Edits[0]
	if e.Type != workload.ImageVolume || e.Container != "data" || e.Path != "/spec/template/spec/volumes/1/image/reference" || e.Line != 16 || e.Column != 22 {
		t.Errorf("edit = %+v", e.ImageSite)
	}
	var skipped []string
	for _, s := range res.Skipped {
		skipped = append(skipped, fmt.Sprintf("%s %s %s", s.Type, s.Container, s.Reason))
	}
	if got := strings.Join(skipped, ","); got != "container web already-pinned,imageVolume pinned already-pinned" {
		t.Errorf("skipped = %s", got)
	}
}
