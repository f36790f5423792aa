package workload

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/runtime/schema"
)

// image is one found image as the tests compare it.
type image struct {
	object, name, image, path string
	line                      int
}

// imagesOf reads testdata/crs/<file> as audit -f does.
func imagesOf(t *testing.T, cat *Catalog, file string) ([]image, *Discovery) {
	t.Helper()
	d, err := discoverFiles(Scope{Filenames: []string{filepath.Join("testdata", "crs", file)}, ImagePaths: cat})
	if err != nil {
		t.Fatal(err)
	}
	var out []image
	for _, w := range d.Workloads {
		for _, c := range w.Containers {
			if c.Type != ResourceImage {
				t.Errorf("%s %s: type %q, want %q", w.Kind, c.Name, c.Type, ResourceImage)
			}
			out = append(out, image{w.Kind + "/" + w.Name, c.Name, c.Image, c.Path, c.Line})
		}
	}
	return out, d
}

func TestCatalogTektonPublishedExamples(t *testing.T) {
	// tektoncd/pipeline v1.0.0 examples (testdata/crs/README.md).
	got, d := imagesOf(t, nil, "tekton-taskrun-dind-sidecar.yaml")
	want := []image{
		{"TaskRun/dind-sidecar-*", "steps/client", "docker", "/spec/taskSpec/steps/0/image", 8},
		{"TaskRun/dind-sidecar-*", "sidecars/server", "docker@sha256:74e78208fc18da48ddf8b569abe21563730845c312130bd0f0b059746a7e10f5", "/spec/taskSpec/sidecars/0/image", 43},
	}
	if !slices.Equal(got, want) {
		t.Errorf("TaskRun images:\n got %+v\nwant %+v", got, want)
	}
	if len(d.Skipped) != 0 || len(d.InputErrors) != 0 {
		t.Errorf("skipped %v, input errors %v; want none", d.Skipped, d.InputErrors)
	}

	got, _ = imagesOf(t, nil, "tekton-pipelinerun-embedded.yaml")
	if len(got) != 3 {
		t.Fatalf("PipelineRun images: %+v, want 3", got)
	}
	for i, g := range got {
		if g.image != "mirror.gcr.io/ubuntu" || g.path != "/spec/pipelineSpec/tasks/0/taskSpec/steps/0/image" || !strings.HasPrefix(g.name, "tasks/echo-") || !strings.HasSuffix(g.name, "/steps/echo") {
			t.Errorf("PipelineRun image %d = %+v", i, g)
		}
	}
	// By name: good-morning, greetings, message.
	if got[0].line != 15 || got[1].line != 73 || got[2].line != 41 {
		t.Errorf("lines %d, %d, %d; want 15, 73, 41", got[0].line, got[1].line, got[2].line)
	}

	// A Task, a Pipeline with finally tasks, and a PipelineRun that only
	// references the pipeline (no image of its own).
	got, d = imagesOf(t, nil, "tekton-pipelinerun-final.yaml")
	byObject := map[string][]string{}
	for _, g := range got {
		byObject[g.object] = append(byObject[g.object], g.name+"="+g.image)
	}
	wantBy := map[string][]string{
		"Task/git-clone-from-catalog":      {"steps/clone=gcr.io/tekton-releases/github.com/tektoncd/pipeline/cmd/git-init:latest"},
		"Task/cleanup-workspace":           {"steps/check-application-dir-has-source=mirror.gcr.io/ubuntu", "steps/cleanup-workspace=mirror.gcr.io/ubuntu", "steps/verify-application-dir-has-gone=mirror.gcr.io/ubuntu"},
		"Pipeline/clone-cleanup-workspace": {"finally/check-git-commit/steps/check-commit-initialized=mirror.gcr.io/alpine"},
	}
	for obj, want := range wantBy {
		if !slices.Equal(byObject[obj], want) {
			t.Errorf("%s: %v, want %v", obj, byObject[obj], want)
		}
	}
	if len(d.Skipped) != 0 {
		t.Errorf("skipped %v: Tekton kinds are in the catalogue", d.Skipped)
	}
}

func TestCatalogPrometheusOperatorPublishedExamples(t *testing.T) {
	// prometheus-operator v0.85.0 example/thanos (testdata/crs/README.md).
	got, _ := imagesOf(t, nil, "prometheus-operator-thanos-ruler.yaml")
	want := []image{{"ThanosRuler/thanos-ruler", "spec.image", "quay.io/thanos/thanos:v0.38.0", "/spec/image", 9}}
	if !slices.Equal(got, want) {
		t.Errorf("ThanosRuler: %+v, want %+v", got, want)
	}
	// Its Prometheus names no image (the operator's default runs): it is
	// read, not skipped, and reports none.
	got, d := imagesOf(t, nil, "prometheus-operator-prometheus.yaml")
	if len(got) != 0 || len(d.Skipped) != 0 || len(d.Workloads) != 1 || d.Workloads[0].Kind != "Prometheus" {
		t.Errorf("Prometheus: images %+v, skipped %v, workloads %d", got, d.Skipped, len(d.Workloads))
	}
}

