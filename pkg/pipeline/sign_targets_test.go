package pipeline

import (
	"strings"
	"testing"

	"github.com/imgtrust/kubectl-imgtrust/pkg/imageref"
	"github.com/imgtrust/kubectl-imgtrust/pkg/workload"
)

func usage(image string, running ...imageref.RunningImage) workload.Usage {
	return workload.Usage{ContainerSpec: workload.ContainerSpec{Type: workload.Container, Name: "app", Image: image}, Running: running}
}

func TestRunningTargets(t *testing.T) {
	a, b := "sha256:"+strings.Repeat("a", 64), "sha256:"+strings.Repeat("b", 64)
	run := func(repo, d string, kind imageref.DigestKind) imageref.RunningImage {
		return imageref.RunningImage{Digest: d, Kind: kind, Repository: repo}
	}
	for _, tc := range []struct {
		name    string
		u       workload.Usage
		want    []string // repo@digest per target
		refusal string
	}{
		{"one digest", usage("nginx:1", run("index.docker.io/library/nginx", a, imageref.KindManifest), run("index.docker.io/library/nginx", a, imageref.KindManifest)),
			[]string{"index.docker.io/library/nginx@" + a}, ""},
		{"a rollout: both digests", usage("reg.example/web:2", run("reg.example/web", b, imageref.KindManifest), run("reg.example/web", a, imageref.KindManifest)),
			[]string{"reg.example/web@" + a, "reg.example/web@" + b}, ""},
		{"pods run another repository", usage("reg.example/web:2", run("mirror.example/web", a, imageref.KindManifest)),
			[]string{"mirror.example/web@" + a}, ""},
		{"no pods", usage("nginx:1"), nil, "no running pod reports a digest for container \"app\" and the spec names a tag: pin it first"},
		{"no pods, a pinned spec", usage("reg.example/web:2@" + a), []string{"reg.example/web@" + a}, ""},
		{"config digest only", usage("nginx:1", run("", a, imageref.KindConfig)), nil, "only a config digest"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := runningTargets(workload.Object{Kind: "Deployment", Name: "web"}, tc.u)
			if tc.refusal != "" {
				if len(got) != 1 || !strings.Contains(got[0].refusal, tc.refusal) {
					t.Fatalf("got %+v, want one refusal with %q", got, tc.refusal)
				}
				return
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %+v, want %v", got, tc.want)
			}
			for i, w := range tc.want {
				if g := got[i].repo + "@" + got[i].digest; g != w || got[i].refusal != "" {
					t.Errorf("target %d: %s (refusal %q), want %s", i, g, got[i].refusal, w)
				}
			}
		})
	}
}

func TestFileTarget(t *testing.T) {
	d := "sha256:" + strings.Repeat("c", 64)
	for image, want := range map[string]string{
		"reg.example/web@" + d:       "reg.example/web@" + d,
		"reg.example/web:1.0@" + d:   "reg.example/web@" + d,
		"reg.example/web:1.0":        "refused: names a tag, not a digest",
		"nginx":                      "refused: names a tag, not a digest",
		"reg.example/WEB@sha256:zzz": "refused: is not an image reference",
	} {
		got := fileTarget(workload.Object{}, usage(image))
		switch {
		case strings.HasPrefix(want, "refused: "):
			if !strings.Contains(got.refusal, strings.TrimPrefix(want, "refused: ")) || got.digest != "" {
				t.Errorf("%s: %+v, want %s", image, got, want)
			}
		case got.repo+"@"+got.digest != want || got.refusal != "":
			t.Errorf("%s: %+v, want %s", image, got, want)
		}
	}
}
