package pin

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/imgtrust/kubectl-imgtrust/pkg/workload"
)

// Tekton's published TaskRun example (pkg/workload/testdata/crs/README.md):
// its step and sidecar images are pinned in place, the rest byte for byte.
func TestPinManifestTektonExample(t *testing.T) {
	data, err := os.ReadFile("../workload/testdata/crs/tekton-taskrun-dind-sidecar.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var asked []string
	res, err := PinManifest(data, func(image string) (string, error) {
		asked = append(asked, image)
		return image + "@" + digA, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Edits) != 1 || res.Edits[0].Path != "/spec/taskSpec/steps/0/image" || res.Edits[0].Container != "steps/client" ||
		res.Edits[0].Type != workload.ResourceImage || res.Edits[0].Line != 8 {
		t.Fatalf("edits %+v, want the step's image on line 8", res.Edits)
	}
	if len(res.Skipped) != 1 || res.Skipped[0].Reason != ReasonAlreadyPinned || res.Skipped[0].Container != "sidecars/server" {
		t.Errorf("skipped %+v, want the sidecar, already pinned", res.Skipped)
	}
	want := strings.Replace(string(data), "    - image: docker\n", "    - image: docker@"+digA+"\n", 1)
	if string(res.Data) != want {
		t.Errorf("rewritten file differs beyond the step's image:\n%s", UnifiedDiff("want", "got", want, string(res.Data)))
	}
	if strings.Join(asked, ",") != "docker" {
		t.Errorf("resolver asked for %q, want docker only", asked)
	}
}

// A rule from --image-paths reaches a field of a kind the catalogue does
// not know; a field that holds no string is skipped with its path.
func TestPinManifestImagePathsRule(t *testing.T) {
	file := t.TempDir() + "/paths.yaml"
	if err := os.WriteFile(file, []byte("apiVersion: imgtrust.dev/v1alpha1\nkind: ImagePaths\nrules:\n- group: example.com\n  kinds: [Runner]\n  images: [spec.base, spec.other]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cat, err := workload.LoadImagePaths(file)
	if err != nil {
		t.Fatal(err)
	}
	doc := "apiVersion: example.com/v1\nkind: Runner\nmetadata: {name: r}\nspec:\n  base: 'alpine:3.20' # keep\n  other: 7\n"
	resolve := func(image string) (string, error) { return image + "@" + digB, nil }
	res, err := PinManifestCatalog(cat)([]byte(doc), resolve)
	if err != nil {
		t.Fatal(err)
	}
	want := "apiVersion: example.com/v1\nkind: Runner\nmetadata: {name: r}\nspec:\n  base: 'alpine:3.20@" + digB + "' # keep\n  other: 7\n"
	if string(res.Data) != want {
		t.Errorf("got\n%s\nwant\n%s", res.Data, want)
	}
	if len(res.Skipped) != 1 || res.Skipped[0].Path != "/spec/other" || res.Skipped[0].Reason != ReasonInvalidReference {
		t.Errorf("skipped %+v, want /spec/other as not a string", res.Skipped)
	}
	// Without the rule the kind holds no image.
	res, err = PinManifest([]byte(doc), resolve)
	if err != nil || len(res.Edits) != 0 {
		t.Errorf("without --image-paths: edits %+v, err %v", res.Edits, err)
	}
}

// A custom resource's image is patched by a JSON patch at its pointer,
// behind the resourceVersion test.
func TestJSONPatchResourceImage(t *testing.T) {
	obj := workload.Object{APIVersion: "tekton.dev/v1", Kind: "Task", Name: "build", ResourceVersion: "42"}
	c := workload.ContainerSpec{Name: "steps/build", Type: workload.ResourceImage, Image: "golang:1.25", Path: "/spec/steps/0/image"}
	changes, skipped := Plan(obj, []workload.Usage{{ContainerSpec: c}}, RegistryChooser(func(workload.Usage) (string, error) { return digA, nil }), false)
	if len(changes) != 1 || len(skipped) != 0 {
		t.Fatalf("changes %+v skipped %+v", changes, skipped)
	}
	p, err := JSONPatch(obj, changes)
	if err != nil {
		t.Fatal(err)
	}
	var ops []map[string]string
	if err := json.Unmarshal(p, &ops); err != nil {
		t.Fatal(err)
	}
	got := short(string(p))
	want := `[{"op":"test","path":"/metadata/resourceVersion","value":"42"},{"op":"test","path":"/spec/steps/0/image","value":"golang:1.25"},{"op":"replace","path":"/spec/steps/0/image","value":"golang:1.25@<A>"}]`
	if got != want {
		t.Errorf("patch %s\nwant %s", got, want)
	}
	// What pods run is never a custom resource image's digest.
	_, refused := Plan(obj, []workload.Usage{{ContainerSpec: c}}, RunningChooser(), false)
	if len(refused) != 1 || refused[0].Reason != ReasonNoRunningPods || !strings.Contains(refused[0].Message, "--source=registry") {
		t.Errorf("running source: %+v", refused)
	}
}
