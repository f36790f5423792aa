package pipeline

import (
	"context"
	"fmt"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	"k8s.io/client-go/kubernetes/scheme"
	k8stesting "k8s.io/client-go/testing"

	"github.com/imgtrust/kubectl-imgtrust/pkg/pin"
)

// outcome names how an event ended an object, for comparison; "" for
// events that end nothing.
func outcome(e PinEvent) string {
	switch e.Kind {
	case PinPatched:
		if e.Cut {
			return "patched " + e.Object.Name + " (cut, re-read: landed)"
		}
		return "patched " + e.Object.Name
	case PinUntouched:
		return fmt.Sprintf("untouched %s (%d)", e.Object.Name, e.Untouched)
	case PinUnknown, PinFailed:
		return fmt.Sprintf("%d %s: %v", e.Kind, e.Object.Name, e.Err)
	}
	return ""
}

// An interrupt (the cancelled context of signal.NotifyContext) during
// pin --apply over three Deployments: no patch starts after it, an
// in-flight patch whose request was cut is re-read to tell whether it
// landed, and every object ends told patched or untouched, once.
func TestPinApplyInterrupted(t *testing.T) {
	const image = "reg.example.com/app:1"
	before := fmt.Sprintf("(%d)", UntouchedBeforeSend)
	for _, tt := range []struct {
		name string
		// firstPatch is what the server did with the first patch: landed
		// (and answered), landed but the answer was cut, or cut before it landed.
		landed, answered bool
		want             []string
		pinned, left     int
	}{
		{"interrupt after the first patch", true, true, []string{
			"patched a", "untouched b " + before, "untouched c " + before,
		}, 1, 2},
		{"first patch cut after it landed", true, false, []string{
			"patched a (cut, re-read: landed)", "untouched b " + before, "untouched c " + before,
		}, 1, 2},
		{"first patch cut before it landed", false, false, []string{
			fmt.Sprintf("untouched a (%d)", UntouchedCutUnchanged), "untouched b " + before, "untouched c " + before,
		}, 0, 3},
	} {
		t.Run(tt.name, func(t *testing.T) {
			workloads, objs := runningDeployments(t, image, "a", "b", "c")
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
			var got []string
			res, err := Pin(ctx, PinConfig{
				PinSettings: PinSettings{Events: func(e PinEvent) {
					if o := outcome(e); o != "" {
						got = append(got, o)
					}
				}},
				Source: pin.SourceRunning, Apply: true, Output: PinPatch,
				backend: fakeCluster{workloads: workloads, dyn: client},
			})
			if err != nil {
				t.Fatal(err)
			}
			if patches != 1 {
				t.Errorf("patches sent: got %d, want 1 (none after the interrupt)", patches)
			}
			if !res.Interrupted || res.Pinned != tt.pinned || res.Untouched != tt.left || res.Unknown != 0 || res.Failed != 0 {
				t.Errorf("result = %+v, want interrupted, %d pinned, %d untouched", res, tt.pinned, tt.left)
			}
			// One outcome per object, in order.
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("outcomes:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
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
