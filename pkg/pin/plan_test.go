package pin

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/imgtrust/kubectl-imgtrust/pkg/imageref"
	"github.com/imgtrust/kubectl-imgtrust/pkg/workload"
)

func TestPlan(t *testing.T) {
	deploy := workload.Object{APIVersion: "apps/v1", Kind: "Deployment", Namespace: "ns", Name: "web"}
	pod := workload.Object{APIVersion: "v1", Kind: "Pod", Namespace: "ns", Name: "debugme"}
	registry := RegistryChooser(func(u workload.Usage) (string, error) {
		if u.Name == "down" {
			return "", errors.New("registry unreachable")
		}
		if u.Name == "garbage" {
			return "not-a-digest", nil
		}
		return digB, nil
	})
	tests := []struct {
		name        string
		obj         workload.Object
		usages      []workload.Usage
		chooser     Chooser
		dropTag     bool
		wantChanges []string // "path old → new (source)"
		wantSkipped []string // "path reason failed"
	}{
		{
			name: "running digest keeps the tag", obj: deploy, chooser: RunningChooser(),
			usages: []workload.Usage{
				usage(workload.InitContainer, "migrate", "ghcr.io/org/migrate:v3", "/spec/template/spec/initContainers/0/image", manifestRun("ghcr.io/org/migrate", digA)),
				usage(workload.Container, "web", "nginx:1.25", "/spec/template/spec/containers/0/image", manifestRun("docker.io/library/nginx", digA)),
			},
			wantChanges: []string{
				"/spec/template/spec/initContainers/0/image ghcr.io/org/migrate:v3 → ghcr.io/org/migrate:v3@<A> (running)",
				"/spec/template/spec/containers/0/image nginx:1.25 → nginx:1.25@<A> (running)",
			},
		},
		{
			name: "drop tag", obj: deploy, chooser: RunningChooser(), dropTag: true,
			usages: []workload.Usage{
				usage(workload.Container, "web", "nginx:1.25", "/spec/template/spec/containers/0/image", manifestRun("nginx", digA)),
				usage(workload.Container, "side", "localhost:5000/side", "/spec/template/spec/containers/1/image", manifestRun("localhost:5000/side", digA)),
			},
			wantChanges: []string{
				"/spec/template/spec/containers/0/image nginx:1.25 → nginx@<A> (running)",
				"/spec/template/spec/containers/1/image localhost:5000/side → localhost:5000/side@<A> (running)",
			},
		},
		{
			name: "skips", obj: deploy, chooser: RunningChooser(),
			usages: []workload.Usage{
				usage(workload.Container, "pinned", "nginx:1.25@"+digA, "/spec/template/spec/containers/0/image"),
				usage(workload.Container, "bad", "NGINX:1.25", "/spec/template/spec/containers/1/image"),
				usage(workload.Container, "idle", "nginx:1.25", "/spec/template/spec/containers/2/image"),
				usage(workload.Container, "mixed", "nginx:1.25", "/spec/template/spec/containers/3/image", manifestRun("nginx", digA), manifestRun("nginx", digB)),
				// An ephemeral container seen on one of the workload's pods.
				usage(workload.EphemeralContainer, "debugger", "busybox", "", manifestRun("busybox", digA)),
				usage(workload.Container, "odd", "nginx", "/spec/template/spec/volumes/0/image", manifestRun("nginx", digA)),
			},
			wantSkipped: []string{
				"/spec/template/spec/containers/0/image already-pinned false",
				"/spec/template/spec/containers/1/image invalid-reference false",
				"/spec/template/spec/containers/2/image no-running-pods false",
				"/spec/template/spec/containers/3/image mixed-digests false",
				" ephemeral-container false",
				"/spec/template/spec/volumes/0/image unsupported-path false",
			},
		},
		{
			name: "bare pod: containers yes, ephemeral containers no", obj: pod, chooser: RunningChooser(),
			usages: []workload.Usage{
				usage(workload.InitContainer, "init", "busybox:1.36", "/spec/initContainers/0/image", manifestRun("busybox", digA)),
				usage(workload.Container, "app", "nginx", "/spec/containers/0/image", manifestRun("nginx", digA)),
				usage(workload.EphemeralContainer, "debugger", "busybox:1.36", "/spec/ephemeralContainers/0/image", manifestRun("busybox", digA)),
			},
			wantChanges: []string{
				"/spec/initContainers/0/image busybox:1.36 → busybox:1.36@<A> (running)",
				"/spec/containers/0/image nginx → nginx@<A> (running)",
			},
			wantSkipped: []string{"/spec/ephemeralContainers/0/image ephemeral-container false"},
		},
		{
			name: "registry source and failures", obj: deploy, chooser: registry,
			usages: []workload.Usage{
				usage(workload.Container, "web", "nginx:1.25", "/spec/template/spec/containers/0/image", manifestRun("nginx", digA)),
				usage(workload.Container, "down", "nginx:1.25", "/spec/template/spec/containers/1/image"),
				usage(workload.Container, "garbage", "nginx:1.25", "/spec/template/spec/containers/2/image"),
			},
			wantChanges: []string{"/spec/template/spec/containers/0/image nginx:1.25 → nginx:1.25@<B> (registry)"},
			wantSkipped: []string{
				"/spec/template/spec/containers/1/image resolve-failed true",
				"/spec/template/spec/containers/2/image resolve-failed true",
			},
		},
		{
			// Image volumes are pinned like containers (their own list,
			// merged by volume name); pinned ones are left.
			name: "image volumes are pinned live", obj: deploy, chooser: registry,
			usages: []workload.Usage{
				usage(workload.Container, "data", "nginx:1.25", "/spec/template/spec/containers/0/image"),
				usage(workload.ImageVolume, "data", "ghcr.io/org/data:1", "/spec/template/spec/volumes/0/image/reference"),
				usage(workload.ImageVolume, "model", "ghcr.io/org/model:1@"+digA, "/spec/template/spec/volumes/1/image/reference"),
			},
			wantChanges: []string{
				"/spec/template/spec/containers/0/image nginx:1.25 → nginx:1.25@<B> (registry)",
				"/spec/template/spec/volumes/0/image/reference ghcr.io/org/data:1 → ghcr.io/org/data:1@<B> (registry)",
			},
			wantSkipped: []string{
				"/spec/template/spec/volumes/1/image/reference already-pinned false",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			changes, skipped := Plan(tt.obj, tt.usages, tt.chooser, tt.dropTag)
			var gotChanges, gotSkipped []string
			for _, c := range changes {
				if c.Old != c.Container.Image || c.Digest == "" {
					t.Errorf("change %+v: Old or Digest not set", c)
				}
				gotChanges = append(gotChanges, short(fmt.Sprintf("%s %s → %s (%s)", c.Container.Path, c.Old, c.New, c.Source)))
			}
			for _, s := range skipped {
				if s.Message == "" {
					t.Errorf("skip %+v has no message", s)
				}
				gotSkipped = append(gotSkipped, fmt.Sprintf("%s %s %v", s.Container.Path, s.Reason, s.Failed()))
			}
			if !reflect.DeepEqual(gotChanges, tt.wantChanges) {
				t.Errorf("changes:\n got %q\nwant %q", gotChanges, tt.wantChanges)
			}
			if !reflect.DeepEqual(gotSkipped, tt.wantSkipped) {
				t.Errorf("skipped:\n got %q\nwant %q", gotSkipped, tt.wantSkipped)
			}
		})
	}
}

