package registry

import (
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/imgtrust/kubectl-imgtrust/internal/testregistry"
)

// One ping per registry, whatever the number of repositories and
// credentials: go-containerregistry alone pings once per (repository,
// credential).
func TestOnePingPerRegistry(t *testing.T) {
	reg := testregistry.New(t, testregistry.WithTLS())
	var repos []string
	for i := range 4 {
		repo := fmt.Sprintf("team/app%d:1", i)
		reg.PushImage(t, repo)
		repos = append(repos, repo)
	}
	var pings, authenticatedPings atomic.Int32
	users := map[string]string{"alice": "a-pass", "bob": "b-pass"}
	reg.Set(func(h *testregistry.Hooks) {
		h.Auth = func(w http.ResponseWriter, r *http.Request) bool {
			if r.URL.Path == "/v2/" {
				pings.Add(1)
				if r.Header.Get("Authorization") != "" {
					authenticatedPings.Add(1)
				}
			}
			if u, p, ok := r.BasicAuth(); ok && users[u] == p {
				return false
			}
			w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
			testregistry.WriteError(w, http.StatusUnauthorized, "UNAUTHORIZED", "authentication required")
			return true
		}
	})
	var reqs []Request
	for _, repo := range repos {
		for user, pass := range users {
			reqs = append(reqs, Request{Image: reg.Host + "/" + repo, Credentials: []Credential{basicCred("pod-secret shop/"+user, user, pass)}})
		}
	}
	r := newResolver(t, Options{CAFile: reg.CAFile(t), PerHost: 4})
	for i, res := range r.ResolveAll(t.Context(), reqs) {
		if res.Err != nil || res.Digest == "" {
			t.Errorf("request %d (%s): %v", i, reqs[i].Image, res.Err)
		}
	}
	if got := pings.Load(); got != 1 {
		t.Errorf("%d pings for %d repositories × 2 credentials, want 1", got, len(repos))
	}
	if authenticatedPings.Load() != 0 {
		t.Errorf("a ping carried credentials")
	}
}
