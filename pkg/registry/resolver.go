// Package registry resolves image references to digests the way the
// kubelet's runtime would pull them: with the pod's credentials, in the
// kubelet's order, asking the registry with a manifest HEAD (a Docker Hub
// manifest GET counts as a pull), and with a GET only where a HEAD cannot
// answer: for Options.Platform, Options.VerifyContent, or a HEAD answer
// that does not tell the digest.
//
// One Resolver serves one run: it sends at most one lookup per unique
// (reference, credential) and remembers the answer, bounds concurrency
// overall and per registry host, retries 408, 499, 500, 502, 503, 504, 522,
// timeouts and dropped connections with backoff and 429 as Retry-After
// says (transport.go tells exactly how), and reports each failure per
// image with a Reason and a message that is safe to print.
package registry

// This file: the Resolver, its Options and what it answers (Request,
// Result, Stats), and New.

import (
	"crypto/x509"
	"fmt"
	"net/http"
	"sync"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"golang.org/x/sync/semaphore"

	"github.com/imgtrust/kubectl-imgtrust/pkg/version"
)

// Defaults for the zero Options fields.
const (
	DefaultConcurrency = 16
	DefaultPerHost     = 4
	DefaultTimeout     = 20 * time.Second
	// DefaultLookupTimeout bounds one lookup as a whole: every attempt,
	// redirect, token exchange and Retry-After wait.
	DefaultLookupTimeout = 60 * time.Second
	// DefaultMaxArtifactRequests bounds the reads of one image's
	// artifacts (signatures, attestations, their blobs, referrer pages,
	// a mirror's referrer copies) in all.
	DefaultMaxArtifactRequests = 64
	DefaultRetries             = 3
	DefaultRetryBackoff        = 250 * time.Millisecond
	// MaxRetryAfter is the longest wait after a 429 (its Retry-After, or
	// the doubled RetryBackoff when it has none); a longer one is a
	// rate-limited failure at once.
	MaxRetryAfter = 30 * time.Second
)

// Options configure a Resolver. The zero value is usable.
type Options struct {
	// Concurrency bounds registry lookups in flight overall (default 16).
	Concurrency int
	// PerHost bounds registry lookups in flight per registry host (default 4).
	PerHost int
	// Timeout bounds each HTTP attempt, reading its body included (default
	// 20s). An attempt with no answer in time is retried like a 503; a body
	// that does not finish in time is not retried.
	Timeout time.Duration
	// LookupTimeout bounds each lookup of one (reference, credential) as a
	// whole, retries, redirects and token exchanges included (default 60s).
	LookupTimeout time.Duration
	// MaxArtifactRequests bounds the reads of one image's artifacts
	// through Artifacts.ForImage or ForDigest, of every kind together: each
	// Head, Manifest and Blob, each page of a referrers listing, each
	// referrer a mirror copies (default DefaultMaxArtifactRequests). Reads
	// past it fail as ReasonRequestBudget without a request.
	MaxArtifactRequests int
	// VerifyContent, when set, checks each digest a HEAD announced against
	// the manifest's content with one GET by that digest, for callers that
	// write the digest down (pin). A HEAD alone trusts the header.
	VerifyContent bool
	// Retries is the most sends of one HTTP request (default 3; 1 = no
	// retry), counted apart for 408, 499, 500, 502, 503, 504, 522, attempt
	// timeouts and dropped connections (go-containerregistry's retry layer,
	// which also stops once its next wait would exceed 10s: at most 4
	// attempts with the default RetryBackoff) and for 429
	// (attemptTransport). Other statuses, 501 included, are not retried.
	Retries int
	// RetryBackoff is the first wait between attempts (default 250ms).
	// After a retried status or error each wait is three times the last
	// (250ms, 750ms, 2.25s, …), plus up to 10% at random. After a 429 the
	// wait is its Retry-After; without a usable one it is RetryBackoff
	// doubled per 429 so far (250ms, 500ms, …), exactly. See transport.go.
	RetryBackoff time.Duration
	// CAFile adds PEM certificates to the system roots.
	CAFile string
	// Insecure lists registries ("host" or "host:port") that may use plain
	// HTTP or a certificate that does not verify. TLS verification stays on
	// for every other host, and plain HTTP is refused for them (even for
	// localhost and private addresses, which go-containerregistry would
	// otherwise try over HTTP).
	Insecure []string
	// UserAgent is sent with every request (default version.UserAgent(),
	// "kubectl-imgtrust/VERSION"); go-containerregistry appends its own.
	UserAgent string
	// Platform ("os/arch[/variant]"), when set, resolves a multi-arch tag to
	// that platform's manifest. This needs a manifest GET instead of a HEAD.
	Platform string
	// Transport replaces the bottom HTTP transport (for tests or proxies);
	// CAFile and the skip-verify of Insecure hosts are then its business.
	Transport http.RoundTripper
	// Progress, when set, is called by ResolveAll after each image with the
	// number done and the total, from any goroutine.
	Progress func(done, total int)
	// HeadFirst lists registries ("host" or "host:port") where a manifest
	// GET counts against a pull rate limit, so that Artifacts.TagManifest
	// HEADs a signature or referrers tag before it GETs one. Docker Hub is
	// always such a registry.
	HeadFirst []string
}