func TestCatalogArgoKedaKnative(t *testing.T) {
	got, _ := imagesOf(t, nil, "argo-workflows.yaml")
	var names []string
	for _, g := range got {
		names = append(names, g.object+" "+g.name+"="+g.image)
	}
	want := []string{
		"CronWorkflow/hello templates/main/container=busybox:1.36",
		"Workflow/steps-* templates/main/initContainers/fetch=alpine/git:v2.45.2",
		"Workflow/steps-* templates/main/container=docker/whalesay:latest",
		"Workflow/steps-* templates/gen/script=python:3.12-alpine",
		"Workflow/steps-* templates/set/containers/a=argoproj/argosay:v2",
		"Workflow/steps-* templates/set/containers/b=argoproj/argosay:v2",
		"Workflow/steps-* templates/main/sidecars/nginx=nginx:1.27",
	}
	if !slices.Equal(names, want) {
		t.Errorf("Argo:\n got %q\nwant %q", names, want)
	}

	_, d := imagesOf(t, nil, "keda-scaledjob.yaml")
	if len(d.Workloads) != 1 || len(d.Workloads[0].Containers) != 1 {
		t.Fatalf("ScaledJob: %+v", d.Workloads)
	}
	w := d.Workloads[0]
	if c := w.Containers[0]; c.Image != "ghcr.io/example/consumer:1.0" || c.Path != "/spec/jobTargetRef/template/spec/containers/0/image" || c.Name != "containers/consumer" {
		t.Errorf("ScaledJob container %+v", c)
	}
	if !slices.Equal(w.Spec.PullSecrets, []string{"regcred"}) {
		t.Errorf("ScaledJob pull secrets %v, want [regcred]", w.Spec.PullSecrets)
	}

	got, _ = imagesOf(t, nil, "knative-caching-image.yaml")
	if len(got) != 1 || got[0].image != "gcr.io/knative-releases/knative.dev/serving/cmd/queue:v1.15.0" || got[0].path != "/spec/image" {
		t.Errorf("caching Image: %+v", got)
	}
}

func TestBuiltinCatalogKinds(t *testing.T) {
	cat := BuiltinCatalog()
	for _, gk := range []schema.GroupKind{
		{Group: "tekton.dev", Kind: "Task"}, {Group: "tekton.dev", Kind: "ClusterTask"}, {Group: "tekton.dev", Kind: "TaskRun"},
		{Group: "tekton.dev", Kind: "Pipeline"}, {Group: "tekton.dev", Kind: "PipelineRun"},
		{Group: "monitoring.coreos.com", Kind: "Prometheus"}, {Group: "monitoring.coreos.com", Kind: "PrometheusAgent"},
		{Group: "monitoring.coreos.com", Kind: "Alertmanager"}, {Group: "monitoring.coreos.com", Kind: "ThanosRuler"},
		{Group: "caching.internal.knative.dev", Kind: "Image"}, {Group: "keda.sh", Kind: "ScaledJob"},
		{Group: "argoproj.io", Kind: "Workflow"}, {Group: "argoproj.io", Kind: "WorkflowTemplate"},
		{Group: "argoproj.io", Kind: "ClusterWorkflowTemplate"}, {Group: "argoproj.io", Kind: "CronWorkflow"},
	} {
		if !cat.Knows(gk.Group, gk.Kind) {
			t.Errorf("the built-in catalogue does not know %s", gk)
		}
	}
	// Argo Rollouts' Rollout has a pod template: read as one, not by rules.
	if cat.Knows("argoproj.io", "Rollout") {
		t.Errorf("Rollout is in the catalogue; its spec.template is read as a pod template")
	}
}

