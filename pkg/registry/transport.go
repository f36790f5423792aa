package registry

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// The HTTP stack, outermost first:
//
//	go-containerregistry: auth (basic/bearer) → scheme → user agent → retry
//	ours:                 pingCache        (one anonymous GET /v2/ per registry)
//	                      attemptTransport (per-attempt timeout, 429 + Retry-After)
//	                      observer         (stats, token realm capture and guard)
//	                      hostRouter       (TLS per host, plain-HTTP policy)
//	                      *http.Transport  (verifying, or skip-verify for Insecure hosts)
//
// Retries happen in two layers, each owning one kind of failure:
//
//   - go-containerregistry's retry layer (configured in New through
//     remote.WithRetry*) re-sends a request that got a status in
//     retryStatusCodes (408, 499, 500, 502, 503, 504, 522; no other 5xx)
//     or an error retryable accepts (our per-attempt timeout, EOF,
//     connection reset, broken pipe, a closed connection), for at most
//     Options.Retries attempts. Before attempt n+1 it waits
//     RetryBackoff×3^(n-1) plus a random 0–10% (250ms, then 750ms, by
//     default), in time.Sleep: a canceled context or a passed lookup
//     deadline does not cut a wait short, only the attempt after it. Its
//     10s Cap does not cap a wait but ends the retries: once the next wait
//     would exceed 10s, it sleeps the current one and makes no further
//     attempt (with RetryBackoff 250ms, 4 attempts at most). A body that
//     times out while being read is past this layer and not retried. It
//     does not read Retry-After, so 429 is left out of its status codes.
//   - attemptTransport, below it, answers 429: it waits as Retry-After
//     says and re-sends, for at most Options.Retries sends (see there).
//
// A 429 that attemptTransport gives up on is not retried by the layer
// above, nor a retried status by attemptTransport's loop; but a registry
// mixing the two can get up to Retries×Retries sends of one request, as
// each attempt of the upper layer runs attemptTransport's loop afresh.

// retryStatusCodes are retried by go-containerregistry's layer: its defaults
// without 429, which attemptTransport handles.
var retryStatusCodes = []int{
	http.StatusRequestTimeout,
	http.StatusInternalServerError,
	http.StatusBadGateway,
	http.StatusServiceUnavailable,
	http.StatusGatewayTimeout,
	499, // nginx: client closed request
	522, // Cloudflare: connection timed out
}

// retryable is the predicate for go-containerregistry's retry layer.
func retryable(err error) bool {
	if err == nil {
		return false
	}
	var terr *transport.Error
	if errors.As(err, &terr) {
		return terr.Temporary()
	}
	var attempt *attemptTimeoutError
	if errors.As(err, &attempt) {
		return true
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	return errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) || errors.Is(err, net.ErrClosed)
}

// attemptTransport bounds each HTTP attempt by timeout (reading its body
// included) and answers 429 by re-sending, up to attempts sends in all; on
// the last one, or when the request's body cannot be sent again, the 429
// is returned as it came. Before each re-send it waits what Retry-After
// says (delay-seconds, or an HTTP date, one in the past meaning no wait);
// without a usable Retry-After (missing, negative or unparsable) it waits
// backoff doubled per 429 so far (backoff, 2×backoff, …), without jitter.
// A wait longer than maxWait, told or computed, ends the request at once
// with a retryAfterTooLongError. A wait ends early with the request's
// context.
type attemptTransport struct {
	next     http.RoundTripper
	timeout  time.Duration
	attempts int
	maxWait  time.Duration
	backoff  time.Duration
	now      func() time.Time
}

func (t *attemptTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	for attempt := 1; ; attempt++ {
		resp, err := t.once(req)
		if err != nil || resp.StatusCode != http.StatusTooManyRequests || attempt >= t.attempts {
			return resp, err
		}
		if req.Body != nil && req.Body != http.NoBody && req.GetBody == nil {
			return resp, nil // cannot send the body again
		}
		wait, ok := parseRetryAfter(resp.Header.Get("Retry-After"), t.now())
		if !ok {
			wait = t.backoff << (attempt - 1)
		}
		if wait > t.maxWait {
			drain(resp)
			return nil, &retryAfterTooLongError{wait: wait, limit: t.maxWait}
		}
		drain(resp)
		if err := sleep(req.Context(), wait); err != nil {
			return nil, err
		}
		if req.GetBody != nil {
			body, err := req.GetBody()
			if err != nil {
				return nil, err
			}
			req = req.Clone(req.Context())
			req.Body = body
		}
	}
}