// Request is one image to resolve with the credentials to try, in order.
type Request struct {
	// Image is the reference as written in the pod spec.
	Image string
	// Credentials are tried in order, as the kubelet does: a 401 or 403
	// moves on to the next one, any other answer ends the search. None
	// means [Anonymous].
	Credentials []Credential
	// CheckAccess asks the registry even for a reference that carries a
	// digest (one HEAD by digest), to learn whether these credentials can
	// pull it; without it such a reference is answered without a request.
	CheckAccess bool
}

// Result is what Resolve found for one Request.
type Result struct {
	// Image is Request.Image.
	Image string `json:"image"`
	// Reference is the normalised reference, e.g.
	// "index.docker.io/library/nginx:latest"; empty if it does not parse.
	Reference string `json:"reference,omitempty"`
	// Digest is what the tag points at: for a multi-arch tag the index
	// digest, which is what the kubelet records. For a reference carrying a
	// digest it is that digest, and no request was sent.
	Digest string `json:"digest,omitempty"`
	// MediaType is the manifest's media type (empty when no request was sent).
	MediaType string `json:"mediaType,omitempty"`
	// Platform is the platform of the index entry chosen for
	// Options.Platform, e.g. "linux/arm64/v8".
	Platform string `json:"platform,omitempty"`
	// PlatformDigest is that entry's manifest digest.
	PlatformDigest string `json:"platformDigest,omitempty"`
	// IndexManifests are the manifest digests the index Digest lists,
	// when its content was read (Options.Platform, or IndexManifests):
	// pods running one of them run the same image.
	IndexManifests []string `json:"-"`
	// IndexError says why the caller's read of IndexManifests failed.
	IndexError *Error `json:"-"`
	// Note is a remark for humans, e.g. that Options.Platform did not apply
	// because the tag is a single-platform manifest.
	Note string `json:"note,omitempty"`
	// ContentVerified is true when the digest was computed from the
	// manifest's content (a GET) rather than taken from a HEAD's header.
	ContentVerified bool `json:"contentVerified,omitempty"`
	// Refused lists the sources of the credentials the registry refused
	// before the one whose answer this is (which may be anonymous).
	Refused []string `json:"refusedCredentials,omitempty"`
	// CredentialSource is the Source of the credential whose answer this
	// is (the one accepted, or the one that got a final non-auth failure
	// such as not-found). Empty when every credential was refused or no
	// request was needed.
	CredentialSource string `json:"credentialSource,omitempty"`
	// Err is nil on success.
	Err *Error `json:"error,omitempty"`
}

// AcceptedCredential is the credential whose answer resolved req (res),
// else the first the kubelet would try.
func AcceptedCredential(req Request, res Result) Credential {
	for _, c := range req.Credentials {
		if c.Source == res.CredentialSource {
			return c
		}
	}
	if len(req.Credentials) > 0 {
		return req.Credentials[0]
	}
	return Anonymous
}

// Stats counts what a Resolver did, for tests and benchmarks.
type Stats struct {
	// Requests is every HTTP request sent (pings, token exchanges,
	// manifests, retries included).
	Requests int `json:"requests"`
	// ManifestHEADs and ManifestGETs count manifest requests, retries
	// included.
	ManifestHEADs int `json:"manifestHEADs"`
	ManifestGETs  int `json:"manifestGETs"`
	// Lookups is the registry lookups run: unique (reference, credential)
	// pairs, each at most once per run.
	Lookups int `json:"lookups"`
	// Deduplicated is the lookups answered by an earlier or concurrent
	// identical one.
	Deduplicated int `json:"deduplicated"`
}

