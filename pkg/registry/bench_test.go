package registry

import (
	"fmt"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/imgtrust/kubectl-imgtrust/internal/testregistry"
)

// BenchmarkResolveAll resolves 500 unique tags (over 10 repositories)
// against the in-process registry with one fresh Resolver per iteration.
func BenchmarkResolveAll(b *testing.B) {
	reg := testregistry.New(b)
	img := testregistry.RandomImage(b, 1)
	var reqs []Request
	for repo := range 10 {
		base := reg.Ref(b, fmt.Sprintf("repo%d:base", repo))
		if err := remote.Write(base, img, reg.WriteOptions()...); err != nil {
			b.Fatal(err)
		}
		desc, err := remote.Get(base, reg.WriteOptions()...)
		if err != nil {
			b.Fatal(err)
		}
		for tag := range 50 {
			t := base.Context().Tag(fmt.Sprintf("v%d", tag))
			if err := remote.Tag(t, desc, reg.WriteOptions()...); err != nil {
				b.Fatal(err)
			}
			reqs = append(reqs, Request{Image: t.String()})
		}
	}
	b.ReportAllocs()
	var last Stats
	for b.Loop() {
		r := newResolver(b, Options{Insecure: []string{reg.Host}})
		for _, res := range r.ResolveAll(b.Context(), reqs) {
			if res.Err != nil {
				b.Fatal(res.Err)
			}
		}
		last = r.Stats()
	}
	b.ReportMetric(float64(last.Requests), "requests/op")
	b.ReportMetric(float64(last.ManifestHEADs), "heads/op")
}
