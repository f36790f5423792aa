package pipeline

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/imgtrust/kubectl-imgtrust/pkg/pin"
	"github.com/imgtrust/kubectl-imgtrust/pkg/workload"
	"k8s.io/apimachinery/pkg/runtime"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	"k8s.io/client-go/kubernetes/scheme"
	k8stesting "k8s.io/client-go/testing"
)

func TestGitOpsManager(t *testing.T) {
	for _, tt := range []struct {
		labels, annotations map[string]string
		want                string
	}{
		{map[string]string{"app.kubernetes.io/managed-by": "Helm"}, nil, "Helm"},
		{nil, map[string]string{"argocd.argoproj.io/tracking-id": "app:apps/Deployment:shop/web"}, "Argo CD"},
		{map[string]string{"kustomize.toolkit.fluxcd.io/name": "apps"}, nil, "Flux"},
		{map[string]string{"app": "web"}, nil, ""},
	} {
		if got := gitOpsManager(workload.Object{Labels: tt.labels, Annotations: tt.annotations}); got != tt.want {
			t.Errorf("gitOpsManager(%v, %v) = %q, want %q", tt.labels, tt.annotations, got, tt.want)
		}
	}
}

// Without --apply nothing is sent: each object's change is told, its
// patch handed to Write with a separator (several objects), and a bare
// Pod or a Job not named is skipped without a refusal.
func TestPinPlansWithoutApply(t *testing.T) {
	const image = "reg.example.com/app:1"
	workloads, objs := runningDeployments(t, image, "a", "b")
	workloads = append(workloads,
		workload.Workload{Object: workload.Object{APIVersion: "v1", Kind: "Pod", Name: "p", Namespace: "shop"}},
		workload.Workload{Object: workload.Object{APIVersion: "batch/v1", Kind: "Job", Name: "j", Namespace: "shop"}})
	client := dynamicfake.NewSimpleDynamicClient(scheme.Scheme, objs...)
	client.PrependReactor("patch", "*", func(k8stesting.Action) (bool, runtime.Object, error) {
		t.Error("a patch was sent without --apply")
		return true, nil, nil
	})
	var kinds []PinEventKind
	var outputs []PinOutput
	res, err := Pin(context.Background(), PinConfig{
		PinSettings: PinSettings{Events: func(e PinEvent) { kinds = append(kinds, e.Kind) }},
		Source:      pin.SourceRunning, Output: PinPatch,
		Write:   func(o PinOutput) error { outputs = append(outputs, o); return nil },
		backend: fakeCluster{workloads: workloads, dyn: client},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := PinResult{Pinned: 2, Skipped: 2}
	if res != want {
		t.Errorf("result = %+v, want %+v", res, want)
	}
	wantKinds := []PinEventKind{PinChange, PinChange, PinSkippedPod, PinSkippedJob}
	if fmt.Sprint(kinds) != fmt.Sprint(wantKinds) {
		t.Errorf("events %v, want %v", kinds, wantKinds)
	}
	if len(outputs) != 2 {
		t.Fatalf("outputs: %d, want 2", len(outputs))
	}
	for _, o := range outputs {
		if !o.Multiple || o.Format != PinPatch || !strings.Contains(string(o.Data), image+"@"+testDigest) {
			t.Errorf("output of %s: multiple=%v format=%s %s", o.Object.Name, o.Multiple, o.Format, o.Data)
		}
	}
}

// A failed Write (stdout) fails the object, which is then not patched.
func TestPinWriteFailureFailsTheObject(t *testing.T) {
	workloads, objs := runningDeployments(t, "reg.example.com/app:1", "a")
	client := dynamicfake.NewSimpleDynamicClient(scheme.Scheme, objs...)
	var failed []error
	res, err := Pin(context.Background(), PinConfig{
		PinSettings: PinSettings{Events: func(e PinEvent) {
			if e.Kind == PinFailed {
				failed = append(failed, e.Err)
			}
		}},
		Source: pin.SourceRunning, Apply: true, Output: PinPatch,
		Write:   func(PinOutput) error { return errors.New("broken pipe") },
		backend: fakeCluster{workloads: workloads, dyn: client},
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Failed != 1 || res.Pinned != 0 || len(failed) != 1 || failed[0].Error() != "broken pipe" {
		t.Errorf("result %+v, failures %v; want one failure, broken pipe", res, failed)
	}
	for _, a := range client.Actions() {
		if a.GetVerb() == "patch" {
			t.Errorf("patched after a failed write")
		}
	}
}
