package workload

import (
	"fmt"
	"testing"

	"github.com/imgtrust/kubectl-imgtrust/pkg/imageref"
)

// benchObjects is a cluster of 1,000 Deployments, each with one ReplicaSet
// and 10 pods (10,000 pods), every pod reporting what it runs.
func benchObjects() []Object {
	const deployments, podsPer = 1000, 10
	objects := make([]Object, 0, deployments*(podsPer+2))
	for d := range deployments {
		ns := fmt.Sprintf("ns-%02d", d%20)
		name := fmt.Sprintf("app-%04d", d)
		dep := obj("Deployment", ns, name, nil, "init:migrate=ghcr.io/acme/migrate:1", "app=ghcr.io/acme/"+name+":1.0", "sidecar=envoy:1.30")
		rs := obj("ReplicaSet", ns, name+"-7d4b", ownedBy(dep), "init:migrate=ghcr.io/acme/migrate:1", "app=ghcr.io/acme/"+name+":1.0", "sidecar=envoy:1.30")
		objects = append(objects, dep, rs)
		for p := range podsPer {
			digest := digestA
			if p%3 == 0 {
				digest = digestB
			}
			objects = append(objects, pod(ns, fmt.Sprintf("%s-7d4b-%d", name, p), ownedBy(rs), map[string]imageref.RunningImage{
				"init:migrate": runningManifest("ghcr.io/acme/migrate", digestC),
				"app":          runningManifest("ghcr.io/acme/"+name, digest),
				"sidecar":      config(digestA),
			}, "init:migrate=ghcr.io/acme/migrate:1", "app=ghcr.io/acme/"+name+":1.0", "sidecar=envoy:1.30"))
		}
	}
	return objects
}

func BenchmarkRollup(b *testing.B) {
	objects := benchObjects()
	b.ReportAllocs()
	for b.Loop() {
		ws := Rollup(objects, RollupOptions{})
		if len(ws) != 1000 || ws[0].Pods != 10 {
			b.Fatalf("Rollup() = %d workloads, first with %d pods; want 1000 with 10", len(ws), ws[0].Pods)
		}
	}
}
