package workload

import (
	"context"
	"slices"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/imgtrust/kubectl-imgtrust/pkg/imageref"
)

// Only the kinds the server serves are listed; one forbidden kind is a
// problem of its own and the others are read; a non-string image is a
// warning with its path, the object's other images kept.
func TestListCustom(t *testing.T) {
	tasks := schema.GroupVersionResource{Group: "tekton.dev", Version: "v1", Resource: "tasks"}
	proms := schema.GroupVersionResource{Group: "monitoring.coreos.com", Version: "v1", Resource: "prometheuses"}
	rollouts := schema.GroupVersionResource{Group: "argoproj.io", Version: "v1alpha1", Resource: "rollouts"}
	mapper := meta.NewDefaultRESTMapper([]schema.GroupVersion{tasks.GroupVersion(), proms.GroupVersion(), rollouts.GroupVersion()})
	mapper.AddSpecific(rollouts.GroupVersion().WithKind("Rollout"), rollouts, rollouts.GroupVersion().WithResource("rollout"), meta.RESTScopeNamespace)
	mapper.AddSpecific(tasks.GroupVersion().WithKind("Task"), tasks, tasks.GroupVersion().WithResource("task"), meta.RESTScopeNamespace)
	mapper.AddSpecific(proms.GroupVersion().WithKind("Prometheus"), proms, proms.GroupVersion().WithResource("prometheus"), meta.RESTScopeNamespace)

	task := mustUnstructured(t, `apiVersion: tekton.dev/v1
kind: Task
metadata: {name: build, namespace: ci, uid: t1}
spec:
  steps:
  - {name: build, image: golang:1.25}
  - {name: broken, image: 42}
`)
	prom := mustUnstructured(t, `apiVersion: monitoring.coreos.com/v1
kind: Prometheus
metadata: {name: k8s, namespace: monitoring}
spec: {image: quay.io/prometheus/prometheus:v3.5.0}
`)
	// Argo Rollouts' published example shape: a pod template at spec.template.
	rollout := mustUnstructured(t, `apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: {name: web, namespace: shop, uid: r1}
spec:
  template:
    spec:
      containers:
      - {name: web, image: argoproj/rollouts-demo:blue}
`)
	client := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), map[schema.GroupVersionResource]string{
		tasks: "TaskList", proms: "PrometheusList", rollouts: "RolloutList",
	}, task, prom, rollout)
	objects, problems, warnings := ListCustom(context.Background(), client, mapper, nil, "")
	if len(problems) != 0 {
		t.Fatalf("problems %v", problems)
	}
	var got []string
	for _, o := range objects {
		for _, c := range o.Spec.Containers {
			got = append(got, o.Resource+"/"+o.Name+" "+c.Name+"="+c.Image)
		}
	}
	slices.Sort(got)
	want := []string{"prometheuses.monitoring.coreos.com/k8s spec.image=quay.io/prometheus/prometheus:v3.5.0", "rollouts.argoproj.io/web web=argoproj/rollouts-demo:blue", "tasks.tekton.dev/build steps/build=golang:1.25"}
	if !slices.Equal(got, want) {
		t.Errorf("images %q, want %q", got, want)
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], "tasks.tekton.dev/build -n ci: /spec/steps/1/image: the image field holds a number") {
		t.Errorf("warnings %q", warnings)
	}
	// Only the served kinds were asked for: three LISTs.
	if n := len(client.Actions()); n != 3 {
		t.Errorf("%d requests, want one LIST per served kind (3): %v", n, client.Actions())
	}

	client.PrependReactor("list", "tasks", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(tasks.GroupResource(), "", nil)
	})
	objects, problems, _ = ListCustom(context.Background(), client, mapper, nil, "")
	if len(problems) != 1 || problems[0].Error() != "cannot list tasks.tekton.dev in all namespaces: forbidden by RBAC" {
		t.Errorf("problems %v, want tasks forbidden", problems)
	}
	if len(objects) != 2 || slices.ContainsFunc(objects, func(o Object) bool { return o.Kind == "Task" }) {
		t.Errorf("objects %+v, want the Prometheus and the Rollout still read", objects)
	}
}

// A Rollout's ReplicaSet and pods roll up into it, as a Deployment's do.
func TestRolloutRollsUp(t *testing.T) {
	rollout, _, err := FromUnstructured(mustUnstructured(t, `apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: {name: web, namespace: shop, uid: r1}
spec:
  template:
    spec:
      containers:
      - {name: web, image: argoproj/rollouts-demo:blue}
`))
	if err != nil {
		t.Fatal(err)
	}
	rs := Object{APIVersion: "apps/v1", Kind: "ReplicaSet", Namespace: "shop", Name: "web-6d4b", UID: "rs1",
		Owner: controller("Rollout", "web", "r1"), Spec: specOf("ReplicaSet", "web=argoproj/rollouts-demo:blue")}
	pod := Object{APIVersion: "v1", Kind: "Pod", Namespace: "shop", Name: "web-6d4b-x", UID: "p1",
		Owner: controller("ReplicaSet", "web-6d4b", "rs1"), Spec: specOf("Pod", "web=argoproj/rollouts-demo:blue"),
		Running: map[ContainerKey]imageref.RunningImage{{Type: Container, Name: "web"}: runningManifest("argoproj/rollouts-demo", digestA)}}
	ws := Rollup([]Object{rollout, rs, pod}, RollupOptions{})
	if len(ws) != 1 || ws[0].Kind != "Rollout" || ws[0].Pods != 1 || len(ws[0].Containers[0].Running) != 1 {
		t.Fatalf("workloads %+v, want the Rollout with its pod's running image", ws)
	}
}
