// Package proxy is the bench's loopback registry proxy: it forwards every
// request to one upstream registry after a fixed delay, standing in for the
// round trip to a registry that is not on the same machine, and counts what
// the client asked for, so the bench can check the plugin's request budget
// instead of trusting the plugin's own statistics.
package proxy

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// StatsPath serves the counts as JSON; with ?reset=1 they are zeroed after
// being read, so one proxy can serve several measured runs.
const StatsPath = "/_stats"

// UpstreamPath switches the proxy between its upstreams: ?use=main or
// ?use=alt (see Proxy.Alt), so one cluster's image references can be
// measured against two registries holding the same images.
const UpstreamPath = "/_upstream"

// LatencyPath changes the added delay: ?set=DURATION (e.g. 0s while the
// bench writes its signatures, which are setup and not measured, then back).
// It answers the delay in force.
const LatencyPath = "/_latency"

// Kinds of request, by path.
const (
	KindPing     = "ping"     // /v2/
	KindToken    = "token"    // anything outside /v2/: a token realm
	KindManifest = "manifest" // /v2/NAME/manifests/REF
	KindBlob     = "blob"     // /v2/NAME/blobs/…
	KindTags     = "tags"     // /v2/NAME/tags/list
	KindOther    = "other"    // the rest of /v2/ (catalog, referrers)
)

// Stats is what the proxy saw.
type Stats struct {
	// Total counts every forwarded request.
	Total int `json:"total"`
	// ByKind counts requests by "METHOD kind", e.g. "HEAD manifest".
	ByKind map[string]int `json:"byKind"`
	// Manifests counts manifest requests (any method) by "NAME:REF" or
	// "NAME@DIGEST", to check for repeated lookups of one reference.
	Manifests map[string]int `json:"manifests"`
	// Tokens counts token requests by their scope query ("" when none).
	Tokens map[string]int `json:"tokens"`
	// Statuses counts upstream answers by status code.
	Statuses map[string]int `json:"statuses"`
}

// MaxManifestRequests is the highest count in Manifests (0 when none).
func (s Stats) MaxManifestRequests() int {
	m := 0
	for _, n := range s.Manifests {
		m = max(m, n)
	}
	return m
}

// Kind sums ByKind over methods for one kind.
func (s Stats) Kind(kind string) int {
	n := 0
	for k, v := range s.ByKind {
		if strings.HasSuffix(k, " "+kind) {
			n += v
		}
	}
	return n
}

// Proxy is an http.Handler forwarding to one upstream registry.
type Proxy struct {
	// TokenUpstream, when set, is the registry's token service on another
	// host: requests outside /v2/ go there, and the realm naming it is
	// rewritten to the proxy, so tokens cost latency and are counted.
	TokenUpstream *url.URL
	// Alt, when set, is a second registry holding the same images (with no
	// token service), used instead of the upstream after ?use=alt.
	Alt *url.URL
	// Log, when set, gets one line per forwarded request (arrival and
	// answer in Unix microseconds, method, kind, status), to draw a run's
	// requests in flight over time.
	Log io.Writer

	upstream *url.URL
	latency  atomic.Int64 // time.Duration
	rp       *httputil.ReverseProxy
	useAlt   atomic.Bool

	mu    sync.Mutex
	stats Stats
}

// New returns a Proxy for upstream (e.g. https://localhost:5000) adding
// latency to every request. transport carries the upstream requests and must
// trust the upstream's certificate.
func New(upstream *url.URL, latency time.Duration, transport http.RoundTripper) *Proxy {
	p := &Proxy{upstream: upstream}
	p.latency.Store(int64(latency))
	p.reset()
	p.rp = &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			switch {
			case p.useAlt.Load():
				r.SetURL(p.Alt)
			case p.TokenUpstream != nil && !strings.HasPrefix(r.In.URL.Path, "/v2"):
				r.SetURL(p.TokenUpstream)
			default:
				r.SetURL(upstream)
			}
			// X-Forwarded-Host tells rewriteUpstream (and the registry)
			// the name the client used. Basic auth and bearer tokens pass
			// through untouched: Authorization goes on as the client sent it.
			r.SetXForwarded()
		},
		Transport: transport,
		ModifyResponse: func(resp *http.Response) error {
			p.rewriteUpstream(resp)
			p.count(func(s *Stats) { s.Statuses[strconv.Itoa(resp.StatusCode)]++ })
			return nil
		},
	}
	return p
}