func (t *attemptTransport) once(req *http.Request) (*http.Response, error) {
	if t.timeout <= 0 {
		return t.next.RoundTrip(req)
	}
	ctx, cancel := context.WithTimeout(req.Context(), t.timeout)
	resp, err := t.next.RoundTrip(req.WithContext(ctx))
	if err != nil {
		timedOut := errors.Is(ctx.Err(), context.DeadlineExceeded) && req.Context().Err() == nil
		cancel()
		if timedOut {
			return nil, &attemptTimeoutError{after: t.timeout}
		}
		return nil, err
	}
	// The body is read after we return: keep the deadline until it is
	// consumed or closed.
	resp.Body = &cancelOnDone{ReadCloser: resp.Body, cancel: cancel, ctx: ctx, parent: req.Context(), timeout: t.timeout}
	return resp, nil
}

// cancelOnDone ends an attempt's deadline with its body, and names a body
// that dripped past the deadline as the attempt's timeout.
type cancelOnDone struct {
	io.ReadCloser
	cancel      context.CancelFunc
	ctx, parent context.Context
	timeout     time.Duration
}

func (b *cancelOnDone) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err == io.EOF {
		b.cancel()
	}
	if err != nil && err != io.EOF && errors.Is(b.ctx.Err(), context.DeadlineExceeded) && b.parent.Err() == nil {
		return n, &attemptTimeoutError{after: b.timeout, body: true}
	}
	return n, err
}

func (b *cancelOnDone) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}

func drain(resp *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// parseRetryAfter reads a Retry-After value: delay-seconds or an HTTP date
// (RFC 9110 §10.2.3). A date in the past means no wait.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs < 0 {
			return 0, false
		}
		if secs > int64(24*time.Hour/time.Second) {
			secs = int64(24 * time.Hour / time.Second) // no overflow; far beyond any cap
		}
		return time.Duration(secs) * time.Second, true
	}
	if at, err := http.ParseTime(v); err == nil {
		return max(at.Sub(now), 0), true
	}
	return 0, false
}

// counters are the Stats, updated by observer and the resolver.
type counters struct {
	requests, heads, gets, lookups, deduped atomic.Int64
}

// observer counts requests and remembers the token realm each registry
// announces, so that a refused realm can be named in the error.
type observer struct {
	next   http.RoundTripper
	stats  *counters
	realms sync.Map    // registry host → realm URL without query
	lookup lookupAddrs // resolves a realm's host (realmguard.go); nil: the system's
	// proxied reports whether a request goes through an HTTP proxy.
	proxied func(*http.Request) bool
}

func (o *observer) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := checkRedirects(req); err != nil {
		return nil, err
	}
	req, err := o.checkRealm(req)
	if err == nil {
		req, err = o.checkRedirectAddr(req)
	}
	if err != nil {
		if req.Body != nil {
			_ = req.Body.Close()
		}
		return nil, err
	}
	o.stats.requests.Add(1)
	manifest := strings.Contains(req.URL.Path, "/manifests/")
	if manifest {
		switch req.Method {
		case http.MethodHead:
			o.stats.heads.Add(1)
		case http.MethodGet:
			o.stats.gets.Add(1)
		}
	}
	resp, err := o.next.RoundTrip(req)
	if err == nil && manifest && resp.StatusCode == http.StatusOK {
		if cerr := checkManifestAnswer(req, resp); cerr != nil {
			drain(resp)
			return nil, cerr
		}
		if cerr := capManifest(req, resp); cerr != nil {
			drain(resp)
			return nil, cerr
		}
	}
	if err == nil && resp.StatusCode >= 400 {
		// go-containerregistry fails an error body over 64 KiB with "body
		// exceeds 65536 byte limit" and drops its status: cut it there
		// instead, so that a 403 with pages of text is still forbidden.
		resp.Body = struct {
			io.Reader
			io.Closer
		}{io.LimitReader(resp.Body, maxErrorBody), resp.Body}
	}
	if err == nil && resp.StatusCode == http.StatusUnauthorized {
		if realm := announcedRealm(resp.Header.Values("WWW-Authenticate")); realm != "" {
			o.realms.Store(req.URL.Host, realm)
		}
	}
	return resp, err
}