func TestImagePathsFileAddsKinds(t *testing.T) {
	file := filepath.Join(t.TempDir(), "paths.yaml")
	writeFile(t, file, `apiVersion: imgtrust.dev/v1alpha1
kind: ImagePaths
rules:
- group: example.com
  kinds: [Runner]
  containers: ["spec.pool[*].worker"]
  images: [spec.base]
- group: tekton.dev
  kinds: [Task]
  images: [spec.extra]
`)
	cat, err := LoadImagePaths(file)
	if err != nil {
		t.Fatal(err)
	}
	obj, ok, err := cat.FromUnstructured(mustUnstructured(t, `apiVersion: example.com/v1
kind: Runner
metadata: {name: r, namespace: ci}
spec:
  base: alpine:3.20
  pool:
  - name: big
    worker: {image: "busybox:1.36", imagePullPolicy: Always}
  - worker: {image: 42}
`))
	if !ok {
		t.Fatalf("ok = false")
	}
	var fields *FieldErrors
	if !errors.As(err, &fields) || len(fields.Errs) != 1 || fields.Errs[0].Path != "/spec/pool/1/worker/image" {
		t.Fatalf("err = %v, want one field error at /spec/pool/1/worker/image", err)
	}
	var got []string
	for _, c := range obj.Spec.Containers {
		got = append(got, c.Name+"="+c.Image+"@"+c.Path+":"+string(c.PullPolicy))
	}
	want := []string{"pool/big/worker=busybox:1.36@/spec/pool/0/worker/image:Always", "spec.base=alpine:3.20@/spec/base:"}
	if !slices.Equal(got, want) {
		t.Errorf("images %q, want %q", got, want)
	}
	// Added to a built-in kind: its steps and the new field.
	task, _, err := cat.FromUnstructured(mustUnstructured(t, `apiVersion: tekton.dev/v1
kind: Task
metadata: {name: t}
spec:
  extra: ghcr.io/x/y:1
  steps: [{name: s, image: alpine}]
`))
	if err != nil || len(task.Spec.Containers) != 2 {
		t.Errorf("Task with an added path: %+v, %v", task.Spec, err)
	}
	// The built-in catalogue itself is unchanged.
	if BuiltinCatalog().Knows("example.com", "Runner") {
		t.Errorf("loading a file changed the built-in catalogue")
	}
}

func TestImagePathsFileErrors(t *testing.T) {
	for _, tt := range []struct{ name, doc, want string }{
		{"kind", "apiVersion: imgtrust.dev/v1alpha1\nkind: Paths\nrules: []\n", `want apiVersion imgtrust.dev/v1alpha1, kind ImagePaths`},
		{"unknown field", "apiVersion: imgtrust.dev/v1alpha1\nkind: ImagePaths\nrules:\n- group: a.io\n  kind: [X]\n  images: [spec.image]\n", `rule 0: json: unknown field "kind"`},
		{"path", "apiVersion: imgtrust.dev/v1alpha1\nkind: ImagePaths\nrules:\n- group: a.io\n  kinds: [X]\n  images: [spec.image]\n- group: b.io\n  kinds: [Runner]\n  containers:\n  - spec.steps[0]\n", `rule 1: containers[0]: path "spec.steps[0]"`},
		{"group", "apiVersion: imgtrust.dev/v1alpha1\nkind: ImagePaths\nrules:\n- group: \"\"\n  kinds: [Pod]\n  images: [spec.image]\n", `rule 0: group: "" is not an API group`},
		{"kinds", "apiVersion: imgtrust.dev/v1alpha1\nkind: ImagePaths\nrules:\n- group: a.io\n  kinds: [task]\n  images: [spec.image]\n", `rule 0: kinds[0]: "task" is not a kind`},
		{"nothing", "apiVersion: imgtrust.dev/v1alpha1\nkind: ImagePaths\nrules:\n- group: a.io\n  kinds: [X]\n", `rule 0: containers: neither containers nor images given`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "paths.yaml")
			writeFile(t, file, tt.doc)
			_, err := LoadImagePaths(file)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), file) || strings.Contains(err.Error(), "\n") {
				t.Errorf("err = %v, want one line naming %s and containing %q", err, file, tt.want)
			}
		})
	}
	if _, err := LoadImagePaths(filepath.Join(t.TempDir(), "missing.yaml")); err == nil || !strings.Contains(err.Error(), "missing.yaml") {
		t.Errorf("missing file: err = %v", err)
	}
}

func TestRollupKeepsOperatorObjectsOfCustomResources(t *testing.T) {
	prom := Object{APIVersion: "monitoring.coreos.com/v1", Kind: "Prometheus", Namespace: "monitoring", Name: "k8s", UID: "p", FromRules: true,
		Spec: &PodSpec{Containers: []ContainerSpec{{Name: "spec.image", Type: ResourceImage, Image: "quay.io/prometheus/prometheus:v3.5.0", Path: "/spec/image"}}}}
	sts := Object{APIVersion: "apps/v1", Kind: "StatefulSet", Namespace: "monitoring", Name: "prometheus-k8s", UID: "s",
		Owner: controller("Prometheus", "k8s", "p"), Spec: specOf("StatefulSet", "prometheus=quay.io/prometheus/prometheus:v3.5.0", "config-reloader=quay.io/prometheus-operator/prometheus-config-reloader:v0.85.0")}
	ws := Rollup([]Object{prom, sts}, RollupOptions{})
	if len(ws) != 2 {
		t.Fatalf("%d workloads, want the Prometheus and its StatefulSet (whose config-reloader it does not name)", len(ws))
	}
}

func writeFile(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}
