package pipeline

import (
	"context"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	"k8s.io/client-go/kubernetes/scheme"

	"github.com/imgtrust/kubectl-imgtrust/pkg/pin"
	"github.com/imgtrust/kubectl-imgtrust/pkg/workload"
)

func TestOwnedRefusal(t *testing.T) {
	yes := true
	owned := func(apiVersion, kind string) workload.Object {
		return workload.Object{APIVersion: "apps/v1", Kind: "StatefulSet", Namespace: "monitoring", Name: "prometheus-k8s",
			Owner: &metav1.OwnerReference{APIVersion: apiVersion, Kind: kind, Name: "k8s", Controller: &yes}}
	}
	for _, tt := range []struct {
		obj  workload.Object
		want string
	}{
		{owned("monitoring.coreos.com/v1", "Prometheus"), "owned by Prometheus monitoring/k8s: its operator would revert a patch here; pin the Prometheus resource (kubectl imgtrust pin prometheus.monitoring.coreos.com/k8s -n monitoring)"},
		{owned("example.com/v1", "Database"), "owned by Database monitoring/k8s (example.com/v1): its controller would revert a patch here"},
		{owned("apps/v1", "Deployment"), ""},
		{workload.Object{APIVersion: "tekton.dev/v1", Kind: "TaskRun", Name: "build-1"}, "a TaskRun cannot change once it is created: pin the manifest it is created from"},
		{workload.Object{APIVersion: "tekton.dev/v1", Kind: "Task", Name: "build"}, ""},
		{workload.Object{Kind: "Deployment", Name: "web"}, ""},
		{workload.Object{APIVersion: "v1", Kind: "Pod", Name: "etcd-node1", Namespace: "kube-system",
			Annotations: map[string]string{"kubernetes.io/config.mirror": "abc"},
			Owner:       &metav1.OwnerReference{APIVersion: "v1", Kind: "Node", Name: "node1", Controller: &yes},
			Spec:        &workload.PodSpec{NodeName: "node1"}}, "a mirror pod of a static pod on node node1: the kubelet runs it from a manifest file on the node"},
	} {
		got := ownedRefusal(tt.obj, nil)
		if (tt.want == "") != (got == "") || !strings.HasPrefix(got, tt.want) {
			t.Errorf("ownedRefusal(%s owned by %v) = %q, want %q", tt.obj.Name, tt.obj.Owner, got, tt.want)
		}
	}
}

// A named StatefulSet its Prometheus controls is refused, nothing sent.
func TestPinRefusesOperatorOwned(t *testing.T) {
	workloads, objs := runningDeployments(t, "reg.example.com/app:1", "prometheus-k8s")
	yes := true
	workloads[0].Owner = &metav1.OwnerReference{APIVersion: "monitoring.coreos.com/v1", Kind: "Prometheus", Name: "k8s", Controller: &yes}
	client := dynamicfake.NewSimpleDynamicClient(scheme.Scheme, objs...)
	var refused []string
	res, err := Pin(context.Background(), PinConfig{
		PinSettings: PinSettings{Events: func(e PinEvent) {
			if e.Kind == PinRefused {
				refused = append(refused, e.Message)
			}
		}},
		Cluster: Cluster{Scope: workload.Scope{Args: []string{"deployment/prometheus-k8s"}}},
		Source:  pin.SourceRunning, Apply: true, Output: PinPatch,
		Write:   func(PinOutput) error { return nil },
		backend: fakeCluster{workloads: workloads, dyn: client},
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Refused != 1 || res.Pinned != 0 || len(refused) != 1 || !strings.HasPrefix(refused[0], "owned by Prometheus ") {
		t.Errorf("result %+v, refusals %q", res, refused)
	}
	for _, a := range client.Actions() {
		if a.GetVerb() == "patch" {
			t.Errorf("patched an object its operator controls")
		}
	}
}
