package cmd

import (
	"bytes"
	"context"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	"k8s.io/client-go/kubernetes/scheme"
	k8stesting "k8s.io/client-go/testing"

	"github.com/imgtrust/kubectl-imgtrust/pkg/imageref"
	"github.com/imgtrust/kubectl-imgtrust/pkg/pin"
	"github.com/imgtrust/kubectl-imgtrust/pkg/workload"
)

const testDigest = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

var deploymentsGVR = schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}

func namedDeployment(t *testing.T, name, image string) *unstructured.Unstructured {
	t.Helper()
	d := &appsv1.Deployment{
		TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "shop", ResourceVersion: "7"},
		Spec: appsv1.DeploymentSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
			Containers: []corev1.Container{{Name: "app", Image: image}},
		}}},
	}
	raw, err := runtime.DefaultUnstructuredConverter.ToUnstructured(d)
	if err != nil {
		t.Fatal(err)
	}
	return &unstructured.Unstructured{Object: raw}
}

// An interrupt (the cancelled context of signal.NotifyContext) during
// pin --apply over three Deployments: no patch starts after it, an
// in-flight patch whose request was cut is re-read to tell whether it
// landed, and every object is named patched or untouched.
func TestPinApplyInterrupted(t *testing.T) {
	const image = "reg.example.com/app:1"
	for _, tt := range []struct {
		name string
		// firstPatch is what the server did with the first patch: landed
		// (and answered), landed but the answer was cut, or cut before it landed.
		landed, answered bool
		want             []string
		pinned, left     int
	}{
		{"interrupt after the first patch", true, true, []string{
			"patched deployment/a -n shop\n",
			"untouched deployment/b -n shop: interrupted before its patch was sent\n",
			"untouched deployment/c -n shop: interrupted before its patch was sent\n",
		}, 1, 2},
		{"first patch cut after it landed", true, false, []string{
			"patched deployment/a -n shop: the interrupt cut its patch request; re-read: the pinned images are there\n",
			"untouched deployment/b -n shop: interrupted before its patch was sent\n",
		}, 1, 2},
		{"first patch cut before it landed", false, false, []string{
			"untouched deployment/a -n shop: the interrupt cut its patch request; re-read: the images are unchanged\n",
			"untouched deployment/c -n shop: interrupted before its patch was sent\n",
		}, 0, 3},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var objs []runtime.Object
			var workloads []workload.Workload
			for _, name := range []string{"a", "b", "c"} {
				u := namedDeployment(t, name, image)
				objs = append(objs, u)
				obj, ok, err := workload.FromUnstructured(u)
				if err != nil || !ok {
					t.Fatalf("FromUnstructured: ok=%v err=%v", ok, err)
				}
				w := workload.Workload{Object: obj, Pods: 1}
				for _, c := range obj.Spec.Containers {
					w.Containers = append(w.Containers, workload.Usage{ContainerSpec: c, Running: []imageref.RunningImage{
						{ImageID: "reg.example.com/app@" + testDigest, Digest: testDigest, Kind: imageref.KindManifest},
					}})
				}
				workloads = append(workloads, w)
			}
			client := dynamicfake.NewSimpleDynamicClient(scheme.Scheme, objs...)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			patches := 0
			client.PrependReactor("patch", "deployments", func(a k8stesting.Action) (bool, runtime.Object, error) {
				patches++
				name := a.(k8stesting.PatchAction).GetName()
				pinned := namedDeployment(t, name, image+"@"+testDigest)
				if tt.landed {
					if err := client.Tracker().Update(deploymentsGVR, pinned, "shop"); err != nil {
						t.Errorf("updating the tracker: %v", err)
					}
				}
				cancel() // Ctrl-C arrives while this request is in flight
				if !tt.answered {
					return true, nil, ctx.Err()
				}
				return true, pinned, nil
			})
			var errOut bytes.Buffer
			o := &PinOptions{Apply: true, DryRun: "none", Source: string(pin.SourceRunning)}
			o.ErrOut, o.Out = &errOut, &bytes.Buffer{}
			tally := o.pinAll(ctx, workloads, func(workload.Object) (dynamic.ResourceInterface, error) {
				return client.Resource(deploymentsGVR).Namespace("shop"), nil
			}, func(workload.Object) pin.Chooser { return pin.RunningChooser() })

			if patches != 1 {
				t.Errorf("patches sent: got %d, want 1 (none after the interrupt)", patches)
			}
			if !tally.interrupted || tally.pinned != tt.pinned || tally.untouched != tt.left || tally.unknown != 0 || tally.failed != 0 {
				t.Errorf("tally = %+v, want interrupted, %d pinned, %d untouched", tally, tt.pinned, tt.left)
			}
			for _, line := range tt.want {
				if !strings.Contains(errOut.String(), line) {
					t.Errorf("stderr lacks %q:\n%s", line, errOut.String())
				}
			}
			if n := strings.Count(errOut.String(), "patched ") + strings.Count(errOut.String(), "untouched "); n != 3 {
				t.Errorf("want one patched/untouched line per object (3), got %d:\n%s", n, errOut.String())
			}
			// What the fake server holds agrees with what was said.
			for _, name := range []string{"a", "b", "c"} {
				u, err := client.Resource(deploymentsGVR).Namespace("shop").Get(context.Background(), name, metav1.GetOptions{})
				if err != nil {
					t.Fatal(err)
				}
				got, _, _ := unstructured.NestedSlice(u.Object, "spec", "template", "spec", "containers")
				img := got[0].(map[string]any)["image"]
				wantPinned := name == "a" && tt.landed
				if (img == image+"@"+testDigest) != wantPinned {
					t.Errorf("deployment/%s image %v, want pinned=%v", name, img, wantPinned)
				}
			}
		})
	}
}
