package pin

import (
	"reflect"
	"testing"

	"github.com/imgtrust/kubectl-imgtrust/pkg/workload"
)

func TestApplyChanges(t *testing.T) {
	const spec = "/spec/jobTemplate/spec/template/spec"
	tests := []struct {
		name    string
		changes []Change
		wantErr bool
	}{
		{"both images", kindChanges(spec), false},
		{"old image does not match", append(kindChanges(spec), Change{
			Container: workload.ContainerSpec{Name: "web", Path: spec + "/containers/0/image"}, Old: "nginx:1.24", New: "nginx:1.24@" + digA,
		}), true},
		{"index out of range", []Change{{Container: workload.ContainerSpec{Path: spec + "/containers/5/image"}, Old: "x", New: "y"}}, true},
		{"missing field", []Change{{Container: workload.ContainerSpec{Path: "/spec/template/spec/containers/0/image"}, Old: "x", New: "y"}}, true},
		{"through a string", []Change{{Container: workload.ContainerSpec{Path: "/kind/0/image"}, Old: "x", New: "y"}}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			obj := liveObject("batch/v1", "CronJob", spec)
			err := ApplyChanges(obj, tt.changes)
			if tt.wantErr {
				if err == nil {
					t.Fatal("ApplyChanges() = nil, want an error")
				}
				// All or nothing: a failed apply leaves the object as it was.
				if want := liveObject("batch/v1", "CronJob", spec); !reflect.DeepEqual(obj, want) {
					t.Errorf("object changed after a failed apply:\n got %v\nwant %v", obj, want)
				}
				return
			}
			if err != nil {
				t.Fatalf("ApplyChanges() error: %v", err)
			}
			if want := wantPinned("batch/v1", "CronJob", spec); !reflect.DeepEqual(obj, want) {
				t.Errorf("ApplyChanges():\n got %v\nwant %v", obj, want)
			}
		})
	}
}

func TestLanded(t *testing.T) {
	const spec = "/spec/jobTemplate/spec/template/spec"
	changes := kindChanges(spec)
	half := liveObject("batch/v1", "CronJob", spec)
	if err := ApplyChanges(half, changes[:1]); err != nil {
		t.Fatal(err)
	}
	moved := liveObject("batch/v1", "CronJob", spec)
	if err := ApplyChanges(moved, []Change{{Container: changes[1].Container, Old: changes[1].Old, New: "busybox:other"}}); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name        string
		obj         map[string]any
		wantApplied bool
		wantErr     bool
	}{
		{"patch landed", wantPinned("batch/v1", "CronJob", spec), true, false},
		{"patch did not land", liveObject("batch/v1", "CronJob", spec), false, false},
		{"half pinned is not a patch of ours", half, false, true},
		{"someone else changed an image", moved, false, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			applied, err := Landed(tt.obj, changes)
			if (err != nil) != tt.wantErr || applied != tt.wantApplied {
				t.Errorf("Landed() = %v, %v; want applied=%v, error=%v", applied, err, tt.wantApplied, tt.wantErr)
			}
		})
	}
}
