// Package testregistry is the in-process OCI registry the unit tests share:
// go-containerregistry's registry behind an httptest server, with hooks
// that refuse or break requests, a log of the requests it saw, and helpers
// that push images, indexes and referrers. It lives under internal/ so
// that only this module imports it, and is not a _test.go file so that
// other packages' tests (and test/faultregistry) can.
package testregistry

import (
	"encoding/json"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// Backend is go-containerregistry's in-process registry, quiet, with or
// without the referrers API: the honest answers behind every hook.
func Backend(referrers bool) http.Handler {
	return ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0)), ggcrregistry.WithReferrersSupport(referrers))
}

// Hook answers a request itself (true) or lets it through (false).
type Hook func(w http.ResponseWriter, r *http.Request) bool

// Hooks are what a test changes about a running registry.
type Hooks struct {
	// Auth runs first: who may read. Its refusals are in Requests but
	// reach neither Delay, PeakManifests nor Fault.
	Auth Hook
	// Fault runs after Auth and Delay: what goes wrong.
	Fault Hook
	// Delay is added to every manifest request (after Auth).
	Delay time.Duration
	// Shared, if set, counts manifest requests in flight across registries.
	Shared *InFlight
}

// Request is one request the registry saw.
type Request struct {
	Method, Path, UserAgent string
}

func (r Request) String() string { return r.Method + " " + r.Path }

// Ping is the version check clients send before anything else.
func (r Request) Ping() bool { return r.Path == "/v2/" }

// Option configures New.
type Option func(*config)

type config struct {
	tls, referrers bool
	auth           Hook
}

// WithTLS serves HTTPS with httptest's certificate (see CAFile).
func WithTLS() Option { return func(c *config) { c.tls = true } }

// WithReferrers turns the OCI referrers API on or off; without it,
// pushers keep a fallback tag per subject (see PutReferrer).
func WithReferrers(on bool) Option { return func(c *config) { c.referrers = on } }

// WithBasicAuth lets in only basic auth as user:pass from the start.
func WithBasicAuth(user, pass string) Option {
	return func(c *config) { c.auth = BasicAuth(user, pass) }
}

// Registry is a running test registry; t's cleanup stops it.
type Registry struct {
	// Server is the httptest server (its Client trusts its certificate).
	Server *httptest.Server
	// Host is host:port, as image references name it.
	Host string

	mu       sync.Mutex
	hooks    Hooks
	requests []Request
	inFlight int
	peak     int
}

// New starts a registry for t.
func New(t testing.TB, opts ...Option) *Registry {
	t.Helper()
	var c config
	for _, o := range opts {
		o(&c)
	}
	reg := &Registry{hooks: Hooks{Auth: c.auth}}
	backend := Backend(c.referrers)
	reg.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reg.serve(backend, w, r)
	}))
	reg.Server.Config.ErrorLog = log.New(io.Discard, "", 0) // TLS handshake failures some tests want
	if c.tls {
		reg.Server.StartTLS()
	} else {
		reg.Server.Start()
	}
	t.Cleanup(reg.Server.Close)
	reg.Host = strings.TrimPrefix(strings.TrimPrefix(reg.Server.URL, "http://"), "https://")
	return reg
}

func (reg *Registry) serve(backend http.Handler, w http.ResponseWriter, r *http.Request) {
	reg.mu.Lock()
	h := reg.hooks
	reg.requests = append(reg.requests, Request{Method: r.Method, Path: r.URL.Path, UserAgent: r.UserAgent()})
	reg.mu.Unlock()
	if h.Auth != nil && h.Auth(w, r) {
		return
	}
	if isManifest(r) {
		reg.enter(h.Shared)
		defer reg.leave(h.Shared)
		if h.Delay > 0 {
			select {
			case <-time.After(h.Delay):
			case <-r.Context().Done():
			}
		}
	}
	if h.Fault != nil && h.Fault(w, r) {
		return
	}
	backend.ServeHTTP(w, r)
}

func isManifest(r *http.Request) bool { return strings.Contains(r.URL.Path, "/manifests/") }

func (reg *Registry) enter(shared *InFlight) {
	reg.mu.Lock()
	reg.inFlight++
	reg.peak = max(reg.peak, reg.inFlight)
	reg.mu.Unlock()
	if shared != nil {
		shared.enter()
	}
}

func (reg *Registry) leave(shared *InFlight) {
	if shared != nil {
		shared.leave()
	}
	reg.mu.Lock()
	reg.inFlight--
	reg.mu.Unlock()
}

