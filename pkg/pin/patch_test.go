package pin

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	jsonpatch "gopkg.in/evanphx/json-patch.v4"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/strategicpatch"

	"github.com/imgtrust/kubectl-imgtrust/pkg/manifest"
	"github.com/imgtrust/kubectl-imgtrust/pkg/workload"
)

// patchKinds is every built-in kind with its pod spec location, and the
// typed object strategic merge needs for its merge keys.
var patchKinds = []struct {
	apiVersion, kind string
	spec             string // JSON pointer of the pod spec
	typed            any
}{
	{"v1", "Pod", "/spec", &corev1.Pod{}},
	{"apps/v1", "Deployment", "/spec/template/spec", &appsv1.Deployment{}},
	{"apps/v1", "StatefulSet", "/spec/template/spec", &appsv1.StatefulSet{}},
	{"apps/v1", "DaemonSet", "/spec/template/spec", &appsv1.DaemonSet{}},
	{"apps/v1", "ReplicaSet", "/spec/template/spec", &appsv1.ReplicaSet{}},
	{"v1", "ReplicationController", "/spec/template/spec", &corev1.ReplicationController{}},
	{"batch/v1", "Job", "/spec/template/spec", &batchv1.Job{}},
	{"batch/v1", "CronJob", "/spec/jobTemplate/spec/template/spec", &batchv1.CronJob{}},
}

// liveObject builds an unstructured object of the kind with two containers
// and an init container at spec.
func liveObject(apiVersion, kind, spec string) map[string]any {
	return objectWithImages(apiVersion, kind, spec, "ghcr.io/org/migrate:v3", "busybox")
}

// wantPinned is liveObject after kindChanges, built by hand.
func wantPinned(apiVersion, kind, spec string) map[string]any {
	return objectWithImages(apiVersion, kind, spec, "ghcr.io/org/migrate:v3@"+digA, "busybox@"+digB)
}

func objectWithImages(apiVersion, kind, spec, migrate, sidecar string) map[string]any {
	podSpec := map[string]any{
		"initContainers": []any{map[string]any{"name": "migrate", "image": migrate}},
		"containers": []any{
			map[string]any{"name": "web", "image": "nginx:1.25", "ports": []any{map[string]any{"containerPort": int64(80)}}},
			map[string]any{"name": "sidecar", "image": sidecar},
		},
	}
	tokens, _ := manifest.SplitPointer(spec)
	var node any = podSpec
	for i := len(tokens) - 1; i >= 0; i-- {
		node = map[string]any{tokens[i]: node}
	}
	obj := node.(map[string]any)
	obj["apiVersion"] = apiVersion
	obj["kind"] = kind
	obj["metadata"] = map[string]any{"name": "x", "namespace": "ns", "resourceVersion": "42"}
	return obj
}

func kindChanges(spec string) []Change {
	return []Change{
		{Container: workload.ContainerSpec{Name: "migrate", Type: workload.InitContainer, Path: spec + "/initContainers/0/image"},
			Old: "ghcr.io/org/migrate:v3", New: "ghcr.io/org/migrate:v3@" + digA, Digest: digA, Source: SourceRunning},
		{Container: workload.ContainerSpec{Name: "sidecar", Type: workload.Container, Path: spec + "/containers/1/image"},
			Old: "busybox", New: "busybox@" + digB, Digest: digB, Source: SourceRegistry},
	}
}

func TestStrategicMergePatchEveryKind(t *testing.T) {
	for _, k := range patchKinds {
		t.Run(k.kind, func(t *testing.T) {
			obj := workload.Object{APIVersion: k.apiVersion, Kind: k.kind, Name: "x", ResourceVersion: "42"}
			patch, err := StrategicMergePatch(obj, kindChanges(k.spec))
			if err != nil {
				t.Fatalf("StrategicMergePatch() error: %v", err)
			}
			// The nesting is the pod spec's, and only names and images are sent.
			wantPrefix := `{"metadata":{"resourceVersion":"42"},"spec":`
			if !strings.HasPrefix(string(patch), wantPrefix) || strings.Count(string(patch), `"image"`) != 2 {
				t.Errorf("patch = %s, want it to start with %s and set 2 images", short(string(patch)), wantPrefix)
			}
			// Apply it as the API server would, with the kind's merge keys.
			original, _ := json.Marshal(liveObject(k.apiVersion, k.kind, k.spec))
			merged, err := strategicpatch.StrategicMergePatch(original, patch, k.typed)
			if err != nil {
				t.Fatalf("applying the patch: %v", err)
			}
			assertJSONEqual(t, merged, wantPinned(k.apiVersion, k.kind, k.spec))
		})
	}
}