// MaxRedirects bounds the redirects followed for one request, as Go's own
// http.Client would had go-containerregistry not replaced its check.
const MaxRedirects = 10

// checkRedirects refuses the request that would be hop MaxRedirects+1 of a
// redirect chain. http.Client sets Request.Response on every redirected
// request, so the chain is there to count.
func checkRedirects(req *http.Request) error {
	hops, first := 0, req
	for r := req; r.Response != nil && r.Response.Request != nil; r = r.Response.Request {
		hops++
		first = r.Response.Request
	}
	if hops <= MaxRedirects {
		return nil
	}
	if req.Body != nil {
		_ = req.Body.Close()
	}
	return &redirectLoopError{hops: hops, host: first.URL.Host, path: first.URL.Path}
}

// checkManifestAnswer vets a 200 answer to a manifest request before
// go-containerregistry trusts it: a HEAD must carry a digest, a size and a
// media type it can use, and no answer may be of a type that is not a
// manifest (a proxy's login page with a digest header is not an image).
// Generic JSON types pass to the GET, which decides by the content.
func checkManifestAnswer(req *http.Request, resp *http.Response) error {
	mt := baseMediaType(resp.Header.Get("Content-Type"))
	if !IsManifestMediaType(mt) && !sniffable[mt] {
		return &notManifestError{host: req.URL.Host, mediaType: mt}
	}
	if req.Method != http.MethodHead {
		return nil
	}
	switch {
	case !IsManifestMediaType(mt):
		return &unusableHeadError{why: fmt.Sprintf("content type %q does not say which manifest it is", mt)}
	case resp.ContentLength < 0:
		return &unusableHeadError{why: "no Content-Length"}
	}
	dh := resp.Header.Get("Docker-Content-Digest")
	if dh == "" {
		return &unusableHeadError{why: "no Docker-Content-Digest header"}
	}
	if _, err := v1.NewHash(dh); err != nil {
		return &unusableHeadError{why: fmt.Sprintf("Docker-Content-Digest %q is not a digest", truncate(sanitize(dh), 80))}
	}
	return nil
}

// sniffable are content types that may hold a manifest without saying
// which kind (older registries answer application/json): the body decides.
var sniffable = map[string]bool{
	"":                         true,
	"application/json":         true,
	"text/plain":               true,
	"application/octet-stream": true,
}

// baseMediaType is a Content-Type without parameters, lower case.
func baseMediaType(ct string) string {
	if mt, _, err := mime.ParseMediaType(ct); err == nil {
		return mt
	}
	return strings.ToLower(strings.TrimSpace(ct))
}

// isRealm reports whether req goes to a token realm some registry
// announced (scheme, host and path; the query aside).
func (o *observer) isRealm(req *http.Request) bool {
	found := false
	o.realms.Range(func(_, v any) bool {
		found = sameEndpoint(v.(string), req.URL)
		return !found
	})
	return found
}

func (o *observer) realm(host string) string {
	if v, ok := o.realms.Load(host); ok {
		return v.(string)
	}
	return ""
}

// hostRouter sends requests for hosts in Options.Insecure through a
// transport that skips certificate verification and lets them use plain
// HTTP; every other host goes through the verifying transport, and plain
// HTTP to it is refused.
type hostRouter struct {
	secure, insecure http.RoundTripper
	insecureHosts    hostSet
}

func (t *hostRouter) RoundTrip(req *http.Request) (*http.Response, error) {
	if t.insecureHosts.has(req.URL.Host, req.URL.Scheme) {
		return t.insecure.RoundTrip(req)
	}
	if req.URL.Scheme != "https" {
		if req.Body != nil {
			_ = req.Body.Close()
		}
		return nil, &plainHTTPError{host: req.URL.Host}
	}
	return t.secure.RoundTrip(req)
}

