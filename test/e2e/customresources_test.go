//go:build e2e

package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/imgtrust/kubectl-imgtrust/pkg/audit"
)

// The published Tekton (tektoncd/pipeline v1.0.0, config/300-crds) and
// prometheus-operator (v0.85.0, example/prometheus-operator-crd) CRDs, as
// hack/crds.sh fetches them from their modules.
var customResourceCRDs = []struct{ file, crd string }{
	{"tekton-tasks.yaml", "tasks.tekton.dev"},
	{"tekton-taskruns.yaml", "taskruns.tekton.dev"},
	{"tekton-pipelines.yaml", "pipelines.tekton.dev"},
	{"tekton-pipelineruns.yaml", "pipelineruns.tekton.dev"},
	{"prometheus-operator-prometheuses.yaml", "prometheuses.monitoring.coreos.com"},
	{"prometheus-operator-thanosrulers.yaml", "thanosrulers.monitoring.coreos.com"},
}

func TestCustomResources(t *testing.T) {
	crds := fetchEngineCRDs(t)
	for _, c := range customResourceCRDs {
		// Without the conversion webhook (no Tekton controller runs here):
		// objects are created at the storage version, v1.
		installEngineCRD(t, filepath.Join(crds, c.file), c.crd)
	}
	ns := newNamespace(t, "crs")
	pub := stack.PublicRegistry + "/" + ns
	build, test, docker := push(t, pub+"/build:1"), push(t, pub+"/test:1"), push(t, pub+"/docker:dind")
	echo := push(t, pub+"/echo:1")
	prom, thanos := push(t, pub+"/prometheus:v3"), push(t, pub+"/thanos:v0.38")
	dir := t.TempDir()

	objects := filepath.Join(dir, "objects.yaml")
	writeFile(t, objects, `apiVersion: tekton.dev/v1
kind: Task
metadata: {name: build, namespace: `+ns+`}
spec:
  steps:
  - name: build
    image: `+build.Ref+`
    script: make
  - name: test
    image: `+test.Ref+`
    script: make test
  sidecars:
  - name: docker
    image: `+docker.Ref+`
---
apiVersion: tekton.dev/v1
kind: PipelineRun
metadata: {name: nightly, namespace: `+ns+`}
spec:
  pipelineSpec:
    tasks:
    - name: greet
      taskSpec:
        steps:
        - name: echo
          image: `+echo.Ref+`
          script: echo hello
---
apiVersion: monitoring.coreos.com/v1
kind: Prometheus
metadata: {name: k8s, namespace: `+ns+`}
spec:
  image: `+prom.Ref+`
---
apiVersion: monitoring.coreos.com/v1
kind: ThanosRuler
metadata: {name: ruler, namespace: `+ns+`}
spec:
  image: `+thanos.Ref+`
  queryEndpoints: [dnssrv+_http._tcp.thanos-query.monitoring.svc.cluster.local]
`)
	// The API server validates each against its published schema (retried
	// while discovery does not list the new kinds yet).
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(500 * time.Millisecond) {
		r := kubectl(t, "create", "-f", objects)
		if r.Code == 0 {
			break
		}
		if !strings.Contains(r.Stderr, "no matches for kind") || time.Now().After(deadline) {
			t.Fatalf("creating the custom resources: %s", r)
		}
		kubectl(t, "delete", "--ignore-not-found", "-f", objects)
	}

	t.Run("audit finds every image with its place", func(t *testing.T) {
		rep, r := auditJSON(t, "-A", "--offline")
		if r.Code != 0 && r.Code != 1 {
			t.Fatalf("audit -A: %s", r)
		}
		for _, want := range []struct{ kind, name, container, image string }{
			{"Task", "build", "steps/build", build.Ref},
			{"Task", "build", "steps/test", test.Ref},
			{"Task", "build", "sidecars/docker", docker.Ref},
			{"PipelineRun", "nightly", "tasks/greet/steps/echo", echo.Ref},
			{"Prometheus", "k8s", "spec.image", prom.Ref},
			{"ThanosRuler", "ruler", "spec.image", thanos.Ref},
		} {
			it := item(t, inNamespace(rep, ns), want.kind, want.name, want.container)
			if it.Image != want.image || it.ContainerType != "image" {
				t.Errorf("%s/%s %s: image %q type %q, want %q", want.kind, want.name, want.container, it.Image, it.ContainerType, want.image)
			}
			if want.kind == "Task" && !strings.Contains(it.Findings[0].Fix, "kubectl imgtrust pin tasks.tekton.dev/build -n "+ns+" --source=registry") {
				t.Errorf("the Task's fix is not a pin that works: %q", it.Findings[0].Fix)
			}
		}
	})

	t.Run("the shipped read-only role reads them; one kind forbidden is a warning", func(t *testing.T) {
		full := asServiceAccount(t, ns, "cr-ro", shippedRole(t, "imgtrust-readonly.yaml", nil), "")
		r := kubectl(t, "imgtrust", "audit", "-n", ns, "--offline", "--kubeconfig", full)
		if (r.Code != 0 && r.Code != 1) || strings.Contains(r.Stderr, "warning:") || !strings.Contains(r.Stdout, "tasks.tekton.dev/build") {
			t.Errorf("as imgtrust-readonly: want the Task audited without warnings, got %s", r)
		}
		less := asServiceAccount(t, ns, "cr-no-tasks", shippedRole(t, "imgtrust-readonly.yaml", dropVerb("tasks", "list")), "")
		r = kubectl(t, "imgtrust", "audit", "-n", ns, "--offline", "--kubeconfig", less)
		if r.Code != 0 && r.Code != 1 {
			t.Errorf("want the rest reported (exit 0 or 1), got %s", r)
		}
		if !warned(r.Stderr, "tasks.tekton.dev", "forbidden") {
			t.Errorf("want a warning naming tasks.tekton.dev as forbidden:\n%s", r)
		}
		if strings.Contains(r.Stdout, "tasks.tekton.dev/build") || !strings.Contains(r.Stdout, "thanosrulers.monitoring.coreos.com/ruler") {
			t.Errorf("want the Task left out and the ThanosRuler reported:\n%s", r)
		}
	})

	t.Run("audit table", func(t *testing.T) {
		r := kubectl(t, "imgtrust", "audit", "-n", ns, "--offline")
		if !strings.Contains(r.Stdout, "task.tekton.dev/build") && !strings.Contains(r.Stdout, "tasks.tekton.dev/build") {
			t.Errorf("the table does not name the Task by its resource:\n%s", r)
		}
		t.Logf("%s", r)
	})

	t.Run("resolve a Task's images", func(t *testing.T) {
		r := kubectl(t, "imgtrust", "resolve", "tasks.tekton.dev/build", "-n", ns)
		t.Logf("%s", r)
		mustSucceed(t, r, "resolve a Task")
		if !strings.Contains(r.Stderr, "3 images resolved, 0 failed") || strings.Contains(r.Stderr, " 0 registry requests") {
			t.Errorf("want the three tags resolved at the registry:\n%s", r)
		}
		for _, p := range []string{build.Digest, test.Digest, docker.Digest} {
			if !strings.Contains(r.Stdout, p) {
				t.Errorf("resolve does not give %s:\n%s", p, r)
			}
		}
	})

	t.Run("pin a Task live", func(t *testing.T) {
		r := kubectl(t, "imgtrust", "pin", "tasks.tekton.dev/build", "-n", ns, "--source=registry", "--apply")
		mustSucceed(t, r, "pin task --apply")
		t.Logf("%s", r)
		got := kubectl(t, "get", "tasks.tekton.dev", "build", "-n", ns, "-o", "jsonpath={.spec.steps[*].image} {.spec.sidecars[*].image}")
		want := build.Pinned() + " " + test.Pinned() + " " + docker.Pinned()
		if got.Stdout != want {
			t.Errorf("the Task's images after pin: %q, want %q\n%s", got.Stdout, want, r)
		}
	})

	t.Run("a PipelineRun, which cannot change, is refused", func(t *testing.T) {
		r := kubectl(t, "imgtrust", "pin", "pipelineruns.tekton.dev/nightly", "-n", ns, "--source=registry", "--apply")
		if r.Code != 1 || !strings.Contains(r.Stderr, "a PipelineRun cannot change once it is created: pin the manifest it is created from") {
			t.Errorf("want exit 1 and the reason, got %s", r)
		}
		got := kubectl(t, "get", "pipelineruns.tekton.dev", "nightly", "-n", ns, "-o", "jsonpath={.spec.pipelineSpec.tasks[0].taskSpec.steps[0].image}")
		if got.Stdout != echo.Ref {
			t.Errorf("the refused PipelineRun changed: %q", got.Stdout)
		}
	})

	t.Run("pin -f a Tekton file", func(t *testing.T) {
		file := filepath.Join(dir, "task.yaml")
		original := "# the nightly task\napiVersion: tekton.dev/v1\nkind: Task\nmetadata:\n  name: nightly\nspec:\n  steps:\n    - name: echo   # says hi\n      image: \"" + echo.Ref + "\"\n"
		writeFile(t, file, original)
		mustSucceed(t, kubectl(t, "imgtrust", "pin", "-f", file, "--write"), "pin -f --write")
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if want := strings.Replace(original, echo.Ref, echo.Pinned(), 1); string(data) != want {
			t.Errorf("pinned file:\n%s\nwant:\n%s", data, want)
		}
	})

	t.Run("a StatefulSet its Prometheus controls is refused", func(t *testing.T) {
		uid := kubectl(t, "get", "prometheus.monitoring.coreos.com", "k8s", "-n", ns, "-o", "jsonpath={.metadata.uid}")
		mustSucceed(t, uid, "reading the Prometheus's uid")
		sts := filepath.Join(dir, "sts.yaml")
		writeFile(t, sts, `apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: prometheus-k8s
  namespace: `+ns+`
  ownerReferences:
  - {apiVersion: monitoring.coreos.com/v1, kind: Prometheus, name: k8s, uid: `+uid.Stdout+`, controller: true}
spec:
  selector: {matchLabels: {app: prometheus}}
  template:
    metadata: {labels: {app: prometheus}}
    spec:
      containers:
      - name: prometheus
        image: `+prom.Ref+`
`)
		mustSucceed(t, kubectl(t, "create", "-f", sts), "creating the StatefulSet")
		// The audit names its controller, and its fix pins there.
		rep, _ := auditJSON(t, "-n", ns, "--offline")
		it := item(t, rep, "StatefulSet", "prometheus-k8s", "prometheus")
		if it.ControlledBy != "prometheus.monitoring.coreos.com/k8s" || len(it.Findings) == 0 ||
			!strings.Contains(it.Findings[0].Fix, "kubectl imgtrust pin prometheus.monitoring.coreos.com/k8s -n "+ns+" --source=registry") {
			t.Errorf("the StatefulSet's item: controlledBy %q, findings %+v", it.ControlledBy, it.Findings)
		}
		r := kubectl(t, "imgtrust", "pin", "statefulset/prometheus-k8s", "-n", ns, "--source=registry", "--apply")
		want := "owned by Prometheus " + ns + "/k8s: its operator would revert a patch here; pin the Prometheus resource"
		t.Logf("%s", r)
		if r.Code != 1 || !strings.Contains(r.Stderr, want) {
			t.Errorf("want exit 1 and %q, got %s", want, r)
		}
		got := kubectl(t, "get", "statefulset", "prometheus-k8s", "-n", ns, "-o", "jsonpath={.spec.template.spec.containers[0].image}")
		if got.Stdout != prom.Ref {
			t.Errorf("the refused StatefulSet changed: %q", got.Stdout)
		}
		// What the refusal says to run pins the Prometheus's own field.
		r = kubectl(t, "imgtrust", "pin", "prometheus.monitoring.coreos.com/k8s", "-n", ns, "--source=registry", "--apply")
		mustSucceed(t, r, "pin the Prometheus as the refusal says")
		got = kubectl(t, "get", "prometheus.monitoring.coreos.com", "k8s", "-n", ns, "-o", "jsonpath={.spec.image}")
		if got.Stdout != prom.Pinned() {
			t.Errorf("the Prometheus's image after pin: %q, want %q", got.Stdout, prom.Pinned())
		}
	})

	t.Run("--image-paths adds a field live; one that holds no string is a warning", func(t *testing.T) {
		// Tekton's schema types a step's image as a string; a param's
		// default may be a string or a list, so a rule reading params as
		// images meets both.
		paths := filepath.Join(dir, "params.yaml")
		writeFile(t, paths, "apiVersion: imgtrust.dev/v1alpha1\nkind: ImagePaths\nrules:\n- group: tekton.dev\n  kinds: [Task]\n  images: [\"spec.params[*].default\"]\n")
		odd := filepath.Join(dir, "odd.yaml")
		writeFile(t, odd, "apiVersion: tekton.dev/v1\nkind: Task\nmetadata: {name: odd, namespace: "+ns+"}\nspec:\n  params:\n  - {name: base, default: \""+test.Ref+"\"}\n  - {name: flags, type: array, default: [a, b]}\n  steps:\n  - {name: ok, image: \""+build.Ref+"\"}\n")
		mustSucceed(t, kubectl(t, "create", "-f", odd), "creating a Task with params")
		rep, r := auditJSON(t, "-n", ns, "--offline", "--image-paths", paths)
		t.Logf("%s", r.Stderr)
		if !strings.Contains(r.Stderr, "tasks.tekton.dev/odd -n "+ns+": /spec/params/1/default: the image field holds a list, not a string: skipped") {
			t.Errorf("want a warning naming the object and the field:\n%s", r)
		}
		if it := item(t, rep, "Task", "odd", "params/base/default"); it.Image != test.Ref {
			t.Errorf("the param's image: %q", it.Image)
		}
		item(t, rep, "Task", "odd", "steps/ok")      // the object's other images
		item(t, rep, "Task", "build", "steps/build") // and the rest are audited
	})

	t.Run("a mirror pod is refused with its node", func(t *testing.T) {
		pod := filepath.Join(dir, "mirror.yaml")
		writeFile(t, pod, "apiVersion: v1\nkind: Pod\nmetadata:\n  name: etcd-node-a\n  namespace: "+ns+"\n  annotations: {kubernetes.io/config.mirror: abc, kubernetes.io/config.source: file}\nspec:\n  nodeName: node-a\n  containers:\n  - {name: etcd, image: \""+build.Ref+"\"}\n")
		mustSucceed(t, kubectl(t, "create", "-f", pod), "creating a pod with the mirror annotation")
		r := kubectl(t, "imgtrust", "pin", "pod/etcd-node-a", "-n", ns, "--source=registry", "--apply")
		t.Logf("%s", r)
		if r.Code != 1 || !strings.Contains(r.Stderr, "a mirror pod of a static pod on node node-a") {
			t.Errorf("want exit 1 and the mirror pod's reason, got %s", r)
		}
		got := kubectl(t, "get", "pod", "etcd-node-a", "-n", ns, "-o", "jsonpath={.spec.containers[0].image}")
		if got.Stdout != build.Ref {
			t.Errorf("the mirror pod changed: %q", got.Stdout)
		}
	})

	t.Run("bad --image-paths", func(t *testing.T) {
		bad := filepath.Join(dir, "paths.yaml")
		writeFile(t, bad, "apiVersion: imgtrust.dev/v1alpha1\nkind: ImagePaths\nrules:\n- group: example.com\n  kinds: [Runner]\n  images: [\"spec..image\"]\n")
		r := kubectl(t, "imgtrust", "audit", "-n", ns, "--image-paths", bad)
		if r.Code != 2 || !strings.Contains(r.Stderr, bad+": rule 0: images[0]") || strings.Count(strings.TrimSpace(r.Stderr), "\n") > 0 {
			t.Errorf("want exit 2 and one line naming the file, rule and field, got %s", r)
		}
	})
}

// inNamespace keeps the report's items of one namespace.
func inNamespace(rep audit.Report, ns string) audit.Report {
	var items []audit.Item
	for _, it := range rep.Items {
		if it.Namespace == ns {
			items = append(items, it)
		}
	}
	rep.Items = items
	return rep
}
