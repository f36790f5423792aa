package registry

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/imgtrust/kubectl-imgtrust/internal/testregistry"
)

func TestResolveTagsToDigests(t *testing.T) {
	reg := testregistry.New(t)
	imgDigest := reg.PushImage(t, "app:v1")
	ociIndex, _ := reg.PushIndex(t, "multi:oci", types.OCIImageIndex, "linux/amd64", "linux/arm64")
	dockerList, _ := reg.PushIndex(t, "multi:docker", types.DockerManifestList, "linux/amd64", "linux/arm/v7")
	reg.Reset()

	tests := []struct {
		image         string
		wantDigest    string
		wantMediaType types.MediaType
	}{
		{reg.Host + "/app:v1", imgDigest.String(), types.DockerManifestSchema2},
		{reg.Host + "/multi:oci", ociIndex.String(), types.OCIImageIndex},
		{reg.Host + "/multi:docker", dockerList.String(), types.DockerManifestList},
	}
	r := newResolver(t, Options{Insecure: []string{reg.Host}})
	for _, tt := range tests {
		t.Run(tt.image, func(t *testing.T) {
			got := r.Resolve(t.Context(), Request{Image: tt.image})
			if got.Err != nil {
				t.Fatalf("Resolve(%q) error: %v", tt.image, got.Err)
			}
			if got.Digest != tt.wantDigest {
				t.Errorf("Resolve(%q).Digest = %s, want %s", tt.image, got.Digest, tt.wantDigest)
			}
			if got.MediaType != string(tt.wantMediaType) {
				t.Errorf("Resolve(%q).MediaType = %s, want %s", tt.image, got.MediaType, tt.wantMediaType)
			}
			if got.CredentialSource != "anonymous" {
				t.Errorf("Resolve(%q).CredentialSource = %q, want anonymous", tt.image, got.CredentialSource)
			}
			if got.Reference != tt.image {
				t.Errorf("Resolve(%q).Reference = %q, want %q", tt.image, got.Reference, tt.image)
			}
		})
	}
	heads, gets := reg.Count(http.MethodHead, "/manifests/"), reg.Count(http.MethodGet, "/manifests/")
	if heads != len(tests) || gets != 0 {
		t.Errorf("manifest requests: %d HEAD, %d GET; want %d HEAD, 0 GET", heads, gets, len(tests))
	}
	if s := r.Stats(); s.ManifestHEADs != len(tests) || s.ManifestGETs != 0 || s.Lookups != len(tests) {
		t.Errorf("Stats() = %+v, want %d HEADs, 0 GETs, %d lookups", s, len(tests), len(tests))
	}
}

func TestResolvePlatform(t *testing.T) {
	reg := testregistry.New(t)
	imgDigest := reg.PushImage(t, "single:v1")
	idxDigest, children := reg.PushIndex(t, "multi:v1", types.OCIImageIndex, "linux/amd64", "linux/arm64/v8", "linux/arm/v7")

	tests := []struct {
		platform           string
		image              string
		wantDigest         string
		wantPlatform       string
		wantPlatformDigest string
		wantReason         Reason
		wantNote           string
	}{
		{"linux/amd64", "multi:v1", idxDigest.String(), "linux/amd64", children["linux/amd64"].String(), "", ""},
		{"linux/arm64", "multi:v1", idxDigest.String(), "linux/arm64/v8", children["linux/arm64/v8"].String(), "", ""},
		{"linux/arm64/v8", "multi:v1", idxDigest.String(), "linux/arm64/v8", children["linux/arm64/v8"].String(), "", ""},
		{"linux/arm/v7", "multi:v1", idxDigest.String(), "linux/arm/v7", children["linux/arm/v7"].String(), "", ""},
		{"linux/s390x", "multi:v1", idxDigest.String(), "", "", ReasonNoMatchingPlatform, ""},
		{"linux/arm64", "single:v1", imgDigest.String(), "", "", "", "not applicable"},
		{"linux/arm64", "multi@" + idxDigest.String(), idxDigest.String(), "linux/arm64/v8", children["linux/arm64/v8"].String(), "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.platform+" "+tt.image, func(t *testing.T) {
			r := newResolver(t, Options{Insecure: []string{reg.Host}, Platform: tt.platform})
			got := r.Resolve(t.Context(), Request{Image: reg.Host + "/" + tt.image})
			if got.Digest != tt.wantDigest {
				t.Errorf("Digest = %s, want %s", got.Digest, tt.wantDigest)
			}
			if got.Platform != tt.wantPlatform || got.PlatformDigest != tt.wantPlatformDigest {
				t.Errorf("Platform, PlatformDigest = %q, %s; want %q, %s", got.Platform, got.PlatformDigest, tt.wantPlatform, tt.wantPlatformDigest)
			}
			gotReason := Reason("")
			if got.Err != nil {
				gotReason = got.Err.Reason
			}
			if gotReason != tt.wantReason {
				t.Errorf("Err = %v, want reason %q", got.Err, tt.wantReason)
			}
			if !strings.Contains(got.Note, tt.wantNote) || (tt.wantNote == "" && got.Note != "") {
				t.Errorf("Note = %q, want it to contain %q", got.Note, tt.wantNote)
			}
			if s := r.Stats(); s.ManifestGETs != 1 || s.ManifestHEADs != 0 {
				t.Errorf("Stats() = %+v, want exactly 1 manifest GET and no HEAD", s)
			}
			// The GET listed the index's manifests: audit's tag-moved
			// check needs no second read.
			if want := tt.wantDigest == idxDigest.String(); want != (len(got.IndexManifests) == 3 && slices.Contains(got.IndexManifests, children["linux/arm/v7"].String())) {
				t.Errorf("IndexManifests = %v, want the index's 3 manifests: %v", got.IndexManifests, want)
			}
		})
	}
}

