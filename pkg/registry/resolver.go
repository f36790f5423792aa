// Package registry resolves image references to digests the way the
// kubelet's runtime would pull them: with the pod's credentials, in the
// kubelet's order, asking the registry with HEAD only (a Docker Hub manifest
// GET counts as a pull).
//
// One Resolver serves one run: it sends at most one lookup per unique
// (reference, credential) and remembers the answer, bounds concurrency
// overall and per registry host, retries 5xx and timeouts with backoff and
// 429 as Retry-After says, and reports each failure per image with a Reason
// and a message that is safe to print.
package registry

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"golang.org/x/sync/semaphore"

	"github.com/imgtrust/kubectl-imgtrust/pkg/imageref"
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
	DefaultRetries       = 3
	DefaultRetryBackoff  = 250 * time.Millisecond
	// MaxRetryAfter is the longest Retry-After we wait; a registry asking
	// for more gets a rate-limited failure at once.
	MaxRetryAfter = 30 * time.Second
)

// Options configure a Resolver. The zero value is usable.
type Options struct {
	// Concurrency bounds registry lookups in flight overall (default 16).
	Concurrency int
	// PerHost bounds registry lookups in flight per registry host (default 4).
	PerHost int
	// Timeout bounds each HTTP attempt (default 20s); a timed-out attempt is
	// retried like a 5xx.
	Timeout time.Duration
	// LookupTimeout bounds each lookup of one (reference, credential) as a
	// whole, retries, redirects and token exchanges included (default 60s).
	LookupTimeout time.Duration
	// VerifyContent, when set, checks each digest a HEAD announced against
	// the manifest's content with one GET by that digest, for callers that
	// write the digest down (pin). A HEAD alone trusts the header.
	VerifyContent bool
	// Retries is the number of attempts per HTTP request for 5xx, 408,
	// timeouts, transient network errors and 429 (default 3; 1 = no retry).
	Retries int
	// RetryBackoff is the first wait between attempts, tripled for each
	// further one (default 250ms). A 429 waits its Retry-After instead.
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
	// authed caches an authenticated transport per (repository, credential)
	// for the referrers API, which go-containerregistry's Puller does not
	// expose.
	authed  sync.Map
	stats   counters
	flights flights
	global  *semaphore.Weighted

	mu      sync.Mutex
	hosts   map[string]*semaphore.Weighted
	down    map[string]*Error // host → why its ping failed
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
	r.observer = &observer{next: base, stats: &r.stats}
	stack := &attemptTransport{
		next:     r.observer,
		timeout:  o.Timeout,
		attempts: o.Retries,
		maxWait:  MaxRetryAfter,
		backoff:  o.RetryBackoff,
		now:      time.Now,
	}
	r.stack = &pingCache{next: stack}
	r.remote = []remote.Option{
		remote.WithTransport(r.stack),
		remote.WithUserAgent(o.UserAgent),
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

// Resolve resolves one image. It never returns an error: failures are in
// Result.Err.
func (r *Resolver) Resolve(ctx context.Context, req Request) Result {
	res := Result{Image: req.Image}
	ref, err := r.parse(req.Image)
	if err != nil {
		res.Err = &Error{Reason: ReasonInvalidReference, Message: truncate(sanitize(err.Error()), 300)}
		return res
	}
	res.Reference = ref.Name()
	if d, ok := ref.(name.Digest); ok && r.platform == nil && !req.CheckAccess {
		res.Digest = d.DigestStr()
		return res
	}
	creds := req.Credentials
	if len(creds) == 0 {
		creds = []Credential{Anonymous}
	}
	var refusals []refusal
	for _, c := range creds {
		out := r.lookup(ctx, ref, c)
		if out.err.refused() {
			refusals = append(refusals, refusal{source: c.Source, err: out.err})
			continue
		}
		res.Digest, res.MediaType, res.Note = out.digest, out.mediaType, out.note
		res.Platform, res.PlatformDigest = out.platform, out.platformDigest
		res.ContentVerified = out.verified
		for _, rf := range refusals {
			res.Refused = append(res.Refused, rf.source)
		}
		res.Err = out.err
		if ctx.Err() == nil {
			res.CredentialSource = c.Source
		}
		return res
	}
	res.Err = allRefused(ref.Context().RegistryStr(), refusals)
	return res
}

// ResolveAll resolves every request and returns the results in input
// order. Requests are queued per registry host and served by at most
// PerHost workers each, so a slow or busy registry cannot take the workers
// of the others; Concurrency bounds the lookups in flight overall.
func (r *Resolver) ResolveAll(ctx context.Context, reqs []Request) []Result {
	results := make([]Result, len(reqs))
	var done atomic.Int64
	queues := map[string][]int{}
	repos := make([]string, len(reqs))
	var hosts []string
	for i, req := range reqs {
		h := ""
		if ref, err := r.parse(req.Image); err == nil {
			h = ref.Context().RegistryStr()
			repos[i] = ref.Context().Name()
		}
		if _, ok := queues[h]; !ok {
			hosts = append(hosts, h)
		}
		queues[h] = append(queues[h], i)
	}
	var wg sync.WaitGroup
	for _, h := range hosts {
		queue := spreadQueue(reqs, repos, queues[h])
		next := make(chan int, len(queue))
		for _, i := range queue {
			next <- i
		}
		close(next)
		for range min(r.opts.PerHost, len(queue)) {
			wg.Go(func() {
				for i := range next {
					results[i] = r.Resolve(ctx, reqs[i])
					if r.opts.Progress != nil {
						r.opts.Progress(int(done.Add(1)), len(reqs))
					}
				}
			})
		}
	}
	wg.Wait()
	return results
}

// spreadQueue orders a host's queue so that concurrent workers start new
// lookups rather than wait for each other: first one request per
// repository (each its own token), then the second of each, and so on;
// requests repeating a lookup already queued (the same image with the same
// first credential) come last. In input order, a worker taking a repeat of
// a lookup in flight, or another tag of a repository whose token is being
// fetched, waits for it while the host's other slots sit idle; an audit
// asks each image once per container, so repeats are most of its requests.
// repos[i] is request i's repository ("" when it does not parse).
func spreadQueue(reqs []Request, repos []string, queue []int) []int {
	seen := make(map[string]bool, len(queue))
	perRepo := map[string]int{}
	var rounds [][]int
	var repeats []int
	for _, i := range queue {
		first := Anonymous
		if len(reqs[i].Credentials) > 0 {
			first = reqs[i].Credentials[0]
		}
		cred := credKey(first)
		key := reqs[i].Image + "\x00" + cred
		if seen[key] {
			repeats = append(repeats, i)
			continue
		}
		seen[key] = true
		repo := repos[i] + "\x00" + cred
		round := perRepo[repo]
		perRepo[repo]++
		if round == len(rounds) {
			rounds = append(rounds, nil)
		}
		rounds[round] = append(rounds[round], i)
	}
	out := make([]int, 0, len(queue))
	for _, r := range rounds {
		out = append(out, r...)
	}
	return append(out, repeats...)
}

// parse reads a reference with the kubelet's grammar (imageref, after
// distribution/reference: Docker Hub and "latest" implied, an uppercase
// host alias such as "REGISTRY/app" allowed) and builds the
// go-containerregistry name from its parts, whose own parser disagrees on
// such edge cases. Registries listed in Options.Insecure are marked.
func (r *Resolver) parse(image string) (name.Reference, error) {
	ref, err := imageref.Parse(image)
	if err != nil {
		return nil, err
	}
	repo, err := Repository(ref.Registry, ref.Repository, r.insecure.has(ref.Registry, "https"))
	if err != nil {
		return nil, fmt.Errorf("image reference %q: %w", image, err)
	}
	if ref.Digest != "" {
		return repo.Digest(ref.Digest), nil
	}
	return repo.Tag(ref.TagOrLatest()), nil
}

// Repository builds go-containerregistry's name for a registry host and a
// repository path already parsed with the kubelet's grammar (imageref),
// without re-parsing them: its parser refuses hosts such as "REGISTRY".
func Repository(host, path string, insecure bool) (name.Repository, error) {
	var opts []name.Option
	if insecure {
		opts = append(opts, name.Insecure)
	}
	reg, err := name.NewRegistry(host, opts...)
	if err != nil {
		return name.Repository{}, err
	}
	if path == "" {
		return name.Repository{}, fmt.Errorf("empty repository")
	}
	return reg.Repo(path), nil
}

// lookup resolves ref with one credential, once per run.
func (r *Resolver) lookup(ctx context.Context, ref name.Reference, c Credential) outcome {
	key := ref.Name() + "\x00" + credKey(c)
	out, shared := r.flights.do(ctx, key, func(ctx context.Context) outcome {
		r.stats.lookups.Add(1)
		return r.fetch(ctx, ref, c)
	})
	if shared {
		r.stats.deduped.Add(1)
	}
	return out
}

// fetch asks the registry, within the concurrency bounds.
func (r *Resolver) fetch(ctx context.Context, ref name.Reference, c Credential) outcome {
	host := ref.Context().RegistryStr()
	hostSem := r.hostSemaphore(host)
	if err := hostSem.Acquire(ctx, 1); err != nil {
		return outcome{err: contextError(ctx)}
	}
	defer hostSem.Release(1)
	if err := r.global.Acquire(ctx, 1); err != nil {
		return outcome{err: contextError(ctx)}
	}
	defer r.global.Release(1)

	// A registry that could not even be pinged (TLS, network, timeout, a
	// refused token realm) fails the same way for every image: answer at
	// once rather than wait out the retries again for each.
	if e := r.hostDown(host); e != nil {
		return outcome{err: e}
	}

	// The lookup's own deadline: per-attempt timeouts alone let retries,
	// redirects and token exchanges add up without end.
	lctx, cancel := context.WithTimeout(ctx, r.opts.LookupTimeout)
	defer cancel()
	cl := classifier{
		registry:    host,
		ref:         ref.Name(),
		attempts:    r.opts.Retries,
		ctx:         ctx,
		lookup:      lctx,
		lookupLimit: r.opts.LookupTimeout,
	}
	p, err := r.puller(c)
	if err != nil {
		return outcome{err: cl.classify(err)}
	}
	fail := func(err error) outcome {
		cl.realm = r.observer.realm(host)
		cl.secrets = r.secretsOf(ctx, c)
		e := cl.classify(err)
		if ctx.Err() == nil && hostLevel(e, err) {
			r.mu.Lock()
			r.down[host] = e
			r.mu.Unlock()
		}
		return outcome{err: e}
	}
	if r.platform == nil {
		desc, err := p.Head(lctx, ref)
		var unusable *unusableHeadError
		if errors.As(err, &unusable) {
			out := r.byContent(lctx, p, ref, fail, cl)
			if out.err == nil {
				out.note = fmt.Sprintf("the registry's HEAD answer was unusable (%s); resolved with a manifest GET, which Docker Hub counts as a pull", unusable.why)
			}
			return out
		}
		if err != nil {
			return fail(err)
		}
		out := outcome{digest: desc.Digest.String(), mediaType: string(desc.MediaType)}
		if r.opts.VerifyContent {
			// A GET by digest: go-containerregistry hashes the content and
			// fails unless it matches.
			if _, err := p.Get(lctx, ref.Context().Digest(out.digest)); err != nil {
				return fail(err)
			}
			out.verified = true
		}
		return out
	}
	desc, err := p.Get(lctx, ref)
	if err != nil {
		return fail(err)
	}
	d := desc.Descriptor
	if mt, ok := manifestType(desc); ok {
		d.MediaType = types.MediaType(mt)
	} else {
		return outcome{err: cl.classify(&notManifestError{host: host, mediaType: string(desc.MediaType)})}
	}
	out := selectPlatform(ref.Name(), d, desc.Manifest, *r.platform)
	out.verified = out.err == nil
	return out
}

// byContent resolves ref with a manifest GET, hashing what it got, for a
// registry whose HEAD answer did not tell the digest.
func (r *Resolver) byContent(ctx context.Context, p *remote.Puller, ref name.Reference, fail func(error) outcome, cl classifier) outcome {
	desc, err := p.Get(ctx, ref)
	if err != nil {
		return fail(err)
	}
	mt, ok := manifestType(desc)
	if !ok {
		return outcome{err: cl.classify(&notManifestError{host: ref.Context().RegistryStr(), mediaType: string(desc.MediaType)})}
	}
	return outcome{digest: desc.Digest.String(), mediaType: mt, verified: true}
}

// manifestType is the media type of a fetched manifest: its Content-Type
// when that names a manifest, else what its content says.
func manifestType(desc *remote.Descriptor) (string, bool) {
	if mt := baseMediaType(string(desc.MediaType)); IsManifestMediaType(mt) {
		return mt, true
	}
	return sniffManifest(desc.Manifest)
}

func (r *Resolver) hostDown(host string) *Error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if e, ok := r.down[host]; ok {
		copied := *e
		return &copied
	}
	return nil
}

// hostLevel reports whether a failure concerns the registry as a whole:
// its ping (GET /v2/) failed below HTTP, or its auth challenge named a
// token service we refuse.
func hostLevel(e *Error, err error) bool {
	switch e.Reason {
	case ReasonInsecureTokenRealm:
		return true
	case ReasonTLS, ReasonNetwork, ReasonTimeout:
		var uerr *url.Error
		if errors.As(err, &uerr) {
			u, perr := url.Parse(uerr.URL)
			return perr == nil && u.Path == "/v2/"
		}
	}
	return false
}

func (r *Resolver) hostSemaphore(host string) *semaphore.Weighted {
	r.mu.Lock()
	defer r.mu.Unlock()
	s, ok := r.hosts[host]
	if !ok {
		s = semaphore.NewWeighted(int64(r.opts.PerHost))
		r.hosts[host] = s
	}
	return s
}

// puller returns the credential's remote.Puller, which reuses the ping and
// the token exchange per repository across lookups.
func (r *Resolver) puller(c Credential) (*remote.Puller, error) {
	key := credKey(c)
	r.mu.Lock()
	defer r.mu.Unlock()
	if p, ok := r.pullers[key]; ok {
		return p, nil
	}
	auth := c.Auth
	if auth == nil {
		auth = Anonymous.Auth
	}
	p, err := remote.NewPuller(append([]remote.Option{remote.WithAuth(auth)}, r.remote...)...)
	if err != nil {
		return nil, err
	}
	r.pullers[key] = p
	return p, nil
}

func (r *Resolver) secretsOf(ctx context.Context, c Credential) []string {
	key := credKey(c)
	r.mu.Lock()
	s, ok := r.secrets[key]
	r.mu.Unlock()
	if ok {
		return s
	}
	s = secretsOf(ctx, c.Auth)
	r.mu.Lock()
	r.secrets[key] = s
	r.mu.Unlock()
	return s
}

// CredentialKey identifies a credential's content for deduplication: its
// ID, else its Source.
func CredentialKey(c Credential) string { return credKey(c) }

// credKey identifies a credential for deduplication: its ID, else its
// Source (callers should set ID).
func credKey(c Credential) string {
	if c.ID != "" {
		return "id:" + c.ID
	}
	return "source:" + c.Source
}

type refusal struct {
	source string
	err    *Error
}

// allRefused sums up a search in which every credential was refused: 403
// if any credential got one (the registry knew it but denied access, the
// more useful thing to say), else 401.
func allRefused(registry string, refusals []refusal) *Error {
	e := &Error{Reason: ReasonUnauthorized, Status: http.StatusUnauthorized}
	tried := make([]string, 0, len(refusals))
	for _, rf := range refusals {
		status := rf.err.Status
		if rf.err.Reason == ReasonForbidden {
			if status == 0 {
				status = http.StatusForbidden
			}
			e.Reason, e.Status = ReasonForbidden, status
		} else if status == 0 {
			status = http.StatusUnauthorized
		}
		tried = append(tried, fmt.Sprintf("%s (%d)", rf.source, status))
	}
	if len(refusals) == 1 {
		e.Message = fmt.Sprintf("%s; credential tried: %s", refusals[0].err.Message, refusals[0].source)
		return e
	}
	// The registry's own words, from the refusal that decided the reason.
	said := refusals[len(refusals)-1].err.Message
	for _, rf := range refusals {
		if rf.err.Reason == e.Reason {
			said = rf.err.Message
			break
		}
	}
	e.Message = fmt.Sprintf("registry %s refused every credential: %s; first refusal: %s", registry, strings.Join(tried, ", "), said)
	return e
}

// selectPlatform picks want's manifest from an index. A single manifest is
// reported as is, with a note.
func selectPlatform(ref string, desc v1.Descriptor, manifest []byte, want v1.Platform) outcome {
	out := outcome{digest: desc.Digest.String(), mediaType: string(desc.MediaType)}
	if !desc.MediaType.IsIndex() {
		out.note = fmt.Sprintf("platform %s not applicable: %s is a single-platform manifest", want.String(), ref)
		return out
	}
	idx, err := v1.ParseIndexManifest(bytes.NewReader(manifest))
	if err != nil {
		out.err = &Error{Reason: ReasonServerError, Message: fmt.Sprintf("the index of %s does not parse", ref)}
		return out
	}
	var have []string
	for _, m := range idx.Manifests {
		if m.Platform == nil {
			continue
		}
		if platformMatches(*m.Platform, want) {
			out.platform = m.Platform.String()
			out.platformDigest = m.Digest.String()
			return out
		}
		have = append(have, m.Platform.String())
	}
	listed := "it lists no platforms"
	if len(have) > 0 {
		listed = "it has " + strings.Join(have, ", ")
	}
	out.err = &Error{Reason: ReasonNoMatchingPlatform, Message: truncate(fmt.Sprintf("%s has no manifest for %s (%s)", ref, want.String(), listed), 300)}
	return out
}

// platformMatches is go-containerregistry's Satisfies (os and architecture
// equal; variant, os version and features when asked for), with arm64's
// variant "v8" equal to none, as containerd normalises it.
func platformMatches(have, want v1.Platform) bool {
	if have.Architecture == "arm64" && have.Variant == "v8" {
		have.Variant = ""
	}
	if want.Architecture == "arm64" && want.Variant == "v8" {
		want.Variant = ""
	}
	return have.Satisfies(want)
}
