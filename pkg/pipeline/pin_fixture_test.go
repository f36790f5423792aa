package pipeline

import (
	"context"
	"testing"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"

	"github.com/imgtrust/kubectl-imgtrust/pkg/imageref"
	"github.com/imgtrust/kubectl-imgtrust/pkg/workload"
)

// What the tests of Pin run against: Deployments whose pods run a known
// digest, on a fake dynamic client.

const testDigest = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

var deploymentsGVR = schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}

// namedDeployment is Deployment name in shop at resourceVersion 7, with
// one container "app" running image.
func namedDeployment(t *testing.T, name, image string) *unstructured.Unstructured {
	t.Helper()
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apps/v1",
		"kind":       "Deployment",
		"metadata":   map[string]any{"name": name, "namespace": "shop", "resourceVersion": "7"},
		"spec": map[string]any{"template": map[string]any{"spec": map[string]any{
			"containers": []any{map[string]any{"name": "app", "image": image}},
		}}},
	}}
}

// fakeCluster is a pinBackend of fixed workloads and a fake dynamic client.
type fakeCluster struct {
	workloads []workload.Workload
	dyn       dynamic.Interface
}

func (f fakeCluster) Discover(context.Context) (*workload.Discovery, error) {
	return &workload.Discovery{Workloads: f.workloads}, nil
}

func (f fakeCluster) Dynamic() (dynamic.Interface, meta.RESTMapper, error) {
	mapper := meta.NewDefaultRESTMapper([]schema.GroupVersion{{Group: "apps", Version: "v1"}})
	mapper.Add(schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}, meta.RESTScopeNamespace)
	return f.dyn, mapper, nil
}

func (f fakeCluster) Credentials(context.Context, *workload.Discovery) (*CredentialPlan, []string, error) {
	return NewCredentialPlan(nil), nil, nil
}

// runningDeployments are Deployments in shop, each running image at
// testDigest in one pod, as workloads and as the fake server's objects.
func runningDeployments(t *testing.T, image string, names ...string) ([]workload.Workload, []runtime.Object) {
	t.Helper()
	var objs []runtime.Object
	var workloads []workload.Workload
	for _, name := range names {
		u := namedDeployment(t, name, image)
		objs = append(objs, u)
		workloads = append(workloads, runningWorkload(t, u))
	}
	return workloads, objs
}

// runningWorkload is u with one pod running testDigest in every container.
func runningWorkload(t *testing.T, u *unstructured.Unstructured) workload.Workload {
	t.Helper()
	obj, ok, err := workload.FromUnstructured(u)
	if err != nil || !ok {
		t.Fatalf("FromUnstructured: ok=%v err=%v", ok, err)
	}
	running := []imageref.RunningImage{{ImageID: "reg.example.com/app@" + testDigest, Digest: testDigest, Kind: imageref.KindManifest}}
	w := workload.Workload{Object: obj, Pods: 1, Containers: make([]workload.Usage, len(obj.Spec.Containers))}
	for i, c := range obj.Spec.Containers {
		w.Containers[i] = workload.Usage{ContainerSpec: c, Running: running}
	}
	return w
}
