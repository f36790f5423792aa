package pipeline

import (
	"context"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/imgtrust/kubectl-imgtrust/internal/testregistry"
	"github.com/imgtrust/kubectl-imgtrust/pkg/audit"
	"github.com/imgtrust/kubectl-imgtrust/pkg/registry"
	"github.com/imgtrust/kubectl-imgtrust/pkg/workload"
)

// BenchmarkAuditEarlyStart: an audit's wall time when the registry stage
// waits for the whole listing, when the controllers' template requests
// start once they are read, and when the certain pods' requests start as
// their pages are read too. A registry answering each manifest request in
// 20 ms, 4 in flight; a listing that reads the controllers in 50 ms, then 4
// pages of pods 100 ms apart; 20 Deployments (half their pods carry a pull
// secret since replaced) and 20 bare pods: 60 HEADs, a 300 ms floor.
// requests/op shows the budget is the same in every mode.
func BenchmarkAuditEarlyStart(b *testing.B) {
	b.Setenv("DOCKER_CONFIG", b.TempDir())
	reg := testregistry.New(b)
	const n, pages = 20, 4
	for i := range n {
		reg.PushImage(b, fmt.Sprintf("app-%d:1", i))
		reg.PushImage(b, fmt.Sprintf("tool-%d:1", i))
	}
	yes := true
	spec := func(image string, secret string) *corev1.PodSpec {
		return &corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: reg.Host + "/" + image}},
			ImagePullSecrets: []corev1.LocalObjectReference{{Name: secret}}}
	}
	meta := func(name string, owner *workload.Object) metav1.ObjectMeta {
		m := metav1.ObjectMeta{Namespace: "shop", Name: name, UID: types.UID("uid-" + name)}
		if owner != nil {
			m.OwnerReferences = []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: owner.Kind, Name: owner.Name, UID: owner.UID, Controller: &yes}}
		}
		return m
	}
	var roots, objects []workload.Object
	early := make([][]workload.EarlyPod, pages)
	for i := range n {
		d := workload.FromTemplate("apps/v1", "Deployment", ptr(meta(fmt.Sprintf("app-%d", i), nil)), spec(fmt.Sprintf("app-%d:1", i), "regcred"))
		rsMeta := meta(fmt.Sprintf("app-%d-1", i), &d)
		rs := workload.FromTemplate("apps/v1", "ReplicaSet", &rsMeta, spec(fmt.Sprintf("app-%d:1", i), "regcred"))
		roots = append(roots, d)
		objects = append(objects, d, rs)
	}
	for i := range n {
		for k := range 2 {
			secret := []string{"regcred", "oldcred"}[k]
			pod := workload.FromPod(&corev1.Pod{ObjectMeta: meta(fmt.Sprintf("app-%d-1-%d", i, k), &objects[2*i+1]), Spec: *spec(fmt.Sprintf("app-%d:1", i), secret)})
			objects = append(objects, pod)
			early[(2*i+k)%pages] = append(early[(2*i+k)%pages], workload.EarlyPod{Pod: pod, Root: &roots[i]})
		}
		bare := workload.FromPod(&corev1.Pod{ObjectMeta: meta(fmt.Sprintf("tool-%d", i), nil), Spec: *spec(fmt.Sprintf("tool-%d:1", i), "regcred")})
		objects = append(objects, bare)
		early[i%pages] = append(early[i%pages], workload.EarlyPod{Pod: bare})
	}
	client := func() *fake.Clientset {
		return fake.NewClientset(pullSecretFor("shop", "regcred", reg.Host, "user", "pass"), pullSecretFor("shop", "oldcred", reg.Host, "old", "pass"),
			&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "default"}})
	}
	for _, mode := range []string{"after-listing", "controllers", "controllers+pods"} {
		b.Run(mode, func(b *testing.B) {
			ctx := context.Background()
			requests := 0
			for b.Loop() {
				reg.Set(func(h *testregistry.Hooks) { h.Delay = 20 * time.Millisecond })
				r, err := registry.New(registry.Options{Insecure: []string{reg.Host}, PerHost: 4})
				if err != nil {
					b.Fatal(err)
				}
				c := client()
				stage := AuditStage{Resolver: r, Concurrency: 4}
				var p *prefetch
				if mode != "after-listing" {
					p = newPrefetch(ctx, r, c, 4, "", true)
					p.start()
					stage.creds = p.creds
				}
				time.Sleep(50 * time.Millisecond) // the controllers
				if p != nil {
					p.roots(roots)
				}
				for _, page := range early {
					time.Sleep(100 * time.Millisecond)
					if mode == "controllers+pods" {
						p.pods(page)
					}
				}
				found := &workload.Discovery{Workloads: workload.Rollup(objects, workload.RollupOptions{}), ClusterWide: true}
				stage.Run(ctx, c, found, audit.Evaluate(found.Workloads, audit.Options{}))
				if p != nil {
					p.stop()
				}
				requests += reg.Count("HEAD", "/manifests/")
			}
			b.ReportMetric(float64(requests)/float64(b.N), "HEADs/op")
		})
	}
}

func ptr[T any](v T) *T { return &v }
