package audit

import (
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/imgtrust/kubectl-imgtrust/pkg/imageref"
	"github.com/imgtrust/kubectl-imgtrust/pkg/workload"
)

// benchWorkloads is 1,000 workloads of 10 containers each (10,000 usages)
// with every kind of reference and three running images per usage.
func benchWorkloads() []workload.Workload {
	digest := func(c byte) string { return "sha256:" + strings.Repeat(string(c), 64) }
	images := []func(w, c int) string{
		func(w, c int) string { return "nginx" },
		func(w, c int) string { return "nginx:latest" },
		func(w, c int) string { return fmt.Sprintf("ghcr.io/acme/app-%d:1.2.%d", w, c) },
		func(w, c int) string { return fmt.Sprintf("registry.example.com:5000/team/svc-%d@%s", c, digest('a')) },
		func(w, c int) string { return fmt.Sprintf("quay.io/org/tool:%d@%s", c, digest('b')) },
		func(w, c int) string { return "docker.io/library/redis:7" },
		func(w, c int) string { return fmt.Sprintf("internal.corp/team-%d/svc", w%7) },
		func(w, c int) string { return "Bad/UPPER:1" },
	}
	policies := []corev1.PullPolicy{"", corev1.PullIfNotPresent, corev1.PullAlways}
	var out []workload.Workload
	for w := range 1000 {
		wl := workload.Workload{
			Object: workload.Object{Kind: "Deployment", Namespace: fmt.Sprintf("ns-%02d", w%20), Name: fmt.Sprintf("app-%04d", w)},
			Pods:   3,
		}
		for c := range 10 {
			run := []imageref.RunningImage{
				{ImageID: "repo@" + digest('a'), Digest: digest('a'), Kind: imageref.KindManifest},
				{ImageID: "repo@" + digest("ab"[c%2]), Digest: digest("ab"[c%2]), Kind: imageref.KindManifest},
				{ImageID: digest('c'), Digest: digest('c'), Kind: imageref.KindConfig},
			}
			wl.Containers = append(wl.Containers, workload.Usage{
				ContainerSpec: workload.ContainerSpec{
					Name: fmt.Sprintf("c%d", c), Type: workload.Container,
					Image:      images[(w+c)%len(images)](w, c),
					PullPolicy: policies[c%len(policies)],
				},
				Running: run,
			})
		}
		out = append(out, wl)
	}
	return out
}

func BenchmarkEvaluate(b *testing.B) {
	workloads := benchWorkloads()
	allowed, err := ParseAllowedRegistries([]string{"ghcr.io/acme", "docker.io", "quay.io"})
	if err != nil {
		b.Fatal(err)
	}
	opts := Options{AllowedRegistries: allowed}
	b.ReportAllocs()
	for b.Loop() {
		items := Evaluate(workloads, opts)
		if len(items) != 10000 {
			b.Fatalf("Evaluate() = %d items, want 10000", len(items))
		}
	}
}
