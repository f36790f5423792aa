package registry

import (
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/imgtrust/kubectl-imgtrust/internal/testregistry"
)

// TestAnswerFaults covers registries that answer, but wrongly: redirect
// loops, HEADs that cannot tell the digest, pages that are not manifests,
// and a header digest the content disagrees with.
func TestAnswerFaults(t *testing.T) {
	tests := []struct {
		name       string
		fault      func(w http.ResponseWriter, r *http.Request) bool
		opts       Options
		wantReason Reason // "" = success with the pushed digest
		wantIn     string // in the message (or the note, on success)
		maxReqs    int    // manifest requests at most
	}{
		{
			name: "307 to the same path",
			fault: func(w http.ResponseWriter, r *http.Request) bool {
				http.Redirect(w, r, r.URL.Path, http.StatusTemporaryRedirect)
				return true
			},
			wantReason: ReasonRedirectLoop, wantIn: "more than 10 times", maxReqs: 11,
		},
		{
			name: "two paths pointing at each other",
			fault: func(w http.ResponseWriter, r *http.Request) bool {
				other := strings.Replace(r.URL.Path, "/manifests/v1", "/manifests/v2", 1)
				if strings.HasSuffix(r.URL.Path, "/v2") {
					other = strings.Replace(r.URL.Path, "/manifests/v2", "/manifests/v1", 1)
				}
				http.Redirect(w, r, other, http.StatusFound)
				return true
			},
			wantReason: ReasonRedirectLoop, maxReqs: 11,
		},
		{
			name: "HEAD without Docker-Content-Digest: GET and hash",
			fault: func(w http.ResponseWriter, r *http.Request) bool {
				if r.Method != http.MethodHead {
					return false
				}
				w.Header().Set("Content-Type", string(types.OCIManifestSchema1))
				w.Header().Set("Content-Length", "10")
				w.WriteHeader(http.StatusOK)
				return true
			},
			wantIn: "manifest GET", maxReqs: 2,
		},
		{
			name: "HEAD with an invalid digest header: GET and hash",
			fault: func(w http.ResponseWriter, r *http.Request) bool {
				if r.Method != http.MethodHead {
					return false
				}
				w.Header().Set("Content-Type", string(types.OCIManifestSchema1))
				w.Header().Set("Content-Length", "10")
				w.Header().Set("Docker-Content-Digest", "sha256:nothex")
				w.WriteHeader(http.StatusOK)
				return true
			},
			wantIn: "is not a digest", maxReqs: 2,
		},
		{
			name: "an HTML login page with a digest header",
			fault: func(w http.ResponseWriter, r *http.Request) bool {
				w.Header().Set("Content-Type", "text/html; charset=utf-8")
				w.Header().Set("Docker-Content-Digest", "sha256:"+strings.Repeat("a", 64))
				w.WriteHeader(http.StatusOK)
				if r.Method == http.MethodGet {
					fmt.Fprint(w, "<html>please log in</html>")
				}
				return true
			},
			wantReason: ReasonNotAManifest, wantIn: "text/html", maxReqs: 1,
		},
		{
			name: "application/json everywhere, not a manifest inside",
			fault: func(w http.ResponseWriter, r *http.Request) bool {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusOK)
				if r.Method == http.MethodGet {
					fmt.Fprint(w, `{"hello":"world"}`)
				}
				return true
			},
			wantReason: ReasonNotAManifest, maxReqs: 2,
		},
		{
			name: "HEAD header lies, content checked",
			fault: func(w http.ResponseWriter, r *http.Request) bool {
				if r.Method != http.MethodHead {
					// Serve the tag's manifest under the announced digest.
					r.URL.Path = "/v2/app/manifests/v1"
					return false
				}
				w.Header().Set("Content-Type", string(types.OCIManifestSchema1))
				w.Header().Set("Content-Length", "10")
				w.Header().Set("Docker-Content-Digest", "sha256:"+strings.Repeat("b", 64))
				w.WriteHeader(http.StatusOK)
				return true
			},
			opts:       Options{VerifyContent: true},
			wantReason: ReasonDigestMismatch, wantIn: "does not hash", maxReqs: 2,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := testregistry.New(t)
			want := reg.PushImage(t, "app:v1")
			var reqs atomic.Int64
			reg.Set(func(h *testregistry.Hooks) {
				h.Fault = testregistry.OnManifests(func(w http.ResponseWriter, r *http.Request) bool {
					reqs.Add(1)
					return tt.fault(w, r)
				})
			})
			o := tt.opts
			o.Insecure = []string{reg.Host}
			r := newResolver(t, o)
			start := time.Now()
			got := r.Resolve(t.Context(), Request{Image: reg.Host + "/app:v1"})
			t.Logf("%s: %s %v note=%q", time.Since(start), got.Digest, got.Err, got.Note)
			if time.Since(start) > 5*time.Second {
				t.Errorf("took %s, want a prompt answer", time.Since(start))
			}
			if tt.wantReason == "" {
				if got.Err != nil || got.Digest != want.String() {
					t.Errorf("got %s, %v; want %s", got.Digest, got.Err, want)
				}
				if !strings.Contains(got.Note, tt.wantIn) || !got.ContentVerified {
					t.Errorf("Note = %q, ContentVerified = %v; want a note with %q and a verified digest", got.Note, got.ContentVerified, tt.wantIn)
				}
			} else {
				if got.Err == nil || got.Err.Reason != tt.wantReason {
					t.Fatalf("Err = %v, want reason %s", got.Err, tt.wantReason)
				}
				if !strings.Contains(got.Err.Message, tt.wantIn) || !strings.Contains(got.Err.Message, reg.Host) {
					t.Errorf("Message = %q, want it to name %s and contain %q", got.Err.Message, reg.Host, tt.wantIn)
				}
			}
			if n := reqs.Load(); n > int64(tt.maxReqs) {
				t.Errorf("manifest requests = %d, want at most %d", n, tt.maxReqs)
			}
		})
	}
}

