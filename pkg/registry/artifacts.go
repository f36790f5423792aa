package registry

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Where a referrer was found: the OCI referrers API, or the tag-schema
// fallback index "sha256-<hex>" that pushers keep for registries without it.
const (
	ViaReferrersAPI = "referrers-api"
	ViaReferrersTag = "referrers-tag"
)

// Bounds on what signature lookups read.
const (
	maxReferrerPages = 8
	maxArtifactBlob  = 4 << 20
)

// Artifacts reads what is attached to images (signatures, attestations)
// with one credential, through the resolver's connection: its per-host
// and overall limits, lookup deadline, request counting and 429 handling.
// Head, Manifest and Blob also get go-containerregistry's retries; the
// referrers API and tag listing, sent through a client of our own, do not.
// Every failure is an *Error; a missing manifest is ReasonNotFound.
type Artifacts struct {
	r    *Resolver
	cred Credential
	// image and budget, set by ForImage, make every lookup draw from one
	// image's budget; without them each lookup has a budget of its own.
	image  string
	budget *budget
	// memo is what this image's handle has read (memo.go); nil without
	// ForImage or ForDigest.
	memo *memo
}

// Artifacts returns the reader for one credential.
func (r *Resolver) Artifacts(c Credential) *Artifacts { return &Artifacts{r: r, cred: c} }

// bounded runs f within the host and global limits and the image's lookup
// budget (see ForImage), drawn only once the slots are held.
func (a *Artifacts) bounded(ctx context.Context, host, what string, f func(ctx context.Context, p *remote.Puller) error) *Error {
	hostSem := a.r.hostSemaphore(host)
	if err := hostSem.Acquire(ctx, 1); err != nil {
		return contextError(ctx)
	}
	defer hostSem.Release(1)
	if err := a.r.global.Acquire(ctx, 1); err != nil {
		return contextError(ctx)
	}
	defer a.r.global.Release(1)
	b := a.budget
	if b == nil {
		b = a.r.newBudget()
	}
	lctx, left, done, ok := b.start(ctx)
	if !ok {
		return b.spentError(a.image, what)
	}
	defer done()
	cl := classifier{registry: host, ref: what, attempts: a.r.opts.Retries, ctx: ctx, lookup: lctx, lookupLimit: b.limit, lookupLeft: left, perImage: a.budget != nil}
	p, err := a.r.puller(a.cred)
	if err == nil {
		err = f(lctx, p)
	}
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	cl.realm = a.r.observer.realm(host)
	cl.secrets = a.r.secretsOf(ctx, a.cred)
	return cl.classify(err)
}

// read is bounded for one read of the image's artifacts: it draws one of
// the image's reads first (Options.MaxArtifactRequests), and is not sent
// when none is left. key names the read in the memo (memo.go).
func (a *Artifacts) read(ctx context.Context, key, host, what string, f func(ctx context.Context, p *remote.Puller) error) *Error {
	if e := a.takeAs(key, 1, what); e != nil {
		return e
	}
	return a.bounded(ctx, host, what, f)
}

// take draws n of the image's reads; without ForImage or ForDigest there
// is no image to draw from and nothing is counted.
func (a *Artifacts) take(n int, what string) *Error { return a.takeAs("", n, what) }

// takeAs is take for the read key: a read refused before is refused
// again without being counted again in Skipped.
func (a *Artifacts) takeAs(key string, n int, what string) *Error {
	if a.budget == nil || a.budget.take(n) {
		return nil
	}
	if a.memo.refuse(key) {
		a.Skip(n)
	}
	return a.budget.readsSpentError(a.image, what)
}

// Head returns ref's descriptor with a HEAD (no pull on Docker Hub).
func (a *Artifacts) Head(ctx context.Context, ref name.Reference) (*v1.Descriptor, *Error) {
	key := headKey(ref)
	if m, ok := a.memo.recall(key); ok {
		d, _ := m.v.(*v1.Descriptor)
		return d, m.e
	}
	var desc *v1.Descriptor
	e := a.read(ctx, key, ref.Context().RegistryStr(), ref.Name(), func(ctx context.Context, p *remote.Puller) (err error) {
		desc, err = p.Head(ctx, ref)
		return err
	})
	a.memo.remember(key, desc, e, 512)
	return desc, e
}

// Manifest GETs ref's manifest (by digest, go-containerregistry checks the
// content against it).
func (a *Artifacts) Manifest(ctx context.Context, ref name.Reference) (*remote.Descriptor, *Error) {
	key := manifestKey(ref)
	if m, ok := a.memo.recall(key); ok {
		d, _ := m.v.(*remote.Descriptor)
		return d, m.e
	}
	var desc *remote.Descriptor
	e := a.read(ctx, key, ref.Context().RegistryStr(), ref.Name(), func(ctx context.Context, p *remote.Puller) (err error) {
		desc, err = p.Get(ctx, ref)
		return err
	})
	size := 512
	if desc != nil {
		size += len(desc.Manifest)
	}
	a.memo.remember(key, desc, e, size)
	return desc, e
}

