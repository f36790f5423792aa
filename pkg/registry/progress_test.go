package registry

import (
	"sync"
	"testing"

	"github.com/imgtrust/kubectl-imgtrust/internal/testregistry"
)

func TestResolveAllReportsProgress(t *testing.T) {
	reg := testregistry.New(t)
	reg.PushImage(t, "a:v1")
	reg.PushImage(t, "b:v1")
	var mu sync.Mutex
	var calls []int
	total := -1
	r := newResolver(t, Options{Insecure: []string{reg.Host}, Progress: func(done, n int) {
		mu.Lock()
		defer mu.Unlock()
		calls = append(calls, done)
		total = n
	}})
	reqs := []Request{{Image: reg.Host + "/a:v1"}, {Image: reg.Host + "/b:v1"}, {Image: "not a reference"}}
	r.ResolveAll(t.Context(), reqs)
	if len(calls) != len(reqs) || total != len(reqs) {
		t.Fatalf("progress: got %d calls with total %d, want %d calls with total %d", len(calls), total, len(reqs), len(reqs))
	}
	seen := map[int]bool{}
	for _, c := range calls {
		seen[c] = true
	}
	for i := 1; i <= len(reqs); i++ {
		if !seen[i] {
			t.Errorf("progress never reported %d/%d: %v", i, len(reqs), calls)
		}
	}
}
