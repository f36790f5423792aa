package apply

import (
	"context"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	"k8s.io/client-go/kubernetes/scheme"
	k8stesting "k8s.io/client-go/testing"

	"github.com/imgtrust/kubectl-imgtrust/pkg/imageref"
	"github.com/imgtrust/kubectl-imgtrust/pkg/pin"
	"github.com/imgtrust/kubectl-imgtrust/pkg/workload"
)

const testDigest = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

var deploymentsGVR = schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}

func testDeployment(t *testing.T) *unstructured.Unstructured {
	t.Helper()
	d := &appsv1.Deployment{
		TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop", ResourceVersion: "7"},
		Spec: appsv1.DeploymentSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
			Containers: []corev1.Container{{Name: "web", Image: "reg.example.com/web:1"}},
		}}},
	}
	raw, err := runtime.DefaultUnstructuredConverter.ToUnstructured(d)
	if err != nil {
		t.Fatal(err)
	}
	return &unstructured.Unstructured{Object: raw}
}

// A conflict on the first patch makes Send re-read the object, re-plan
// and send once more; a second conflict fails with nothing applied.
func TestPinApplyRetriesOnceAfterAConflict(t *testing.T) {
	for _, tt := range []struct {
		name       string
		conflicts  int
		wantErr    string
		wantPinned bool
	}{
		{"one conflict is retried", 1, "", true},
		{"a second conflict fails, nothing applied", 2, "resourceVersion conflict", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			u := testDeployment(t)
			client := dynamicfake.NewSimpleDynamicClient(scheme.Scheme, u)
			patches := 0
			var applied []byte
			client.PrependReactor("patch", "deployments", func(a k8stesting.Action) (bool, runtime.Object, error) {
				patches++
				if patches <= tt.conflicts {
					return true, nil, apierrors.NewConflict(deploymentsGVR.GroupResource(), "web", nil)
				}
				// The fake cannot apply strategic merge patches; keep what was sent.
				applied = a.(k8stesting.PatchAction).GetPatch()
				return true, u, nil
			})
			obj, ok, err := workload.FromUnstructured(u)
			if err != nil || !ok {
				t.Fatalf("FromUnstructured: ok=%v err=%v", ok, err)
			}
			w := workload.Workload{Object: obj, Pods: 1}
			for _, c := range obj.Spec.Containers {
				w.Containers = append(w.Containers, workload.Usage{ContainerSpec: c, Running: []imageref.RunningImage{
					{ImageID: "reg.example.com/web@" + testDigest, Digest: testDigest, Kind: imageref.KindManifest},
				}})
			}
			target := Target{Workload: w, Resource: client.Resource(deploymentsGVR).Namespace("shop")}
			changes, _ := pin.Plan(w.Object, w.Containers, pin.RunningChooser(), false)
			retried := false
			err = Send(context.Background(), target, changes, Options{
				Replan: func(fresh workload.Workload) ([]pin.Change, error) {
					c, _ := pin.Plan(fresh.Object, fresh.Containers, pin.RunningChooser(), false)
					return c, nil
				},
				Retrying: func() { retried = true },
			})
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("apply: got error %v, want %q", err, tt.wantErr)
			}
			if patches != tt.conflicts+btoi(tt.wantPinned) {
				t.Errorf("patches sent: got %d, want %d", patches, tt.conflicts+btoi(tt.wantPinned))
			}
			if pinned := strings.Contains(string(applied), `"image":"reg.example.com/web:1@`+testDigest+`"`); pinned != tt.wantPinned {
				t.Errorf("patch applied: %s (pinned=%v, want %v)", applied, pinned, tt.wantPinned)
			}
			if !retried {
				t.Error("want Retrying told before the second patch")
			}
		})
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