// TagManifest GETs the manifest a signature, attestation or referrers tag
// names; a missing tag is ReasonNotFound, as from Head. Where a manifest
// GET counts as a pull (Docker Hub, Options.HeadFirst) it HEADs first, so
// that an absent tag costs no pull. Elsewhere the GET alone answers both
// questions (a 404 says absent as the HEAD's does): one request, not two,
// where the tag exists.
func (a *Artifacts) TagManifest(ctx context.Context, tag name.Tag) (*remote.Descriptor, *Error) {
	if !a.r.headFirst(tag.RegistryStr()) {
		return a.Manifest(ctx, tag)
	}
	if _, e := a.Head(ctx, tag); e != nil {
		return nil, e
	}
	desc, e := a.Manifest(ctx, tag)
	if e != nil && e.Reason == ReasonNotFound {
		// The HEAD found the tag: a 404 now means it moved between the two
		// requests (deleted or re-pushed), which proves nothing absent.
		return nil, &Error{Reason: ReasonServerError, Status: e.Status, Message: fmt.Sprintf(
			"%s was found by a HEAD and then not by a GET (the tag changed in between); run again", tag.Name())}
	}
	return desc, e
}

// dockerHub are the names of Docker Hub, which counts manifest GETs (not
// HEADs) against its pull rate limit.
var dockerHub = []string{name.DefaultRegistry, "docker.io", "registry-1.docker.io", "registry.hub.docker.com"}

// headFirst reports whether presence is asked with a HEAD on host.
func (r *Resolver) headFirst(host string) bool {
	return slices.Contains(dockerHub, host) || slices.Contains(r.opts.HeadFirst, host)
}

// Blob reads a small blob (a signature payload, a bundle, an envelope);
// go-containerregistry's reader checks it against its digest at EOF.
func (a *Artifacts) Blob(ctx context.Context, repo name.Repository, d v1.Hash) ([]byte, *Error) {
	ref := repo.Digest(d.String())
	key := blobKey(ref)
	if m, ok := a.memo.recall(key); ok {
		b, _ := m.v.([]byte)
		return b, m.e
	}
	var b []byte
	e := a.read(ctx, key, repo.RegistryStr(), ref.Name(), func(ctx context.Context, p *remote.Puller) error {
		l, err := p.Layer(ctx, ref)
		if err != nil {
			return err
		}
		rc, err := l.Compressed()
		if err != nil {
			return err
		}
		defer rc.Close()
		b, err = io.ReadAll(io.LimitReader(rc, maxArtifactBlob+1))
		if err != nil {
			return err
		}
		if len(b) > maxArtifactBlob {
			return &Error{Reason: ReasonServerError, Message: fmt.Sprintf("blob %s in %s is larger than %d bytes", d, repo, maxArtifactBlob)}
		}
		return nil
	})
	a.memo.remember(key, b, e, len(b))
	return b, e
}

// Referrers lists the manifests whose subject is d: from the referrers
// API where the registry has one (following Link pages), else from the
// fallback tag index (TagManifest: a GET, HEADed first on Docker Hub). It says
// which it used. No referrers at all is an empty list, not an error.
func (a *Artifacts) Referrers(ctx context.Context, d name.Digest) ([]v1.Descriptor, string, *Error) {
	key := referrersKey(d)
	if m, ok := a.memo.recall(key); ok {
		l, _ := m.v.(referrersListing)
		return l.descs, l.via, m.e
	}
	descs, via, e := a.referrers(ctx, d)
	if e == nil {
		a.memo.remember(key, referrersListing{descs, via}, nil, 256*len(descs))
	}
	return descs, via, e
}

// referrersListing is a remembered answer of Referrers.
type referrersListing struct {
	descs []v1.Descriptor
	via   string
}

func (a *Artifacts) referrers(ctx context.Context, d name.Digest) ([]v1.Descriptor, string, *Error) {
	host := d.Context().RegistryStr()
	// Until a host is known, one lookup at a time asks its API, so that
	// a registry without one is sent that question once, not once per
	// lookup in flight.
	probe, _ := a.r.referrersProbe.LoadOrStore(host, &sync.Mutex{})
	mu := probe.(*sync.Mutex)
	has, known := a.r.referrersAPI.Load(host)
	if !known {
		mu.Lock()
		has, known = a.r.referrersAPI.Load(host)
		if known {
			mu.Unlock()
		}
	}
	if !known || has.(bool) {
		descs, supported, e := a.referrersAPI(ctx, d)
		if e == nil {
			a.r.referrersAPI.Store(host, supported)
		}
		if !known {
			mu.Unlock()
		}
		if e != nil {
			return nil, ViaReferrersAPI, e
		}
		if supported {
			return descs, ViaReferrersAPI, nil
		}
	}
	tag := d.Context().Tag(strings.Replace(d.DigestStr(), ":", "-", 1))
	desc, e := a.TagManifest(ctx, tag)
	if e != nil {
		if e.Reason == ReasonNotFound {
			return nil, ViaReferrersTag, nil
		}
		return nil, ViaReferrersTag, e
	}
	idx, err := v1.ParseIndexManifest(bytes.NewReader(desc.Manifest))
	if err != nil {
		return nil, ViaReferrersTag, &Error{Reason: ReasonServerError, Message: fmt.Sprintf("the referrers tag %s is not an index", tag)}
	}
	return idx.Manifests, ViaReferrersTag, nil
}

