package registry

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/imgtrust/kubectl-imgtrust/internal/testregistry"
)

const (
	verifyUser = "alice"
	verifyPass = "s3cr3t-Verify-Pass"
)

// requestLog records every request a test server receives.
type requestLog struct {
	mu    sync.Mutex
	paths []string
	auths int // requests that carried an Authorization header
}

func (l *requestLog) add(r *http.Request) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.paths = append(l.paths, r.Method+" "+r.URL.Path)
	if r.Header.Get("Authorization") != "" {
		l.auths++
	}
}

func (l *requestLog) snapshot() ([]string, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.paths...), l.auths
}

func newTestVerifier(t *testing.T, reg *testregistry.Registry) *Verifier {
	t.Helper()
	v, err := NewVerifier(Options{CAFile: reg.CAFile(t), UserAgent: "kubectl-imgtrust/test"})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// fakeJWT builds an unsigned token whose payload grants actions on repo.
func fakeJWT(repo string, actions ...string) string {
	access := []map[string]any{}
	if repo != "" {
		access = append(access, map[string]any{"type": "repository", "name": repo, "actions": actions})
	}
	payload, _ := json.Marshal(map[string]any{"access": access})
	enc := base64.RawURLEncoding
	return enc.EncodeToString([]byte(`{"alg":"none"}`)) + "." + enc.EncodeToString(payload) + ".c2ln"
}

// bearerAuth makes the test registry a token registry: /v2/ asks for a
// bearer token from /token on the same server, which accepts user:pass and
// gives anonymous callers anonToken (401 when empty).
func bearerAuth(reg *testregistry.Registry, user, pass, anonToken string) func(w http.ResponseWriter, r *http.Request) bool {
	return func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path == "/token" {
			u, p, ok := r.BasicAuth()
			var tok string
			switch {
			case ok && u == user && p == pass:
				tok = fakeJWT(strings.TrimSuffix(strings.TrimPrefix(r.URL.Query().Get("scope"), "repository:"), ":pull"), "pull")
			case !ok && anonToken != "":
				tok = anonToken
			default:
				testregistry.WriteError(w, http.StatusUnauthorized, "UNAUTHORIZED", "bad credentials")
				return true
			}
			_ = json.NewEncoder(w).Encode(map[string]string{"token": tok})
			return true
		}
		if strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ") {
			return false
		}
		w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer realm="https://%s/token",service="test"`, reg.Host))
		testregistry.WriteError(w, http.StatusUnauthorized, "UNAUTHORIZED", "authentication required")
		return true
	}
}

func TestVerify(t *testing.T) {
	right := basicCred("pod-secret ns/right", verifyUser, verifyPass)
	wrong := basicCred("pod-secret ns/wrong", verifyUser, "not-"+verifyPass)
	tests := []struct {
		name string
		auth func(reg *testregistry.Registry) func(w http.ResponseWriter, r *http.Request) bool
		cred Credential
		want VerifyResult
		msg  string
	}{
		{"basic, right password", func(*testregistry.Registry) func(http.ResponseWriter, *http.Request) bool {
			return testregistry.BasicAuth(verifyUser, verifyPass)
		}, right, VerifyOK, "accepted the credential"},
		{"basic, wrong password", func(*testregistry.Registry) func(http.ResponseWriter, *http.Request) bool {
			return testregistry.BasicAuth(verifyUser, verifyPass)
		}, wrong, VerifyRejected, "refused the credential"},
		{"basic, anonymous", func(*testregistry.Registry) func(http.ResponseWriter, *http.Request) bool {
			return testregistry.BasicAuth(verifyUser, verifyPass)
		}, Anonymous, VerifyRejected, "requires basic authentication"},
		{"open registry, anonymous", nil, Anonymous, VerifyOK, "serves without authentication"},
		{"open registry, credential", nil, right, VerifyOK, "serves without authentication"},
		{"bearer, right password", func(reg *testregistry.Registry) func(http.ResponseWriter, *http.Request) bool {
			return bearerAuth(reg, verifyUser, verifyPass, "")
		}, right, VerifyOK, "accepted the credential"},
		{"bearer, wrong password", func(reg *testregistry.Registry) func(http.ResponseWriter, *http.Request) bool {
			return bearerAuth(reg, verifyUser, verifyPass, "")
		}, wrong, VerifyRejected, "refused the credential"},
		{"bearer, anonymous token granting pull", func(reg *testregistry.Registry) func(http.ResponseWriter, *http.Request) bool {
			return bearerAuth(reg, verifyUser, verifyPass, fakeJWT("team/app", "pull"))
		}, Anonymous, VerifyOK, "grants anonymous pull tokens"},
		{"bearer, anonymous token granting nothing", func(reg *testregistry.Registry) func(http.ResponseWriter, *http.Request) bool {
			return bearerAuth(reg, verifyUser, verifyPass, fakeJWT(""))
		}, Anonymous, VerifyRejected, "granted no pull access to team/app"},
		{"bearer, anonymous refused", func(reg *testregistry.Registry) func(http.ResponseWriter, *http.Request) bool {
			return bearerAuth(reg, verifyUser, verifyPass, "")
		}, Anonymous, VerifyRejected, "refused"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := testregistry.New(t, testregistry.WithTLS())
			log := &requestLog{}
			var auth func(w http.ResponseWriter, r *http.Request) bool
			if tt.auth != nil {
				auth = tt.auth(reg)
			}
			reg.Set(func(h *testregistry.Hooks) {
				h.Auth = func(w http.ResponseWriter, r *http.Request) bool {
					log.add(r)
					return auth != nil && auth(w, r)
				}
			})
			v := newTestVerifier(t, reg)
			got := v.Verify(context.Background(), reg.Host, "team/app", tt.cred)
			if got.Result != tt.want || !strings.Contains(got.Message, tt.msg) {
				t.Errorf("Verify = %+v, want %s with a message containing %q", got, tt.want, tt.msg)
			}
			for _, secret := range []string{verifyPass, base64.StdEncoding.EncodeToString([]byte(verifyUser + ":" + verifyPass))} {
				if strings.Contains(got.Message, secret) {
					t.Errorf("message %q holds a secret", got.Message)
				}
			}
			paths, auths := log.snapshot()
			for _, p := range paths {
				if strings.Contains(p, "/manifests/") || strings.Contains(p, "/blobs/") {
					t.Errorf("Verify sent %s: it must never pull", p)
				}
			}
			if tt.cred.ID != Anonymous.ID && tt.auth != nil && auths != 1 {
				t.Errorf("the credential was sent %d times, want exactly once (requests: %v)", auths, paths)
			}

			// Asking again sends nothing: a refused credential is never
			// retried, whatever the repository; anonymous access is kept
			// per repository.
			repo := "team/other"
			if tt.cred.ID == Anonymous.ID {
				repo = "team/app"
			}
			again := v.Verify(context.Background(), reg.Host, repo, tt.cred)
			if again != got {
				t.Errorf("second Verify = %+v, want the first verdict %+v", again, got)
			}
			if p2, _ := log.snapshot(); len(p2) != len(paths) {
				t.Errorf("second Verify sent %d more requests, want none", len(p2)-len(paths))
			}
		})
	}
}

func TestVerifyAnonymousPerRepository(t *testing.T) {
	reg := testregistry.New(t, testregistry.WithTLS())
	auth := bearerAuth(reg, verifyUser, verifyPass, fakeJWT("team/public", "pull"))
	reg.Set(func(h *testregistry.Hooks) { h.Auth = auth })
	v := newTestVerifier(t, reg)
	if got := v.Verify(context.Background(), reg.Host, "team/public", Anonymous); got.Result != VerifyOK {
		t.Errorf("team/public: got %+v, want ok", got)
	}
	if got := v.Verify(context.Background(), reg.Host, "team/private", Anonymous); got.Result != VerifyRejected {
		t.Errorf("team/private: got %+v, want rejected", got)
	}
}

func TestVerifyUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	host := strings.TrimPrefix(srv.URL, "http://")
	srv.Close()
	v, err := NewVerifier(Options{Insecure: []string{host}})
	if err != nil {
		t.Fatal(err)
	}
	got := v.Verify(context.Background(), host, "team/app", basicCred("pod-secret ns/s", verifyUser, verifyPass))
	if got.Result != VerifyUnreachable || !strings.Contains(got.Message, host) {
		t.Errorf("Verify = %+v, want unreachable naming %s", got, host)
	}
}

func TestVerifyUntrustedCertificateIsUnreachable(t *testing.T) {
	reg := testregistry.New(t, testregistry.WithTLS())
	v, err := NewVerifier(Options{})
	if err != nil {
		t.Fatal(err)
	}
	got := v.Verify(context.Background(), reg.Host, "team/app", Credential{Source: "x", ID: "x", Auth: &authn.Basic{Username: verifyUser, Password: verifyPass}})
	if got.Result != VerifyUnreachable || !strings.Contains(got.Message, "certificate") {
		t.Errorf("Verify = %+v, want unreachable about the certificate", got)
	}
}

func TestGrantsPull(t *testing.T) {
	tests := []struct {
		name         string
		body         string
		grants, know bool
	}{
		{"pull granted", `{"token":"` + fakeJWT("team/app", "pull") + `"}`, true, true},
		{"wildcard", `{"access_token":"` + fakeJWT("team/app", "*") + `"}`, true, true},
		{"other repository", `{"token":"` + fakeJWT("team/other", "pull") + `"}`, false, true},
		{"push only", `{"token":"` + fakeJWT("team/app", "push") + `"}`, false, true},
		{"empty access", `{"token":"` + fakeJWT("") + `"}`, false, true},
		{"opaque token", `{"token":"abcdef"}`, false, false},
		{"not json", `nope`, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			grants, known := grantsPull([]byte(tt.body), "team/app")
			if grants != tt.grants || known != tt.know {
				t.Errorf("grantsPull = %t, %t; want %t, %t", grants, known, tt.grants, tt.know)
			}
		})
	}
}

// Docker Hub, under each of its names, and the hosts Options.HeadFirst
// lists are asked for presence with a HEAD; other registries with a GET.
func TestHeadFirst(t *testing.T) {
	r, err := New(Options{HeadFirst: []string{"quota.example:5000"}})
	if err != nil {
		t.Fatal(err)
	}
	for host, want := range map[string]bool{
		"index.docker.io": true, "docker.io": true, "registry-1.docker.io": true, "registry.hub.docker.com": true, "quota.example:5000": true,
		"ghcr.io": false, "quota.example": false, "registry.k8s.io": false,
	} {
		if got := r.headFirst(host); got != want {
			t.Errorf("headFirst(%q) = %t, want %t", host, got, want)
		}
	}
	// What image references name Docker Hub by resolves to one of them.
	ref, err := r.parse("nginx:1.27")
	if err != nil {
		t.Fatal(err)
	}
	if !r.headFirst(ref.Context().RegistryStr()) {
		t.Errorf("%s: not head-first", ref.Context().RegistryStr())
	}
}
