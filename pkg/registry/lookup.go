package registry

// Resolving one image: the credentials in the kubelet's order, one
// deduplicated lookup per (reference, credential), and the registry
// request behind it (a manifest HEAD, or a GET where a HEAD cannot do).

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

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
		res.IndexManifests = out.children
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

	// The image's budget, drawn from here on: per-attempt timeouts alone
	// let retries, redirects and token exchanges add up without end, and
	// per-lookup ones let each later stage wait out the same stall again.
	b := r.budgetOf(ref.Name())
	lctx, left, done, ok := b.start(ctx)
	if !ok {
		return outcome{err: b.spentError(ref.Name(), "the manifest")}
	}
	defer done()
	cl := classifier{
		registry:    host,
		ref:         ref.Name(),
		attempts:    r.opts.Retries,
		ctx:         ctx,
		lookup:      lctx,
		lookupLimit: b.limit,
		lookupLeft:  left,
		perImage:    true,
	}
	p, err := r.puller(c)
	if err != nil {
		return outcome{err: cl.classify(err)}
	}
	fail := func(err error) outcome {
		cl.realm = r.observer.realm(host)
		cl.secrets = r.secretsOf(ctx, c)
		e := cl.classify(err)
		// A ping cut short by what an image's earlier lookups left of its
		// budget says nothing of the host: only a whole budget's stall does.
		if ctx.Err() == nil && (lctx.Err() == nil || left == b.limit) && hostLevel(e, err) {
			r.markDown(host, e)
		}
		return outcome{err: e}
	}
	var out outcome
	if r.platform == nil {
		out = r.byHead(lctx, p, ref, fail, cl)
	} else {
		out = r.byPlatform(lctx, p, ref, fail, cl)
	}
	if out.err == nil && out.digest != "" {
		r.linkBudget(ref, out.digest)
	}
	return out
}

// byHead resolves ref with a manifest HEAD, which Docker Hub does not count
// as a pull, falling back to a GET only when the HEAD answer is unusable.
func (r *Resolver) byHead(ctx context.Context, p *remote.Puller, ref name.Reference, fail func(error) outcome, cl classifier) outcome {
	desc, err := p.Head(ctx, ref)
	var unusable *unusableHeadError
	if errors.As(err, &unusable) {
		out := r.byContent(ctx, p, ref, fail, cl)
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
		if _, err := p.Get(ctx, ref.Context().Digest(out.digest)); err != nil {
			return fail(err)
		}
		out.verified = true
	}
	return out
}

// byPlatform resolves ref with a manifest GET, since only the index's
// content can tell which manifest is Options.Platform's.
func (r *Resolver) byPlatform(ctx context.Context, p *remote.Puller, ref name.Reference, fail func(error) outcome, cl classifier) outcome {
	desc, err := p.Get(ctx, ref)
	if err != nil {
		return fail(err)
	}
	d := desc.Descriptor
	if mt, ok := manifestType(desc); ok {
		d.MediaType = types.MediaType(mt)
	} else {
		return outcome{err: cl.classify(&notManifestError{host: ref.Context().RegistryStr(), mediaType: string(desc.MediaType)})}
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