func TestPinnedImage(t *testing.T) {
	tests := []struct {
		image   string
		digest  string
		dropTag bool
		want    string // "" for an error
	}{
		{"nginx:1.25", digA, false, "nginx:1.25@" + digA},
		{"nginx:1.25", digA, true, "nginx@" + digA},
		{"nginx", digA, false, "nginx@" + digA},
		{"nginx", digA, true, "nginx@" + digA},
		{"docker.io/library/nginx:latest", digA, false, "docker.io/library/nginx:latest@" + digA},
		{"registry:5000/team/app:v2", digA, true, "registry:5000/team/app@" + digA},
		{"registry:5000/team/app", digA, false, "registry:5000/team/app@" + digA},
		{"[::1]:5000/app:1", digA, false, "[::1]:5000/app:1@" + digA},
		{"nginx:1.25", "sha256:short", false, ""},
		{"nginx:1.25", "", false, ""},
		{"nginx:1.25@" + digA, digB, false, ""},
		{"Not Valid", digA, false, ""},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s %v", tt.image, tt.dropTag), func(t *testing.T) {
			got, err := PinnedImage(tt.image, tt.digest, tt.dropTag)
			if tt.want == "" {
				if err == nil {
					t.Errorf("PinnedImage(%q, %q) = %q, want an error", tt.image, short(tt.digest), short(got))
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("PinnedImage(%q, %q, %v) = %q, %v; want %q", tt.image, short(tt.digest), tt.dropTag, short(got), err, short(tt.want))
			}
		})
	}
}

func TestPlanMirror(t *testing.T) {
	deploy := workload.Object{APIVersion: "apps/v1", Kind: "Deployment", Namespace: "ns", Name: "web"}
	rename := func(image string) (string, bool, error) {
		if strings.HasPrefix(image, "mirror.example/") {
			return "", false, nil
		}
		ref, _ := imageref.Parse(image)
		target := "mirror.example/m/" + ref.Repository
		if ref.Tag != "" {
			target += ":" + ref.Tag
		}
		return target, true, nil
	}
	usages := []workload.Usage{
		usage(workload.Container, "web", "ghcr.io/org/web:1.2", "/spec/template/spec/containers/0/image", manifestRun("ghcr.io/org/web", digA)),
		// Already pinned: mirrored with its own digest, which the pods run.
		usage(workload.Container, "api", "ghcr.io/org/api:2@"+digA, "/spec/template/spec/containers/1/image", manifestRun("ghcr.io/org/api", digA)),
		// Pinned, but the pods run another digest: refused, not silently changed.
		usage(workload.Container, "old", "ghcr.io/org/old:1@"+digA, "/spec/template/spec/containers/2/image", manifestRun("ghcr.io/org/old", digB)),
		usage(workload.Container, "done", "mirror.example/m/org/x:1@"+digA, "/spec/template/spec/containers/3/image", manifestRun("mirror.example/m/org/x", digA)),
		usage(workload.ImageVolume, "data", "ghcr.io/org/data:1@"+digA, "/spec/template/spec/volumes/0/image/reference"),
	}
	changes, skipped := PlanMirror(deploy, usages, RunningChooser(), false, rename)
	var got []string
	for _, c := range changes {
		got = append(got, c.Old+" → "+strings.ReplaceAll(c.New, digA, "<A>"))
	}
	want := []string{"ghcr.io/org/web:1.2 → mirror.example/m/org/web:1.2@<A>", "ghcr.io/org/api:2@" + digA + " → mirror.example/m/org/api:2@<A>",
		"ghcr.io/org/data:1@" + digA + " → mirror.example/m/org/data:1@<A>"} // a pinned image volume mounts the digest it names
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("changes:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	var reasons []string
	for _, s := range skipped {
		reasons = append(reasons, s.Container.Name+":"+s.Reason)
	}
	if strings.Join(reasons, ",") != "old:other-image,done:already-mirrored" {
		t.Errorf("skipped: %v", reasons)
	}
}
