package registry

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"

	"github.com/imgtrust/kubectl-imgtrust/internal/testregistry"
)

// bearerPerScope puts reg behind a token service of its own, as distribution
// does (on the registry's own host, at /token): a Bearer challenge naming the repository's pull scope, tokens
// issued for user:pass only, each valid for the one scope it was issued
// for. It returns the scopes asked, one per token request.
func bearerPerScope(t *testing.T, reg *testregistry.Registry, user, pass string) func() []string {
	t.Helper()
	var mu sync.Mutex
	var asked []string
	issued := map[string]string{} // token → scope
	issue := func(w http.ResponseWriter, r *http.Request) {
		u, p, ok := r.BasicAuth()
		scope := r.URL.Query().Get("scope")
		mu.Lock()
		asked = append(asked, scope)
		tok := fmt.Sprintf("tok-%d", len(asked))
		if ok && u == user && p == pass {
			issued[tok] = scope
		}
		mu.Unlock()
		if !ok || u != user || p != pass {
			testregistry.WriteError(w, http.StatusUnauthorized, "UNAUTHORIZED", "bad credentials")
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"token": tok, "expires_in": 300})
	}
	reg.Set(func(h *testregistry.Hooks) {
		h.Auth = func(w http.ResponseWriter, r *http.Request) bool {
			if r.URL.Path == "/token" {
				issue(w, r)
				return true
			}
			repo := strings.TrimPrefix(r.URL.Path, "/v2/")
			for _, sep := range []string{"/manifests/", "/tags/", "/blobs/", "/referrers/"} {
				if i := strings.Index(repo, sep); i >= 0 {
					repo = repo[:i]
				}
			}
			scope := "repository:" + repo + ":pull"
			mu.Lock()
			got, ok := issued[strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")]
			mu.Unlock()
			if ok && (got == scope || r.URL.Path == "/v2/") {
				return false
			}
			if r.URL.Path == "/v2/" {
				scope = ""
			}
			w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer realm=%q,service="test",scope=%q`, reg.Server.URL+"/token", scope))
			testregistry.WriteError(w, http.StatusUnauthorized, "UNAUTHORIZED", "authentication required")
			return true
		}
	})
	return func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), asked...)
	}
}

// The tag listing of a repository reuses the token its manifest HEAD got
// (same credential, same repository:NAME:pull scope): one token request,
// not two. Another repository still gets a token of its own, and so does
// another credential: a token is never widened nor lent.
func TestTagsReuseTheHeadsToken(t *testing.T) {
	reg := testregistry.New(t)
	reg.PushImage(t, "app:v1")
	reg.PushImage(t, "other:v1")
	asked := bearerPerScope(t, reg, "user", "pass")
	cred := Credential{Source: "pod-secret ns/s", ID: "s", Auth: &authn.Basic{Username: "user", Password: "pass"}}
	r := newResolver(t, Options{Insecure: []string{reg.Host}})

	res := r.Resolve(t.Context(), Request{Image: reg.Host + "/app:v1", Credentials: []Credential{cred}})
	if res.Err != nil {
		t.Fatalf("Resolve: %v", res.Err)
	}
	tags, _, e := r.Artifacts(cred).Tags(t.Context(), reg.Repo(t, "app"))
	if e != nil || strings.Join(tags, ",") != "v1" {
		t.Fatalf("Tags(app) = %v, %v; want [v1]", tags, e)
	}
	if got := asked(); len(got) != 1 || got[0] != "repository:app:pull" {
		t.Fatalf("token requests for HEAD + tag list of app: %q, want one for repository:app:pull", got)
	}
	if n := reg.Count(http.MethodGet, "/tags/list"); n != 1 {
		t.Errorf("tag list requests served: %d, want 1 (the reused token was accepted)", n)
	}

	if _, _, e := r.Artifacts(cred).Tags(t.Context(), reg.Repo(t, "other")); e != nil {
		t.Fatalf("Tags(other): %v", e)
	}
	if got := asked(); len(got) != 2 || got[1] != "repository:other:pull" {
		t.Fatalf("token requests after listing other: %q, want a second one for repository:other:pull", got)
	}

	wrong := Credential{Source: "pod-secret ns/w", ID: "w", Auth: &authn.Basic{Username: "user", Password: "wrong"}}
	if _, _, e := r.Artifacts(wrong).Tags(t.Context(), reg.Repo(t, "app")); e == nil || e.Reason != ReasonUnauthorized {
		t.Fatalf("Tags(app) with another credential: %v, want unauthorized (no token lent)", e)
	}
	if got := asked(); len(got) != 3 {
		t.Errorf("token requests after another credential: %q, want a third (its own)", got)
	}
}
