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