// TestVerifyContentCostsOneGET checks the verified path against an honest
// registry: a HEAD, then one GET by digest.
func TestVerifyContentCostsOneGET(t *testing.T) {
	reg := testregistry.New(t)
	want := reg.PushImage(t, "app:v1")
	reg.Reset()
	r := newResolver(t, Options{Insecure: []string{reg.Host}, VerifyContent: true})
	got := r.Resolve(t.Context(), Request{Image: reg.Host + "/app:v1"})
	if got.Err != nil || got.Digest != want.String() || !got.ContentVerified {
		t.Fatalf("got %s verified=%v err=%v, want %s verified", got.Digest, got.ContentVerified, got.Err, want)
	}
	if heads, gets := reg.Count(http.MethodHead, "/manifests/"), reg.Count(http.MethodGet, "/manifests/"); heads != 1 || gets != 1 {
		t.Errorf("HEADs, GETs = %d, %d; want 1, 1", heads, gets)
	}
}

// TestLookupDeadline bounds a lookup whose every attempt is answered just
// under the per-attempt timeout with a retried status.
func TestLookupDeadline(t *testing.T) {
	reg := testregistry.New(t)
	reg.PushImage(t, "app:v1")
	reg.Set(func(h *testregistry.Hooks) {
		h.Fault = testregistry.OnManifests(func(w http.ResponseWriter, r *http.Request) bool {
			time.Sleep(150 * time.Millisecond)
			w.WriteHeader(http.StatusServiceUnavailable)
			return true
		})
	})
	r := newResolver(t, Options{Insecure: []string{reg.Host}, Retries: 50, Timeout: time.Second, LookupTimeout: 500 * time.Millisecond})
	start := time.Now()
	got := r.Resolve(t.Context(), Request{Image: reg.Host + "/app:v1"})
	elapsed := time.Since(start)
	if got.Err == nil || got.Err.Reason != ReasonTimeout || !strings.Contains(got.Err.Message, "lookup budget of 500ms") {
		t.Fatalf("Err = %v, want a timeout naming the lookup budget", got.Err)
	}
	if elapsed > 2*time.Second {
		t.Errorf("took %s, want about 500ms", elapsed)
	}
}

// TestMessagesNameTheCause covers small message defects: an index without
// platforms, and the registry's own words when every credential is refused.
func TestMessagesNameTheCause(t *testing.T) {
	out := selectPlatform("r/a:v1", descOf(types.OCIImageIndex), []byte(`{"schemaVersion":2,"manifests":[]}`), mustPlatform(t, "linux/amd64"))
	if out.err == nil || !strings.Contains(out.err.Message, "it lists no platforms") {
		t.Errorf("empty index: %v, want \"it lists no platforms\"", out.err)
	}
	e := allRefused("reg.example", []refusal{
		{source: "pod-secret a/x", err: &Error{Reason: ReasonUnauthorized, Status: 401, Message: "registry reg.example refused the credential (HTTP 401 Unauthorized: UNAUTHORIZED token expired)"}},
		{source: "anonymous", err: &Error{Reason: ReasonUnauthorized, Status: 401, Message: "registry reg.example refused the credential (HTTP 401 Unauthorized)"}},
	})
	if !strings.Contains(e.Message, "token expired") || !strings.Contains(e.Message, "pod-secret a/x (401)") {
		t.Errorf("allRefused message = %q, want the sources and the registry's words", e.Message)
	}
}

func descOf(mt types.MediaType) v1.Descriptor {
	return v1.Descriptor{MediaType: mt, Digest: v1.Hash{Algorithm: "sha256", Hex: strings.Repeat("c", 64)}}
}

func mustPlatform(t *testing.T, s string) v1.Platform {
	t.Helper()
	p, err := v1.ParsePlatform(s)
	if err != nil {
		t.Fatal(err)
	}
	return *p
}
