package pipeline

import (
	"sync"
	"testing"
	"time"
)

// TestPerHostIsolatesRegistries: jobs of a registry that stalls take all
// the slots of their host, never those of another registry, whose jobs
// finish while the stalled ones still wait.
func TestPerHostIsolatesRegistries(t *testing.T) {
	type job struct{ host, name string }
	jobs := []job{{"stuck", "a"}, {"stuck", "b"}, {"stuck", "c"}, {"healthy", "d"}, {"healthy", "e"}}
	release := make(chan struct{})
	var mu sync.Mutex
	var done []string
	healthyDone := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		perHost(jobs, func(j job) string { return j.host }, 2, func(j job) {
			if j.host == "stuck" {
				<-release
			}
			mu.Lock()
			done = append(done, j.name)
			if len(done) == 2 && j.host == "healthy" {
				close(healthyDone)
			}
			mu.Unlock()
		})
		close(finished)
	}()
	select {
	case <-healthyDone:
	case <-time.After(5 * time.Second):
		t.Fatal("the healthy registry's jobs waited behind the stalled registry's")
	}
	close(release)
	<-finished
	if len(done) != len(jobs) {
		t.Errorf("ran %v, want every job once", done)
	}
}
