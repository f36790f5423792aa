package registry

import (
	"slices"
	"testing"
)

// A host's queue starts one lookup per repository, then the second of each,
// and puts repeats of a queued lookup (same image, same first credential)
// last, so workers never wait for each other while new lookups remain.
func TestSpreadQueue(t *testing.T) {
	alice := Credential{Source: "pod secret ns/a", ID: "alice"}
	bob := Credential{Source: "pod secret ns/b", ID: "bob"}
	reqs := []Request{
		{Image: "r.example/a:1"},                                   // 0: a, round 0
		{Image: "r.example/a:2"},                                   // 1: a, round 1
		{Image: "r.example/a:1"},                                   // 2: repeat of 0
		{Image: "r.example/b:1"},                                   // 3: b, round 0
		{Image: "r.example/a:1", Credentials: []Credential{alice}}, // 4: a as alice, round 0
		{Image: "r.example/a:1", Credentials: []Credential{{Source: "other", ID: "alice"}}}, // 5: the same login elsewhere: repeat of 4
		{Image: "r.example/a:3"}, // 6: a, round 2
		{Image: "r.example/b:2", Credentials: []Credential{bob, alice}}, // 7: b as bob, round 0
	}
	repos := make([]string, len(reqs))
	for i, r := range reqs {
		repos[i] = r.Image[:len(r.Image)-2]
	}
	got := spreadQueue(reqs, repos, []int{0, 1, 2, 3, 4, 5, 6, 7})
	want := []int{0, 3, 4, 7, 1, 6, 2, 5}
	if !slices.Equal(got, want) {
		t.Errorf("order = %v, want %v", got, want)
	}
}