// Set changes the hooks under the lock (f sees the current ones) and
// forgets the requests seen so far, pushes included. f may be nil.
func (reg *Registry) Set(f func(h *Hooks)) {
	reg.mu.Lock()
	defer reg.mu.Unlock()
	reg.requests, reg.peak = nil, 0
	if f != nil {
		f(&reg.hooks)
	}
}

// Reset forgets the requests seen so far.
func (reg *Registry) Reset() { reg.Set(nil) }

// Requests are the requests seen since the last Reset, pings and refused
// ones included, in arrival order.
func (reg *Registry) Requests() []Request {
	reg.mu.Lock()
	defer reg.mu.Unlock()
	return append([]Request(nil), reg.requests...)
}

// Hits are Requests without the pings.
func (reg *Registry) Hits() []Request {
	var hits []Request
	for _, r := range reg.Requests() {
		if !r.Ping() {
			hits = append(hits, r)
		}
	}
	return hits
}

// Count is how many Requests had method ("" for any) and a path
// containing pathContains.
func (reg *Registry) Count(method, pathContains string) int {
	n := 0
	for _, r := range reg.Requests() {
		if (method == "" || r.Method == method) && strings.Contains(r.Path, pathContains) {
			n++
		}
	}
	return n
}

// PeakManifests is the most manifest requests in flight at once since the
// last Reset.
func (reg *Registry) PeakManifests() int {
	reg.mu.Lock()
	defer reg.mu.Unlock()
	return reg.peak
}

// InFlight counts requests in flight across registries.
type InFlight struct {
	mu        sync.Mutex
	cur, peak int
}

func (f *InFlight) enter() {
	f.mu.Lock()
	f.cur++
	f.peak = max(f.peak, f.cur)
	f.mu.Unlock()
}

func (f *InFlight) leave() {
	f.mu.Lock()
	f.cur--
	f.mu.Unlock()
}

// Peak is the most requests in flight at once.
func (f *InFlight) Peak() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.peak
}

// WriteError answers with status and a registry error body.
func WriteError(w http.ResponseWriter, status int, code, msg string) {
	body, _ := json.Marshal(map[string][]map[string]string{"errors": {{"code": code, "message": msg}}})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// codes are the registry error codes Refuse answers with.
var codes = map[int][2]string{
	http.StatusUnauthorized:        {"UNAUTHORIZED", "authentication required"},
	http.StatusForbidden:           {"DENIED", "requested access to the resource is denied"},
	http.StatusNotFound:            {"MANIFEST_UNKNOWN", "manifest unknown"},
	http.StatusTooManyRequests:     {"TOOMANYREQUESTS", "slow down"},
	http.StatusInternalServerError: {"UNKNOWN", "internal server error"},
}

// Refuse answers status, with the registry's error body for it, to every
// request whose path contains one of pathContains.
func Refuse(status int, pathContains ...string) Hook {
	return func(w http.ResponseWriter, r *http.Request) bool {
		for _, p := range pathContains {
			if strings.Contains(r.URL.Path, p) {
				c, ok := codes[status]
				if !ok {
					c = [2]string{"UNKNOWN", http.StatusText(status)}
				}
				if status == http.StatusUnauthorized {
					w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
				}
				WriteError(w, status, c[0], c[1])
				return true
			}
		}
		return false
	}
}

// BasicAuth lets in only user:pass and answers 401 with a Basic challenge
// otherwise, like a registry behind basic auth.
func BasicAuth(user, pass string) Hook {
	return func(w http.ResponseWriter, r *http.Request) bool {
		if u, p, ok := r.BasicAuth(); ok && u == user && p == pass {
			return false
		}
		return Refuse(http.StatusUnauthorized, "/")(w, r)
	}
}

// OnManifests runs h for manifest requests only.
func OnManifests(h Hook) Hook {
	return func(w http.ResponseWriter, r *http.Request) bool {
		return isManifest(r) && h(w, r)
	}
}

// WriteOptions push straight to the server, whatever its TLS (the hooks
// still see the requests).
func (reg *Registry) WriteOptions() []remote.Option {
	return []remote.Option{remote.WithTransport(reg.Server.Client().Transport)}
}

// Repo is a repository path on this registry.
func (reg *Registry) Repo(t testing.TB, path string) name.Repository {
	t.Helper()
	return reg.Ref(t, path).Context()
}

// Ref is "repo:tag" (or "repo@digest") on this registry.
func (reg *Registry) Ref(t testing.TB, repoTag string) name.Reference {
	t.Helper()
	ref, err := name.ParseReference(reg.Host+"/"+repoTag, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	return ref
}
