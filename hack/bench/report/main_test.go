package main

import (
	"strings"
	"testing"

	"github.com/imgtrust/kubectl-imgtrust/hack/bench/load/loader"
	"github.com/imgtrust/kubectl-imgtrust/hack/bench/proxy/proxy"
)

func TestShortenToolError(t *testing.T) {
	for in, want := range map[string]string{
		// The go command's shape of a failed proxy read, with a placeholder
		// address: no package server's address is written here.
		"go: example.com/x@latest: module example.com/x: reading https://placeholder.invalid/list: 403 Forbidden": "go: example.com/x@latest: the Go module proxy answered 403 Forbidden",
		"fetch https://example.com/a failed": "fetch (an address) failed",
		"build failed: exit status 1":        "build failed: exit status 1",
	} {
		if got := shortenToolError(in); got != want {
			t.Errorf("shortenToolError(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestRepeatTargets(t *testing.T) {
	load := loader.Result{Images: make([]loader.Image, 4), Repos: 2}
	run := func(wall float64, byKind map[string]int) runResult {
		total := 0
		for _, n := range byKind {
			total += n
		}
		return runResult{wall: wall, private: proxy.Stats{Total: total, ByKind: byKind}, public: proxy.Stats{ByKind: map[string]int{}}}
	}
	first := &step{id: stepFullFirst, runs: []runResult{run(10, map[string]int{"HEAD manifest": 12, "GET manifest": 8, "GET blob": 8, "GET tags": 2})}}
	for _, tt := range []struct {
		name   string
		cached runResult
		want   []string
	}{
		{"tags only, fast", run(2, map[string]int{"HEAD manifest": 4, "GET tags": 2, "GET ping": 1}), []string{"0.20× — met", "4 HEADs, 2 listings, 0 manifest GETs, 0 blobs, 0 referrers requests (first run: 30 requests in all, cached: 7) — met"}},
		{"slow, and a blob read", run(5, map[string]int{"HEAD manifest": 4, "GET tags": 2, "GET blob": 1}), []string{"0.50× — **missed**", "1 blobs, 0 referrers requests (first run: 30 requests in all, cached: 7) — **missed**"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cached := &step{id: stepFullCached, runs: []runResult{tt.cached}}
			got := repeatTargets(map[string]*step{stepFullFirst: first, stepFullCached: cached}, load)
			if len(got) != len(tt.want) {
				t.Fatalf("got %q", got)
			}
			for i, w := range tt.want {
				if !strings.HasSuffix(got[i], w) {
					t.Errorf("line %d = %q, want it to end %q", i, got[i], w)
				}
			}
		})
	}
	if got := repeatTargets(map[string]*step{stepFullFirst: first}, load); got != nil {
		t.Errorf("without the cached row: %q", got)
	}
}
