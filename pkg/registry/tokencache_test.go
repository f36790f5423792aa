package registry

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

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

// tokenService answers token requests with a new token each time, or with
// status when it is set; it counts what reached it.
type tokenService struct {
	status int
	sent   int
}

func (s *tokenService) RoundTrip(req *http.Request) (*http.Response, error) {
	s.sent++
	if strings.HasPrefix(req.URL.Path, "/v2/") {
		return &http.Response{StatusCode: http.StatusUnauthorized, Body: http.NoBody, Request: req}, nil
	}
	if s.status != 0 {
		return &http.Response{StatusCode: s.status, Body: http.NoBody, Request: req}, nil
	}
	body := fmt.Sprintf(`{"token":"tok-%d","expires_in":60}`, s.sent)
	return &http.Response{StatusCode: http.StatusOK, Body: io.NopCloser(strings.NewReader(body)), Request: req}, nil
}

// A failed exchange is not kept, a kept token lasts half its life, and a
// token a registry refuses is dropped: each of those sends the next
// exchange for real.
func TestTokenCacheKeepsOnlyGoodLiveTokens(t *testing.T) {
	svc := &tokenService{status: http.StatusServiceUnavailable}
	now := time.Unix(0, 0)
	c := &tokenCache{next: svc, isRealm: func(r *http.Request) bool { return r.URL.Path == "/token" }, now: func() time.Time { return now }}
	exchange := func(user string) string {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, "https://auth.example/token?scope=repository%3Aapp%3Apull&service=reg", nil)
		req.SetBasicAuth(user, "pw")
		resp, err := c.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		return fmt.Sprintf("%d %s", resp.StatusCode, b)
	}
	if got := exchange("u"); !strings.HasPrefix(got, "503") {
		t.Fatalf("first exchange: %s, want the 503 passed on", got)
	}
	svc.status = 0
	first := exchange("u")
	if first != `200 {"token":"tok-2","expires_in":60}` || svc.sent != 2 {
		t.Fatalf("after a failure: %s with %d sent, want a real second exchange", first, svc.sent)
	}
	if got := exchange("u"); got != first || svc.sent != 2 {
		t.Fatalf("same exchange again: %s with %d sent, want the kept answer and nothing sent", got, svc.sent)
	}
	if got := exchange("other"); got == first || svc.sent != 3 {
		t.Fatalf("another credential: %s with %d sent, want an exchange of its own", got, svc.sent)
	}

	// A registry refuses tok-2: the next exchange is real.
	req, _ := http.NewRequest(http.MethodHead, "https://reg.example/v2/app/manifests/v1", nil)
	req.Header.Set("Authorization", "Bearer tok-2")
	if _, err := c.RoundTrip(req); err != nil {
		t.Fatal(err)
	}
	sent := svc.sent
	if got := exchange("u"); got == first || svc.sent != sent+1 {
		t.Fatalf("after tok-2 was refused: %s with %d sent (was %d), want a new token", got, svc.sent, sent)
	}
	// Past half its 60 s life, the kept token is not handed out.
	now = now.Add(31 * time.Second)
	sent = svc.sent
	exchange("u")
	if svc.sent != sent+1 {
		t.Fatalf("a token past half its life was handed out again (%d sent, was %d)", svc.sent, sent)
	}
}