// Resolver resolves references to digests. It is safe for concurrent use;
// use one per run (it caches every answer for its lifetime).
type Resolver struct {
	opts     Options
	platform *v1.Platform
	insecure hostSet
	observer *observer
	remote   []remote.Option   // without auth
	stack    http.RoundTripper // ours, below go-containerregistry's layers
	// referrersAPI remembers per registry host whether it serves the OCI
	// referrers API (true) or needs the tag-schema fallback (false).
	referrersAPI   sync.Map
	referrersProbe sync.Map // host → *sync.Mutex held while the API is probed
	// authed caches an authenticated client per (repository, credential)
	// for the requests Artifacts sends itself (the referrers API and tag
	// listing), which go-containerregistry's Puller does not expose.
	authed  sync.Map
	stats   counters
	flights flights
	global  *semaphore.Weighted

	mu      sync.Mutex
	hosts   map[string]*semaphore.Weighted
	down    map[string]*Error  // host → why its ping failed
	budgets map[string]*budget // image → its lookup budget (budget.go)
	pullers map[string]*remote.Puller
	secrets map[string][]string
}

// New validates o and builds a Resolver.
func New(o Options) (*Resolver, error) {
	if o.Concurrency <= 0 {
		o.Concurrency = DefaultConcurrency
	}
	if o.PerHost <= 0 {
		o.PerHost = DefaultPerHost
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.LookupTimeout <= 0 {
		o.LookupTimeout = DefaultLookupTimeout
	}
	if o.MaxArtifactRequests <= 0 {
		o.MaxArtifactRequests = DefaultMaxArtifactRequests
	}
	if o.Retries <= 0 {
		o.Retries = DefaultRetries
	}
	if o.RetryBackoff <= 0 {
		o.RetryBackoff = DefaultRetryBackoff
	}
	if o.UserAgent == "" {
		o.UserAgent = version.UserAgent()
	}
	r := &Resolver{
		opts:    o,
		global:  semaphore.NewWeighted(int64(o.Concurrency)),
		hosts:   map[string]*semaphore.Weighted{},
		down:    map[string]*Error{},
		budgets: map[string]*budget{},
		pullers: map[string]*remote.Puller{},
		secrets: map[string][]string{},
	}
	if o.Platform != "" {
		p, err := v1.ParsePlatform(o.Platform)
		if err != nil {
			return nil, fmt.Errorf("platform %q: %w", o.Platform, err)
		}
		if p.OS == "" || p.Architecture == "" {
			return nil, fmt.Errorf("platform %q: want os/arch[/variant], e.g. linux/arm64", o.Platform)
		}
		r.platform = p
	}
	var err error
	if r.insecure, err = newHostSet(o.Insecure); err != nil {
		return nil, err
	}
	base, err := newBaseTransport(o.Transport, o.CAFile, r.insecure, o.PerHost)
	if err != nil {
		return nil, err
	}
	if o.Transport == nil && o.CAFile == "" {
		// The first TLS handshake would load the system roots (7–15 ms
		// for a distribution's bundle) on the path to the first registry
		// request; load them now, while the caller lists the cluster.
		go func() { _, _ = x509.SystemCertPool() }()
	}
	r.observer = &observer{next: base, stats: &r.stats, lookup: systemLookup}
	if o.Transport == nil {
		r.observer.proxied = func(req *http.Request) bool {
			u, err := http.ProxyFromEnvironment(req) // what the base transport uses
			return err == nil && u != nil
		}
	}
	stack := &attemptTransport{
		next:     r.observer,
		timeout:  o.Timeout,
		attempts: o.Retries,
		maxWait:  MaxRetryAfter,
		backoff:  o.RetryBackoff,
		now:      time.Now,
	}
	r.stack = &tokenCache{next: &pingCache{next: stack}, isRealm: r.observer.isRealm, now: time.Now}
	r.remote = []remote.Option{
		remote.WithTransport(r.stack),
		remote.WithUserAgent(o.UserAgent),
		// Waits RetryBackoff, ×3 per retry, +0–10% jitter, for at most
		// Retries attempts. Cap caps no wait: once the next would exceed
		// 10s, the retries end after the current one (see transport.go).
		remote.WithRetryBackoff(remote.Backoff{
			Duration: o.RetryBackoff,
			Factor:   3,
			Jitter:   0.1,
			Steps:    o.Retries,
			Cap:      10 * time.Second,
		}),
		remote.WithRetryPredicate(retryable),
		remote.WithRetryStatusCodes(retryStatusCodes...),
	}
	return r, nil
}

// Stats returns the counts so far.
func (r *Resolver) Stats() Stats {
	return Stats{
		Requests:      int(r.stats.requests.Load()),
		ManifestHEADs: int(r.stats.heads.Load()),
		ManifestGETs:  int(r.stats.gets.Load()),
		Lookups:       int(r.stats.lookups.Load()),
		Deduplicated:  int(r.stats.deduped.Load()),
	}
}