// referrersAPI GETs /v2/<repo>/referrers/<digest>; supported is false when
// the registry answers as one without the API (404, 400, 406, or not an
// index), as the distribution spec allows.
func (a *Artifacts) referrersAPI(ctx context.Context, d name.Digest) (descs []v1.Descriptor, supported bool, e *Error) {
	repo := d.Context()
	e = a.bounded(ctx, repo.RegistryStr(), d.Name(), func(ctx context.Context, _ *remote.Puller) error {
		client, err := a.client(ctx, repo)
		if err != nil {
			return err
		}
		next := &url.URL{Scheme: repo.Scheme(), Host: repo.RegistryStr(), Path: "/v2/" + repo.RepositoryStr() + "/referrers/" + d.DigestStr()}
		for page := 0; next != nil; page++ {
			if page == maxReferrerPages {
				return &Error{Reason: ReasonServerError, Message: fmt.Sprintf("registry %s lists referrers of %s over more than %d pages", repo.RegistryStr(), d.DigestStr(), maxReferrerPages)}
			}
			what := fmt.Sprintf("page %d of the referrers of %s", page+1, d.DigestStr())
			if e := a.takeAs("PAGE "+what, 1, what); e != nil {
				return e
			}
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, next.String(), nil)
			if err != nil {
				return err
			}
			req.Header.Set("Accept", string(types.OCIImageIndex))
			resp, err := client.Do(req)
			if err != nil {
				return err
			}
			body, err := io.ReadAll(io.LimitReader(resp.Body, maxArtifactBlob))
			resp.Body.Close()
			if err != nil {
				return err
			}
			switch {
			case page == 0 && (resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusBadRequest || resp.StatusCode == http.StatusNotAcceptable):
				return nil
			case resp.StatusCode != http.StatusOK:
				resp.Body = io.NopCloser(strings.NewReader(string(body)))
				return transport.CheckError(resp, http.StatusOK)
			case page == 0 && baseMediaType(resp.Header.Get("Content-Type")) != string(types.OCIImageIndex):
				return nil
			}
			var idx v1.IndexManifest
			if err := json.Unmarshal(body, &idx); err != nil {
				return &Error{Reason: ReasonServerError, Message: fmt.Sprintf("registry %s answered the referrers of %s with an index that does not parse", repo.RegistryStr(), d.DigestStr())}
			}
			supported = true
			descs = append(descs, idx.Manifests...)
			if next, err = nextPage(resp.Header, req.URL); err != nil {
				return &Error{Reason: ReasonServerError, Message: fmt.Sprintf("registry %s sent a referrers page link to another host", repo.RegistryStr())}
			}
		}
		return nil
	})
	return descs, supported, e
}

// client is an HTTP client authenticated for repo with the credential,
// built on the resolver's transport stack (ping and token once each).
func (a *Artifacts) client(ctx context.Context, repo name.Repository) (*http.Client, error) {
	key := repo.Name() + "\x00" + credKey(a.cred)
	if c, ok := a.r.authed.Load(key); ok {
		return c.(*http.Client), nil
	}
	auth := a.cred.Auth
	if auth == nil {
		auth = Anonymous.Auth
	}
	rt, err := transport.NewWithContext(ctx, repo.Registry, auth, transport.NewUserAgent(a.r.stack, a.r.opts.UserAgent), []string{repo.Scope(transport.PullScope)})
	if err != nil {
		return nil, err
	}
	c := &http.Client{Transport: rt, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if len(via) >= MaxRedirects || req.URL.Host != via[0].URL.Host {
			what := "referrers"
			if strings.HasSuffix(via[0].URL.Path, "/tags/list") {
				what = "tag list" // the client serves Tags too
			}
			return fmt.Errorf("refusing the %s redirect to %s", what, req.URL.Host)
		}
		return nil
	}}
	a.r.authed.Store(key, c)
	return c, nil
}

// RepositoryOf returns the repository an image reference names, as the
// resolver reads it (kubelet grammar, insecure hosts marked).
func (r *Resolver) RepositoryOf(image string) (name.Repository, error) {
	ref, err := r.parse(image)
	if err != nil {
		return name.Repository{}, err
	}
	return ref.Context(), nil
}