func TestDigestReferenceNeedsNoRequest(t *testing.T) {
	const d = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	r := newResolver(t, Options{})
	for _, image := range []string{"nginx@" + d, "nginx:1.25@" + d, "registry.invalid:5000/a/b@" + d} {
		got := r.Resolve(t.Context(), Request{Image: image})
		if got.Err != nil || got.Digest != d {
			t.Errorf("Resolve(%q) = %s, %v; want %s, no error", image, got.Digest, got.Err, d)
		}
		if got.CredentialSource != "" {
			t.Errorf("Resolve(%q).CredentialSource = %q, want none", image, got.CredentialSource)
		}
	}
	if s := r.Stats(); s.Requests != 0 || s.Lookups != 0 {
		t.Errorf("Stats() = %+v, want no request at all", s)
	}
}

// TestKubeletGrammar: references go-containerregistry's own parser would
// reject or read differently resolve as the kubelet reads them.
func TestKubeletGrammar(t *testing.T) {
	r := newResolver(t, Options{})
	for image, want := range map[string]string{
		"nginx":                   "index.docker.io/library/nginx:latest",
		"docker.io/acme/web:1":    "index.docker.io/acme/web:1",
		"REGISTRY/app:1":          "REGISTRY/app:1",
		"MyHost:5000/team/app:v2": "MyHost:5000/team/app:v2",
	} {
		ref, err := r.parse(image)
		if err != nil || ref.Name() != want {
			t.Errorf("parse(%q) = %v, %v; want %s", image, ref, err, want)
		}
	}
}

func TestInvalidReference(t *testing.T) {
	r := newResolver(t, Options{})
	// The kubelet's grammar: "UPPER/case" is a host alias and valid, an
	// uppercase path, a tag starting with "-" and "a//b" are not.
	for _, image := range []string{"", " nginx", "upper/CASE", "nginx:tag:tag", "nginx@sha256:short", "nginx:-tag", "a//b", "-docker"} {
		got := r.Resolve(t.Context(), Request{Image: image})
		if got.Err == nil || got.Err.Reason != ReasonInvalidReference {
			t.Errorf("Resolve(%q).Err = %v, want %s", image, got.Err, ReasonInvalidReference)
		}
	}
	if s := r.Stats(); s.Requests != 0 {
		t.Errorf("Stats().Requests = %d, want 0", s.Requests)
	}
}