// rewriteUpstream points the upstream's absolute URLs back at the proxy: a
// token realm in WWW-Authenticate (so token requests are proxied and counted
// too) and Location headers (upload sessions, redirects).
func (p *Proxy) rewriteUpstream(resp *http.Response) {
	self := resp.Request.Header.Get("X-Forwarded-Host")
	if self == "" {
		return
	}
	for _, h := range []string{"WWW-Authenticate", "Location"} {
		vals := resp.Header.Values(h)
		for i, v := range vals {
			vals[i] = strings.ReplaceAll(v, "://"+p.upstream.Host, "://"+self)
			for _, u := range []*url.URL{p.TokenUpstream, p.Alt} {
				if u != nil {
					vals[i] = strings.ReplaceAll(vals[i], "://"+u.Host, "://"+self)
				}
			}
		}
	}
}

func (p *Proxy) reset() {
	p.stats = Stats{ByKind: map[string]int{}, Manifests: map[string]int{}, Tokens: map[string]int{}, Statuses: map[string]int{}}
}

func (p *Proxy) count(f func(*Stats)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	f(&p.stats)
}

// Snapshot returns a copy of the counts; reset zeroes them.
func (p *Proxy) Snapshot(reset bool) Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.stats
	if reset {
		p.reset()
	}
	return s
}

// Classify returns the kind of a registry request path and, for manifests,
// "NAME:REF" or "NAME@DIGEST".
func Classify(path string) (kind, manifest string) {
	if path == "/v2/" || path == "/v2" {
		return KindPing, ""
	}
	rest, ok := strings.CutPrefix(path, "/v2/")
	if !ok {
		return KindToken, ""
	}
	if i := strings.LastIndex(rest, "/manifests/"); i >= 0 {
		repo, ref := rest[:i], rest[i+len("/manifests/"):]
		if strings.Contains(ref, ":") {
			return KindManifest, repo + "@" + ref
		}
		return KindManifest, repo + ":" + ref
	}
	switch {
	case strings.Contains(rest, "/blobs/"):
		return KindBlob, ""
	case strings.HasSuffix(rest, "/tags/list"):
		return KindTags, ""
	}
	return KindOther, ""
}

func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == StatsPath {
		w.Header().Set("Content-Type", "application/json")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		_ = enc.Encode(p.Snapshot(r.URL.Query().Get("reset") == "1"))
		return
	}
	if r.URL.Path == UpstreamPath {
		p.switchUpstream(w, r.URL.Query().Get("use"))
		return
	}
	if r.URL.Path == LatencyPath {
		p.setLatency(w, r.URL.Query().Get("set"))
		return
	}
	kind, manifest := Classify(r.URL.Path)
	if p.Log != nil {
		lw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		w = lw
		start := time.Now()
		defer func() {
			line := fmt.Sprintf("%d %d %s %s %d\n", start.UnixMicro(), time.Now().UnixMicro(), r.Method, kind, lw.status)
			p.mu.Lock()
			_, _ = io.WriteString(p.Log, line)
			p.mu.Unlock()
		}()
	}
	p.count(func(s *Stats) {
		s.Total++
		s.ByKind[r.Method+" "+kind]++
		if manifest != "" {
			s.Manifests[manifest]++
		}
		if kind == KindToken {
			s.Tokens[r.URL.Query().Get("scope")]++
		}
	})
	// The delay is per request, before forwarding: what a client sees from a
	// registry one round trip away, independent of how busy the upstream is.
	select {
	case <-time.After(time.Duration(p.latency.Load())):
	case <-r.Context().Done():
		return
	}
	p.rp.ServeHTTP(w, r)
}

// statusWriter keeps the status written, for Log.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

// Flush keeps ReverseProxy's streaming working through the wrapper.
func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (p *Proxy) switchUpstream(w http.ResponseWriter, use string) {
	switch {
	case use == "main":
		p.useAlt.Store(false)
	case use == "alt" && p.Alt != nil:
		p.useAlt.Store(true)
	default:
		http.Error(w, "use=main, or use=alt with -alt-upstream set", http.StatusBadRequest)
		return
	}
	_, _ = io.WriteString(w, use+"\n")
}

func (p *Proxy) setLatency(w http.ResponseWriter, set string) {
	if set != "" {
		d, err := time.ParseDuration(set)
		if err != nil || d < 0 {
			http.Error(w, "set=DURATION, e.g. 0s or 20ms", http.StatusBadRequest)
			return
		}
		p.latency.Store(int64(d))
	}
	_, _ = io.WriteString(w, time.Duration(p.latency.Load()).String()+"\n")
}

// Summary renders ByKind as sorted "METHOD kind=N" pairs, for logs.
func (s Stats) Summary() string {
	keys := make([]string, 0, len(s.ByKind))
	for k := range s.ByKind {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(k)
		b.WriteString("=")
		b.WriteString(strconv.Itoa(s.ByKind[k]))
	}
	return b.String()
}