func TestStrategicMergePatchShape(t *testing.T) {
	changes := []Change{{
		Container: workload.ContainerSpec{Name: "web", Type: workload.Container, Path: "/spec/template/spec/containers/0/image"},
		Old:       "nginx:1.25", New: "nginx:1.25@" + digA,
	}}
	got, err := StrategicMergePatch(workload.Object{Kind: "Deployment", Name: "web"}, changes)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"spec":{"template":{"spec":{"containers":[{"image":"nginx:1.25@<A>","name":"web"}]}}}}`
	if short(string(got)) != want {
		t.Errorf("StrategicMergePatch() = %s\nwant %s", short(string(got)), want)
	}
}

func TestJSONPatchEveryKind(t *testing.T) {
	for _, k := range append(patchKinds, struct {
		apiVersion, kind string
		spec             string
		typed            any
	}{"example.com/v1", "Rollout", "/spec/template/spec", nil}) {
		t.Run(k.kind, func(t *testing.T) {
			obj := workload.Object{APIVersion: k.apiVersion, Kind: k.kind, Name: "x", ResourceVersion: "42"}
			patch, err := JSONPatch(obj, kindChanges(k.spec))
			if err != nil {
				t.Fatalf("JSONPatch() error: %v", err)
			}
			var ops []map[string]string
			if err := json.Unmarshal(patch, &ops); err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, op := range ops {
				got = append(got, op["op"]+" "+op["path"])
			}
			want := fmt.Sprintf("[test /metadata/resourceVersion test %[1]s/initContainers/0/image replace %[1]s/initContainers/0/image test %[1]s/containers/1/image replace %[1]s/containers/1/image]", k.spec)
			if fmt.Sprint(got) != want {
				t.Errorf("ops = %v\nwant %s", got, want)
			}
			original, _ := json.Marshal(liveObject(k.apiVersion, k.kind, k.spec))
			applied := applyJSONPatch(t, original, patch)
			assertJSONEqual(t, applied, wantPinned(k.apiVersion, k.kind, k.spec))
		})
	}
}

func TestJSONPatchFailsAtomically(t *testing.T) {
	spec := "/spec/template/spec"
	tests := []struct {
		name   string
		mutate func(obj map[string]any)
	}{
		{"resourceVersion moved on", func(obj map[string]any) {
			obj["metadata"].(map[string]any)["resourceVersion"] = "43"
		}},
		{"second image changed meanwhile", func(obj map[string]any) {
			c := obj["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)["containers"].([]any)
			c[1].(map[string]any)["image"] = "busybox:1.37"
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			live := liveObject("apps/v1", "Deployment", spec)
			tt.mutate(live)
			original, _ := json.Marshal(live)
			patch, err := JSONPatch(workload.Object{Kind: "Deployment", Name: "x", ResourceVersion: "42"}, kindChanges(spec))
			if err != nil {
				t.Fatal(err)
			}
			p, err := jsonpatch.DecodePatch(patch)
			if err != nil {
				t.Fatal(err)
			}
			if out, err := p.Apply(original); err == nil {
				t.Errorf("patch applied to a changed object: %s", short(string(out)))
			}
		})
	}
}

func TestPatchErrors(t *testing.T) {
	obj := workload.Object{Kind: "Pod", Name: "p"}
	good := Change{Container: workload.ContainerSpec{Name: "app", Type: workload.Container, Path: "/spec/containers/0/image"}, Old: "nginx", New: "nginx@" + digA}
	with := func(edit func(c *Change)) []Change {
		c := good
		edit(&c)
		return []Change{c}
	}
	tests := []struct {
		name    string
		changes []Change
		jsonErr bool // JSONPatch fails too (it needs no names)
	}{
		{"nothing to do", nil, true},
		{"ephemeral container", with(func(c *Change) { c.Container.Path = "/spec/ephemeralContainers/0/image" }), true},
		{"not an image path", with(func(c *Change) { c.Container.Path = "/spec/containers/0/name" }), true},
		{"no list index", with(func(c *Change) { c.Container.Path = "/spec/containers/x/image" }), true},
		{"relative path", with(func(c *Change) { c.Container.Path = "spec/containers/0/image" }), true},
		{"no new image", with(func(c *Change) { c.New = "" }), true},
		{"twice", []Change{good, good}, true},
		{"no container name", with(func(c *Change) { c.Container.Name = "" }), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if p, err := StrategicMergePatch(obj, tt.changes); err == nil {
				t.Errorf("StrategicMergePatch() = %s, want an error", p)
			}
			if p, err := JSONPatch(obj, tt.changes); (err != nil) != tt.jsonErr {
				t.Errorf("JSONPatch() = %s, %v; want error %v", p, err, tt.jsonErr)
			}
		})
	}
}

func TestStrategicMergeSupported(t *testing.T) {
	tests := []struct {
		apiVersion, kind string
		want             bool
	}{
		{"apps/v1", "Deployment", true},
		{"batch/v1", "CronJob", true},
		{"v1", "Pod", true},
		{"argoproj.io/v1alpha1", "Rollout", false},
		{"apps/v1", "Rollout", false},
		{"not/a/version", "Pod", false},
	}
	for _, tt := range tests {
		if got := StrategicMergeSupported(tt.apiVersion, tt.kind); got != tt.want {
			t.Errorf("StrategicMergeSupported(%q, %q) = %v, want %v", tt.apiVersion, tt.kind, got, tt.want)
		}
	}
}

func applyJSONPatch(t *testing.T, doc, patch []byte) []byte {
	t.Helper()
	p, err := jsonpatch.DecodePatch(patch)
	if err != nil {
		t.Fatalf("decoding the JSON patch: %v", err)
	}
	out, err := p.Apply(doc)
	if err != nil {
		t.Fatalf("applying the JSON patch: %v", err)
	}
	return out
}

func assertJSONEqual(t *testing.T, got []byte, want map[string]any) {
	t.Helper()
	wantJSON, _ := json.Marshal(want)
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatal(err)
	}
	_ = json.Unmarshal(wantJSON, &w)
	gotNorm, _ := json.Marshal(g)
	wantNorm, _ := json.Marshal(w)
	if string(gotNorm) != string(wantNorm) {
		t.Errorf("patched object:\n got %s\nwant %s", short(string(gotNorm)), short(string(wantNorm)))
	}
}