func TestCredentialOrder(t *testing.T) {
	reg := testregistry.New(t)
	want := reg.PushImage(t, "private/app:v1")
	reg.Set(func(h *testregistry.Hooks) {
		basic := testregistry.BasicAuth("good", "good-password")
		forbid := forbidManifests("reader")
		h.Auth = func(w http.ResponseWriter, r *http.Request) bool {
			if u, p, _ := r.BasicAuth(); u == "reader" && p == "reader-password" {
				return forbid(w, r)
			}
			return basic(w, r)
		}
	})
	var (
		good   = basicCred("pod-secret ns/good", "good", "good-password")
		bad    = basicCred("pod-secret ns/bad", "good", "wrong-password")
		reader = basicCred("service-account-secret ns/reader", "reader", "reader-password")
	)
	tests := []struct {
		name       string
		creds      []Credential
		wantSource string
		wantReason Reason
		wantStatus int
	}{
		{"first rejected, second accepted", []Credential{bad, good}, good.Source, "", 0},
		{"first accepted", []Credential{good, bad}, good.Source, "", 0},
		{"anonymous last, after a good one", []Credential{bad, good, Anonymous}, good.Source, "", 0},
		{"all rejected", []Credential{bad, Anonymous}, "", ReasonUnauthorized, http.StatusUnauthorized},
		{"none given means anonymous", nil, "", ReasonUnauthorized, http.StatusUnauthorized},
		{"forbidden", []Credential{reader}, "", ReasonForbidden, http.StatusForbidden},
		{"forbidden then accepted", []Credential{reader, good}, good.Source, "", 0},
		{"forbidden and rejected", []Credential{reader, bad, Anonymous}, "", ReasonForbidden, http.StatusForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newResolver(t, Options{Insecure: []string{reg.Host}})
			got := r.Resolve(t.Context(), Request{Image: reg.Host + "/private/app:v1", Credentials: tt.creds})
			t.Logf("%+v", got.Err)
			if got.CredentialSource != tt.wantSource {
				t.Errorf("CredentialSource = %q, want %q (err %v)", got.CredentialSource, tt.wantSource, got.Err)
			}
			if tt.wantReason == "" {
				if got.Err != nil || got.Digest != want.String() {
					t.Errorf("got %s, %v; want %s, no error", got.Digest, got.Err, want)
				}
				return
			}
			if got.Err == nil || got.Err.Reason != tt.wantReason || got.Err.Status != tt.wantStatus {
				t.Fatalf("Err = %+v, want reason %s status %d", got.Err, tt.wantReason, tt.wantStatus)
			}
			if got.Digest != "" {
				t.Errorf("Digest = %s, want none", got.Digest)
			}
			for _, c := range tt.creds {
				if len(tt.creds) > 1 && !strings.Contains(got.Err.Message, c.Source) {
					t.Errorf("Err.Message = %q, want it to name %q", got.Err.Message, c.Source)
				}
			}
		})
	}
}

// A non-auth failure ends the credential search: the next credential is
// not tried.
func TestNonAuthFailureEndsSearch(t *testing.T) {
	reg := testregistry.New(t)
	reg.Set(func(h *testregistry.Hooks) { h.Auth = testregistry.BasicAuth("good", "pw") })
	r := newResolver(t, Options{Insecure: []string{reg.Host}})
	first := basicCred("first", "good", "pw")
	second := basicCred("second", "other", "pw2")
	got := r.Resolve(t.Context(), Request{Image: reg.Host + "/missing:v1", Credentials: []Credential{first, second}})
	if got.Err == nil || got.Err.Reason != ReasonNotFound || got.Err.Status != http.StatusNotFound {
		t.Fatalf("Err = %+v, want not-found 404", got.Err)
	}
	if got.CredentialSource != "first" {
		t.Errorf("CredentialSource = %q, want first", got.CredentialSource)
	}
	if s := r.Stats(); s.Lookups != 1 {
		t.Errorf("Stats().Lookups = %d, want 1 (second credential not tried)", s.Lookups)
	}
}

