package pin

import (
	"strings"
	"testing"

	"github.com/imgtrust/kubectl-imgtrust/pkg/imageref"
	"github.com/imgtrust/kubectl-imgtrust/pkg/workload"
)

func TestChooseRunning(t *testing.T) {
	const path = "/spec/template/spec/containers/0/image"
	tests := []struct {
		name       string
		image      string
		running    []imageref.RunningImage
		want       string
		wantReason string
		wantInMsg  string
	}{
		{"one pod", "nginx:1.25", []imageref.RunningImage{manifestRun("docker.io/library/nginx", digA)}, digA, "", ""},
		{"every pod agrees", "nginx:1.25", []imageref.RunningImage{
			manifestRun("docker.io/library/nginx", digA),
			manifestRun("docker-pullable://nginx", digA),
			manifestRun("index.docker.io/library/nginx", digA),
		}, digA, "", ""},
		{"private registry", "registry:5000/team/app:v2", []imageref.RunningImage{manifestRun("registry:5000/team/app", digA)}, digA, "", ""},
		{"no pods", "nginx:1.25", nil, "", ReasonNoRunningPods, "--source=registry"},
		{"rollout in progress", "nginx:1.25", []imageref.RunningImage{
			manifestRun("nginx", digA), manifestRun("nginx", digB),
		}, "", ReasonMixedDigests, "2 different digests"},
		{"config digest only", "nginx:1.25", []imageref.RunningImage{configRun(digA)}, "", ReasonConfigDigestOnly, "1 of 1 pods"},
		{"one pod with a config digest", "nginx:1.25", []imageref.RunningImage{
			manifestRun("nginx", digA), configRun(digB),
		}, "", ReasonConfigDigestOnly, "1 of 2 pods"},
		{"template changed to another repository", "ghcr.io/org/app:v2", []imageref.RunningImage{
			manifestRun("ghcr.io/org/old-app", digA),
		}, "", ReasonOtherRepository, "roll the workload out"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := usage(workload.Container, "web", tt.image, path, tt.running...)
			got, refusal := ChooseRunning(u)
			if tt.wantReason == "" {
				if refusal != nil || got != tt.want {
					t.Fatalf("ChooseRunning() = %q, %v; want %q, nil", short(got), refusal, short(tt.want))
				}
				return
			}
			if refusal == nil {
				t.Fatalf("ChooseRunning() = %q, nil; want refusal %q", short(got), tt.wantReason)
			}
			if refusal.Reason != tt.wantReason || !strings.Contains(refusal.Message, tt.wantInMsg) {
				t.Errorf("ChooseRunning() refusal = %s: %q; want %s containing %q", refusal.Reason, refusal.Message, tt.wantReason, tt.wantInMsg)
			}
			if strings.Contains(refusal.Message, "\n") {
				t.Errorf("refusal message %q is not one line", refusal.Message)
			}
		})
	}
}

func TestRunningChooserReturnsNilError(t *testing.T) {
	// A nil *Refusal must not become a non-nil error.
	u := usage(workload.Container, "web", "nginx:1.25", "/spec/containers/0/image", manifestRun("nginx", digA))
	got, err := RunningChooser().Choose(u)
	if err != nil || got != digA {
		t.Fatalf("RunningChooser().Choose() = %q, %v; want %q, nil", short(got), err, short(digA))
	}
}

// Pods created from an older template keep running its image: pinning the
// new tag to their digest would be wrong.
func TestChooseRunningRefusesPodsOfAnOlderTemplate(t *testing.T) {
	d := "sha256:" + strings.Repeat("d", 64)
	u := workload.Usage{
		ContainerSpec: workload.ContainerSpec{Name: "web", Type: workload.Container, Image: "nginx:1.26"},
		Running: []imageref.RunningImage{
			{ImageID: "docker.io/library/nginx@" + d, Digest: d, Kind: imageref.KindManifest, SpecImage: "nginx:1.25"},
		},
	}
	digest, refusal := ChooseRunning(u)
	if refusal == nil || refusal.Reason != ReasonOtherImage || digest != "" {
		t.Fatalf("ChooseRunning = %q, %+v; want a %s refusal", digest, refusal, ReasonOtherImage)
	}
	if !strings.Contains(refusal.Message, "nginx:1.25") || !strings.Contains(refusal.Message, "--source=registry") {
		t.Errorf("refusal should name the pods' image and what to do: %s", refusal.Message)
	}
	u.Running[0].SpecImage = "nginx:1.26"
	if digest, refusal := ChooseRunning(u); refusal != nil || digest != d {
		t.Errorf("pods of the current template: got %q, %+v; want %s", digest, refusal, d)
	}
}