// hostSet holds Options.Insecure. An entry with a port matches that
// host:port; an entry without one matches the host on any port.
type hostSet map[string]bool

func newHostSet(entries []string) (hostSet, error) {
	s := hostSet{}
	for _, e := range entries {
		e = strings.ToLower(strings.TrimSpace(e))
		if e == "" {
			continue
		}
		if strings.Contains(e, "://") || strings.ContainsAny(e, "/?#@ ") {
			return nil, fmt.Errorf("insecure registry %q: want host or host:port", e)
		}
		s[e] = true
	}
	return s, nil
}

func (s hostSet) has(hostport, scheme string) bool {
	if len(s) == 0 {
		return false
	}
	h := strings.ToLower(hostport)
	if s[h] {
		return true
	}
	host, port, err := net.SplitHostPort(h)
	if err != nil {
		// No port in the URL: the scheme's default port.
		host, port = h, map[string]string{"http": "80", "https": "443"}[scheme]
	}
	if s[host] || s["["+host+"]"] {
		return true
	}
	return port != "" && s[net.JoinHostPort(host, port)]
}

// newBaseTransport builds the bottom of the stack: TLS verification with the
// system roots (on Linux and other Unixes Go reads SSL_CERT_FILE and
// SSL_CERT_DIR for them) plus caFile, and skip-verify for insecure hosts.
// With custom set, it is used for every host and TLS settings are its own.
func newBaseTransport(custom http.RoundTripper, caFile string, insecure hostSet, perHost int) (http.RoundTripper, error) {
	if custom != nil {
		return &hostRouter{secure: custom, insecure: custom, insecureHosts: insecure}, nil
	}
	base, ok := remote.DefaultTransport.(*http.Transport)
	if !ok {
		base = http.DefaultTransport.(*http.Transport)
	}
	secure := base.Clone()
	dial := secure.DialContext
	if dial == nil {
		dial = (&net.Dialer{}).DialContext
	}
	secure.DialContext = pinnedDial(dial)
	secure.MaxConnsPerHost = 0
	secure.MaxIdleConnsPerHost = max(perHost, 2)
	secure.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	if caFile != "" {
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("reading CA file: %w", err)
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("CA file %s holds no PEM certificate", caFile)
		}
		secure.TLSClientConfig.RootCAs = pool
	}
	skipVerify := secure.Clone()
	// Only for the hosts the user listed as insecure (hostRouter).
	skipVerify.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // opted in per host
	return &hostRouter{secure: secure, insecure: skipVerify, insecureHosts: insecure}, nil
}

// MaxManifestBytes caps a manifest or index read. The OCI distribution
// spec has registries accept manifests of at least 4 MiB and real ones are
// a few KiB; go-containerregistry alone would read 100 MiB, and a few such
// answers at once cost gigabytes.
const MaxManifestBytes = 4 << 20

// maxErrorBody is the most of an error answer's body read: what
// go-containerregistry parses at most (its maxErrorBodySize).
const maxErrorBody = 64 << 10

// capManifest refuses a manifest GET announced over MaxManifestBytes and
// stops reading one that turns out larger.
func capManifest(req *http.Request, resp *http.Response) error {
	if req.Method != http.MethodGet {
		return nil
	}
	if resp.ContentLength > MaxManifestBytes {
		return &tooLargeError{host: req.URL.Host, size: resp.ContentLength}
	}
	resp.Body = &cappedBody{ReadCloser: resp.Body, left: MaxManifestBytes, host: req.URL.Host}
	return nil
}

// cappedBody fails the read past its limit instead of returning a
// truncated manifest that would fail to parse with a less clear error.
type cappedBody struct {
	io.ReadCloser
	left int64
	host string
}

func (b *cappedBody) Read(p []byte) (int, error) {
	if b.left < 0 {
		return 0, &tooLargeError{host: b.host, size: -1}
	}
	if int64(len(p)) > b.left+1 {
		p = p[:b.left+1]
	}
	n, err := b.ReadCloser.Read(p)
	b.left -= int64(n)
	if b.left < 0 {
		return n, &tooLargeError{host: b.host, size: -1}
	}
	return n, err
}