// tokenServer turns the test registry into a bearer-token registry whose
// token service lives at realm; it issues a token to user:pass only.
func tokenAuth(realm, user, pass string) func(w http.ResponseWriter, r *http.Request) bool {
	const token = "the-registry-token"
	return func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path == "/token" {
			if u, p, ok := r.BasicAuth(); !ok || u != user || p != pass {
				testregistry.WriteError(w, http.StatusUnauthorized, "UNAUTHORIZED", "bad credentials")
				return true
			}
			w.Header().Set("Content-Type", "application/json")
			_, _ = fmt.Fprintf(w, `{"token":%q,"expires_in":300}`, token)
			return true
		}
		if r.Header.Get("Authorization") == "Bearer "+token {
			return false
		}
		w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer realm=%q,service="test",scope="repository:app:pull"`, realm))
		testregistry.WriteError(w, http.StatusUnauthorized, "UNAUTHORIZED", "authentication required")
		return true
	}
}

func TestBearerTokenExchange(t *testing.T) {
	reg := testregistry.New(t)
	want := reg.PushImage(t, "app:v1")
	reg.Set(func(h *testregistry.Hooks) { h.Auth = tokenAuth(reg.Server.URL+"/token", "robot", "robot-pw") })

	r := newResolver(t, Options{Insecure: []string{reg.Host}})
	denied := basicCred("pod-secret ns/old", "robot", "old-pw")
	ok := basicCred("pod-secret ns/new", "robot", "robot-pw")
	got := r.Resolve(t.Context(), Request{Image: reg.Host + "/app:v1", Credentials: []Credential{denied, ok}})
	if got.Err != nil || got.Digest != want.String() || got.CredentialSource != ok.Source {
		t.Fatalf("got %s from %q, %v; want %s from %q", got.Digest, got.CredentialSource, got.Err, want, ok.Source)
	}

	got = r.Resolve(t.Context(), Request{Image: reg.Host + "/app:v1", Credentials: []Credential{denied, Anonymous}})
	if got.Err == nil || got.Err.Reason != ReasonUnauthorized {
		t.Fatalf("Err = %v, want unauthorized (token exchange refused)", got.Err)
	}
	if !strings.Contains(got.Err.Message, "pod-secret ns/old") || !strings.Contains(got.Err.Message, "anonymous") {
		t.Errorf("Err.Message = %q, want both sources named", got.Err.Message)
	}
}

func TestInsecureTokenRealm(t *testing.T) {
	tests := []struct {
		name        string
		tls         bool
		realm       func(reg *testregistry.Registry) string
		wantMessage []string
	}{
		{
			name:        "private address other than the registry",
			realm:       func(*testregistry.Registry) string { return "http://10.0.0.5/token?secret=abc" },
			wantMessage: []string{"sent its token service at http://10.0.0.5/token;", "refusing to send credentials to a private address", "other than the registry itself"},
		},
		{
			name:        "plain http realm for an https registry",
			tls:         true,
			realm:       func(*testregistry.Registry) string { return "http://auth.example.com/token" },
			wantMessage: []string{"served over HTTPS", "http://auth.example.com/token", "plain HTTP"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var opts []testregistry.Option
			if tt.tls {
				opts = append(opts, testregistry.WithTLS())
			}
			reg := testregistry.New(t, opts...)
			reg.Set(func(h *testregistry.Hooks) { h.Auth = tokenAuth(tt.realm(reg), "u", "p") })
			o := Options{Insecure: []string{reg.Host}}
			if tt.tls {
				o = Options{CAFile: reg.CAFile(t)}
			}
			r := newResolver(t, o)
			got := r.Resolve(t.Context(), Request{Image: reg.Host + "/app:v1", Credentials: []Credential{basicCred("a", "u", "p"), Anonymous}})
			t.Logf("%+v", got.Err)
			if got.Err == nil || got.Err.Reason != ReasonInsecureTokenRealm {
				t.Fatalf("Err = %v, want %s", got.Err, ReasonInsecureTokenRealm)
			}
			for _, w := range tt.wantMessage {
				if !strings.Contains(got.Err.Message, w) {
					t.Errorf("Err.Message = %q, want it to contain %q", got.Err.Message, w)
				}
			}
			if strings.Contains(got.Err.Message, "secret=abc") {
				t.Errorf("Err.Message = %q shows the realm's query string", got.Err.Message)
			}
			if s := r.Stats(); s.Lookups != 1 {
				t.Errorf("Stats().Lookups = %d, want 1: no credential can fix the realm", s.Lookups)
			}
		})
	}
}

func TestFaults(t *testing.T) {
	type fault func(n int, w http.ResponseWriter, r *http.Request) bool // n: 1-based manifest request count
	tests := []struct {
		name       string
		fault      fault
		delay      time.Duration
		opts       Options
		wantReason Reason // "" = success
		wantStatus int
		wantHeads  int
		minElapsed time.Duration
		maxElapsed time.Duration
	}{
		{
			name: "401 on the manifest",
			fault: func(n int, w http.ResponseWriter, r *http.Request) bool {
				testregistry.WriteError(w, http.StatusUnauthorized, "UNAUTHORIZED", "authentication required")
				return true
			},
			wantReason: ReasonUnauthorized, wantStatus: 401, wantHeads: 2, // one per credential
		},
		{
			name: "404",
			fault: func(n int, w http.ResponseWriter, r *http.Request) bool {
				testregistry.WriteError(w, http.StatusNotFound, "MANIFEST_UNKNOWN", "manifest unknown")
				return true
			},
			wantReason: ReasonNotFound, wantStatus: 404, wantHeads: 1,
		},
		{
			name: "429 with Retry-After 1s, then success",
			fault: func(n int, w http.ResponseWriter, r *http.Request) bool {
				if n > 1 {
					return false
				}
				w.Header().Set("Retry-After", "1")
				w.WriteHeader(http.StatusTooManyRequests)
				return true
			},
			wantHeads: 2, minElapsed: 900 * time.Millisecond, maxElapsed: 3 * time.Second,
		},
		{
			name: "429 with a Retry-After date, then success",
			fault: func(n int, w http.ResponseWriter, r *http.Request) bool {
				if n > 1 {
					return false
				}
				w.Header().Set("Retry-After", time.Now().Add(2*time.Second).UTC().Format(http.TimeFormat))
				w.WriteHeader(http.StatusTooManyRequests)
				return true
			},
			wantHeads: 2, minElapsed: 500 * time.Millisecond, maxElapsed: 4 * time.Second,
		},
		{
			name: "429 asking for more than we wait",
			fault: func(n int, w http.ResponseWriter, r *http.Request) bool {
				w.Header().Set("Retry-After", "120")
				w.WriteHeader(http.StatusTooManyRequests)
				return true
			},
			wantReason: ReasonRateLimited, wantStatus: 429, wantHeads: 1, maxElapsed: time.Second,
		},
		{
			name: "always 429",
			fault: func(n int, w http.ResponseWriter, r *http.Request) bool {
				w.Header().Set("Retry-After", "0")
				testregistry.WriteError(w, http.StatusTooManyRequests, "TOOMANYREQUESTS", "slow down")
				return true
			},
			opts:       Options{Retries: 3},
			wantReason: ReasonRateLimited, wantStatus: 429, wantHeads: 3,
		},
		{
			name: "500 then success",
			fault: func(n int, w http.ResponseWriter, r *http.Request) bool {
				if n > 1 {
					return false
				}
				w.WriteHeader(http.StatusInternalServerError)
				return true
			},
			wantHeads: 2,
		},
		{
			name: "always 503",
			fault: func(n int, w http.ResponseWriter, r *http.Request) bool {
				w.WriteHeader(http.StatusServiceUnavailable)
				return true
			},
			opts:       Options{Retries: 3},
			wantReason: ReasonServerError, wantStatus: 503, wantHeads: 3,
		},
		{
			name:       "slower than the timeout",
			delay:      3 * time.Second,
			opts:       Options{Timeout: 100 * time.Millisecond, Retries: 2},
			wantReason: ReasonTimeout, wantHeads: 2, maxElapsed: 2 * time.Second,
		},
		{
			name: "slow once, then fast",
			fault: func(n int, w http.ResponseWriter, r *http.Request) bool {
				if n == 1 {
					select {
					case <-time.After(3 * time.Second):
					case <-r.Context().Done():
					}
				}
				return false
			},
			opts:      Options{Timeout: 200 * time.Millisecond},
			wantHeads: 2, maxElapsed: 2 * time.Second,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := testregistry.New(t)
			want := reg.PushImage(t, "app:v1")
			var mu sync.Mutex
			n := 0
			reg.Set(func(h *testregistry.Hooks) {
				h.Delay = tt.delay
				if tt.fault != nil {
					h.Fault = testregistry.OnManifests(func(w http.ResponseWriter, r *http.Request) bool {
						mu.Lock()
						n++
						k := n
						mu.Unlock()
						return tt.fault(k, w, r)
					})
				}
			})
			o := tt.opts
			o.Insecure = []string{reg.Host}
			r := newResolver(t, o)
			start := time.Now()
			got := r.Resolve(t.Context(), Request{Image: reg.Host + "/app:v1", Credentials: []Credential{basicCred("s", "u", "p"), Anonymous}})
			elapsed := time.Since(start)
			t.Logf("%s: %+v", elapsed, got.Err)
			if tt.wantReason == "" {
				if got.Err != nil || got.Digest != want.String() {
					t.Errorf("got %s, %v; want %s, no error", got.Digest, got.Err, want)
				}
			} else if got.Err == nil || got.Err.Reason != tt.wantReason || got.Err.Status != tt.wantStatus {
				t.Errorf("Err = %+v, want reason %s status %d", got.Err, tt.wantReason, tt.wantStatus)
			}
			if heads := reg.Count(http.MethodHead, "/manifests/"); heads != tt.wantHeads {
				t.Errorf("manifest HEADs = %d, want %d", heads, tt.wantHeads)
			}
			if elapsed < tt.minElapsed {
				t.Errorf("took %s, want at least %s (Retry-After honoured)", elapsed, tt.minElapsed)
			}
			if tt.maxElapsed > 0 && elapsed > tt.maxElapsed {
				t.Errorf("took %s, want at most %s", elapsed, tt.maxElapsed)
			}
		})
	}
}

func TestTLS(t *testing.T) {
	tlsReg := testregistry.New(t, testregistry.WithTLS())
	want := tlsReg.PushImage(t, "app:v1")
	plainReg := testregistry.New(t)
	plainWant := plainReg.PushImage(t, "app:v1")

	tests := []struct {
		name       string
		reg        *testregistry.Registry
		opts       func() Options
		wantDigest string
		wantReason Reason
	}{
		{"CA file", tlsReg, func() Options { return Options{CAFile: tlsReg.CAFile(t)} }, want.String(), ""},
		{"system roots only", tlsReg, func() Options { return Options{} }, "", ReasonTLS},
		{"wrong CA file", tlsReg, func() Options { return Options{CAFile: otherCA(t)} }, "", ReasonTLS},
		{"insecure skips verification", tlsReg, func() Options { return Options{Insecure: []string{tlsReg.Host}} }, want.String(), ""},
		{"insecure by host without port", tlsReg, func() Options { return Options{Insecure: []string{"127.0.0.1"}} }, want.String(), ""},
		{"insecure list names another host", tlsReg, func() Options { return Options{Insecure: []string{"127.0.0.1:1"}} }, "", ReasonTLS},
		{"plain HTTP allowed when insecure", plainReg, func() Options { return Options{Insecure: []string{plainReg.Host}} }, plainWant.String(), ""},
		{"plain HTTP refused otherwise", plainReg, func() Options { return Options{} }, "", ReasonTLS},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newResolver(t, tt.opts())
			got := r.Resolve(t.Context(), Request{Image: tt.reg.Host + "/app:v1"})
			t.Logf("%+v", got.Err)
			if tt.wantReason == "" {
				if got.Err != nil || got.Digest != tt.wantDigest {
					t.Errorf("got %s, %v; want %s, no error", got.Digest, got.Err, tt.wantDigest)
				}
				return
			}
			if got.Err == nil || got.Err.Reason != tt.wantReason {
				t.Errorf("Err = %v, want %s", got.Err, tt.wantReason)
			}
		})
	}
}

func TestNewRejectsBadOptions(t *testing.T) {
	notPEM := testregistry.WritePEM(t, []byte("x"))
	tests := []struct {
		name string
		o    Options
	}{
		{"platform without arch", Options{Platform: "linux"}},
		{"platform with too many parts", Options{Platform: "linux/arm/v7/x"}},
		{"missing CA file", Options{CAFile: "/does/not/exist.pem"}},
		{"CA file without a certificate", Options{CAFile: notPEM}},
		{"insecure with scheme", Options{Insecure: []string{"http://reg:5000"}}},
	}
	for _, tt := range tests {
		if _, err := New(tt.o); err == nil {
			t.Errorf("New(%s) = nil error, want one", tt.name)
		}
	}
}

func TestDedupe(t *testing.T) {
	reg := testregistry.New(t)
	want := reg.PushImage(t, "app:v1")
	reg.Set(func(h *testregistry.Hooks) { h.Delay = 50 * time.Millisecond })
	r := newResolver(t, Options{Insecure: []string{reg.Host}})
	cred := basicCred("pod-secret ns/a", "u", "p")
	// The same credential under another Source (ID equal) is the same lookup.
	twin := cred
	twin.Source = "service-account-secret ns/b"

	var wg sync.WaitGroup
	results := make([]Result, 50)
	for i := range results {
		wg.Go(func() {
			c := cred
			if i%2 == 1 {
				c = twin
			}
			results[i] = r.Resolve(t.Context(), Request{Image: reg.Host + "/app:v1", Credentials: []Credential{c}})
		})
	}
	wg.Wait()
	for i, got := range results {
		if got.Err != nil || got.Digest != want.String() {
			t.Fatalf("result %d = %s, %v; want %s", i, got.Digest, got.Err, want)
		}
	}
	// Repeats later in the run are answered from the cache.
	all := r.ResolveAll(t.Context(), []Request{
		{Image: reg.Host + "/app:v1", Credentials: []Credential{cred}},
		{Image: reg.Host + "/app:v1", Credentials: []Credential{cred}},
	})
	for _, got := range all {
		if got.Err != nil || got.Digest != want.String() {
			t.Fatalf("ResolveAll result = %s, %v; want %s", got.Digest, got.Err, want)
		}
	}
	if heads := reg.Count(http.MethodHead, "/manifests/"); heads != 1 {
		t.Errorf("manifest HEADs = %d, want exactly 1 for 52 lookups of one (reference, credential)", heads)
	}
	if s := r.Stats(); s.Lookups != 1 || s.Deduplicated != 51 {
		t.Errorf("Stats() = %+v, want 1 lookup and 51 deduplicated", s)
	}
	// Another credential is another lookup.
	r.Resolve(t.Context(), Request{Image: reg.Host + "/app:v1", Credentials: []Credential{Anonymous}})
	if heads := reg.Count(http.MethodHead, "/manifests/"); heads != 2 {
		t.Errorf("manifest HEADs = %d, want 2 after a second credential", heads)
	}
}

func TestPerHostConcurrency(t *testing.T) {
	reg := testregistry.New(t)
	var reqs []Request
	for i := range 24 {
		tag := fmt.Sprintf("app:v%d", i)
		reg.PushImage(t, tag)
		reqs = append(reqs, Request{Image: reg.Host + "/" + tag})
	}
	reg.Set(func(h *testregistry.Hooks) { h.Delay = 30 * time.Millisecond })
	r := newResolver(t, Options{Insecure: []string{reg.Host}, PerHost: 3, Concurrency: 16})

	// Resolve called directly from many goroutines is bounded too, not only
	// ResolveAll.
	var wg sync.WaitGroup
	for _, req := range reqs[:12] {
		wg.Go(func() { r.Resolve(t.Context(), req) })
	}
	results := r.ResolveAll(t.Context(), reqs)
	wg.Wait()
	for i, got := range results {
		if got.Err != nil || got.Image != reqs[i].Image {
			t.Fatalf("result %d = %+v, want success for %s (input order)", i, got, reqs[i].Image)
		}
	}
	peak := reg.PeakManifests()
	if peak > 3 {
		t.Errorf("max manifest requests in flight = %d, want at most PerHost 3", peak)
	}
	if peak < 2 {
		t.Errorf("max manifest requests in flight = %d, want some concurrency", peak)
	}
}

func TestGlobalConcurrency(t *testing.T) {
	shared := &testregistry.InFlight{}
	var reqs []Request
	var insecure []string
	for range 3 {
		reg := testregistry.New(t)
		for i := range 6 {
			tag := fmt.Sprintf("app:v%d", i)
			reg.PushImage(t, tag)
			reqs = append(reqs, Request{Image: reg.Host + "/" + tag})
		}
		reg.Set(func(h *testregistry.Hooks) { h.Delay, h.Shared = 30*time.Millisecond, shared })
		insecure = append(insecure, reg.Host)
	}
	r := newResolver(t, Options{Insecure: insecure, PerHost: 4, Concurrency: 5})
	for i, got := range r.ResolveAll(t.Context(), reqs) {
		if got.Err != nil || got.Image != reqs[i].Image {
			t.Fatalf("result %d = %+v, want success for %s", i, got, reqs[i].Image)
		}
	}
	if peak := shared.Peak(); peak > 5 || peak < 3 {
		t.Errorf("max manifest requests in flight over all registries = %d, want 3..5 (Concurrency 5)", peak)
	}
}

func TestResolveAllOrderAndMixedInputs(t *testing.T) {
	reg := testregistry.New(t)
	a := reg.PushImage(t, "a:v1")
	b := reg.PushImage(t, "b:v1")
	const d = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	reqs := []Request{
		{Image: reg.Host + "/b:v1"},
		{Image: "not a reference"},
		{Image: "example.invalid/x@" + d},
		{Image: reg.Host + "/a:v1"},
		{Image: reg.Host + "/missing:v1"},
		{Image: reg.Host + "/b:v1"},
	}
	r := newResolver(t, Options{Insecure: []string{reg.Host}})
	got := r.ResolveAll(t.Context(), reqs)
	want := []struct {
		digest string
		reason Reason
	}{
		{b.String(), ""}, {"", ReasonInvalidReference}, {d, ""}, {a.String(), ""}, {"", ReasonNotFound}, {b.String(), ""},
	}
	if len(got) != len(want) {
		t.Fatalf("ResolveAll returned %d results, want %d", len(got), len(want))
	}
	for i := range want {
		reason := Reason("")
		if got[i].Err != nil {
			reason = got[i].Err.Reason
		}
		if got[i].Image != reqs[i].Image || got[i].Digest != want[i].digest || reason != want[i].reason {
			t.Errorf("result %d = %q %s %v, want %q %s %q", i, got[i].Image, got[i].Digest, got[i].Err, reqs[i].Image, want[i].digest, want[i].reason)
		}
	}
}

func TestCanceled(t *testing.T) {
	reg := testregistry.New(t)
	want := reg.PushImage(t, "app:v1")
	release := make(chan struct{})
	reg.Set(func(h *testregistry.Hooks) {
		h.Fault = testregistry.OnManifests(func(w http.ResponseWriter, r *http.Request) bool {
			select {
			case <-release:
			case <-r.Context().Done():
			}
			return false
		})
	})
	r := newResolver(t, Options{Insecure: []string{reg.Host}})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan Result)
	go func() { done <- r.Resolve(ctx, Request{Image: reg.Host + "/app:v1"}) }()
	time.Sleep(200 * time.Millisecond)
	cancel()
	got := <-done
	if got.Err == nil || got.Err.Reason != ReasonCanceled {
		t.Fatalf("Err = %v, want canceled", got.Err)
	}
	// The abandoned lookup is not cached: a later caller asks again.
	close(release)
	got = r.Resolve(t.Context(), Request{Image: reg.Host + "/app:v1"})
	if got.Err != nil || got.Digest != want.String() {
		t.Errorf("after cancel: %s, %v; want %s", got.Digest, got.Err, want)
	}
	// A context already done sends nothing.
	before := r.Stats().Requests
	got = r.Resolve(ctx, Request{Image: reg.Host + "/other:v1"})
	if got.Err == nil || got.Err.Reason != ReasonCanceled || r.Stats().Requests != before {
		t.Errorf("done context: %v and %d new requests, want canceled and none", got.Err, r.Stats().Requests-before)
	}
}

func TestUserAgent(t *testing.T) {
	reg := testregistry.New(t)
	reg.PushImage(t, "app:v1")
	reg.Reset()
	r := newResolver(t, Options{Insecure: []string{reg.Host}, UserAgent: "kubectl-imgtrust/v9.9.9"})
	if got := r.Resolve(t.Context(), Request{Image: reg.Host + "/app:v1"}); got.Err != nil {
		t.Fatal(got.Err)
	}
	seen := reg.Requests()
	if len(seen) == 0 {
		t.Fatal("no request reached the registry")
	}
	for _, req := range seen {
		if !strings.HasPrefix(req.UserAgent, "kubectl-imgtrust/v9.9.9") {
			t.Errorf("User-Agent = %q, want it to start with kubectl-imgtrust/v9.9.9", req.UserAgent)
		}
	}
}

// The credential's secret never shows in any failure, whatever the
// registry answers, even when it echoes what we sent.
func TestSecretsNeverPrinted(t *testing.T) {
	const (
		password = "hunter2-very-secret"
		token    = "identity-token-very-secret"
	)
	echo := func(w http.ResponseWriter, r *http.Request) bool {
		u, p, _ := r.BasicAuth()
		testregistry.WriteError(w, http.StatusUnauthorized, "UNAUTHORIZED", "bad login "+u+":"+p+" header "+r.Header.Get("Authorization"))
		return true
	}
	faults := map[string]func(w http.ResponseWriter, r *http.Request) bool{
		"echoes the credential in a 401": echo,
		"echoes it in a 404": func(w http.ResponseWriter, r *http.Request) bool {
			_, p, _ := r.BasicAuth()
			testregistry.WriteError(w, http.StatusNotFound, "MANIFEST_UNKNOWN", "no manifest for "+p)
			return true
		},
		"echoes it in a 500 body": func(w http.ResponseWriter, r *http.Request) bool {
			w.WriteHeader(http.StatusInternalServerError)
			_, _ = w.Write([]byte("<html>" + r.Header.Get("Authorization") + "</html>"))
			return true
		},
		"403": func(w http.ResponseWriter, r *http.Request) bool {
			testregistry.WriteError(w, http.StatusForbidden, "DENIED", "denied")
			return true
		},
	}
	creds := []Credential{
		basicCred("pod-secret ns/a", "user", password),
		{Source: "pod-secret ns/b", ID: "b", Auth: authn.FromConfig(authn.AuthConfig{IdentityToken: token})},
		Anonymous,
	}
	for name, fault := range faults {
		t.Run(name, func(t *testing.T) {
			reg := testregistry.New(t)
			reg.PushImage(t, "app:v1")
			reg.Set(func(h *testregistry.Hooks) {
				h.Auth = func(w http.ResponseWriter, r *http.Request) bool {
					if _, _, ok := r.BasicAuth(); !ok && r.URL.Path == "/v2/" {
						w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
						w.WriteHeader(http.StatusUnauthorized)
						return true
					}
					return false
				}
				h.Fault = testregistry.OnManifests(fault)
			})
			// HEAD answers carry no body; with a platform we GET, and the
			// registry's error body (echo included) reaches the classifier.
			for _, platform := range []string{"", "linux/amd64"} {
				r := newResolver(t, Options{Insecure: []string{reg.Host}, Retries: 1, Platform: platform})
				for _, c := range [][]Credential{creds, creds[:1], creds[1:2]} {
					got := r.Resolve(t.Context(), Request{Image: reg.Host + "/app:v1", Credentials: c})
					if got.Err == nil {
						t.Fatalf("Resolve succeeded, want a failure")
					}
					t.Logf("platform %q: %v", platform, got.Err)
					assertNoSecret(t, got, password, token, "dXNlcjpodW50ZXIy")
				}
			}
		})
	}
}

func assertNoSecret(t *testing.T, got Result, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		for _, printed := range []string{fmt.Sprintf("%v", got.Err), fmt.Sprintf("%+v", got), fmt.Sprintf("%#v", got.Err), got.Err.Error()} {
			if strings.Contains(printed, s) {
				t.Errorf("secret %q printed: %s", s, printed)
			}
		}
	}
}

// A registry that cannot be reached is tried once per wave of workers, not
// once per image.
func TestUnreachableRegistryFailsFast(t *testing.T) {
	reg := testregistry.New(t)
	host := reg.Host
	reg.Server.Close() // connection refused from now on
	var reqs []Request
	for i := range 20 {
		reqs = append(reqs, Request{Image: fmt.Sprintf("%s/app:v%d", host, i)})
	}
	r := newResolver(t, Options{Insecure: []string{host}, PerHost: 2})
	for i, got := range r.ResolveAll(t.Context(), reqs) {
		if got.Err == nil || got.Err.Reason != ReasonNetwork {
			t.Errorf("result %d: Err = %v, want network", i, got.Err)
		}
	}
	// Each ping tries https then http: 2 requests per lookup that really ran.
	if s := r.Stats(); s.Requests > 2*2 {
		t.Errorf("Stats() = %+v, want at most 4 requests (2 workers × 2 ping schemes), not one ping per image", s)
	}
}
