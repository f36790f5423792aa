package registry

// The classifier: turning what go-containerregistry and our HTTP stack
// return (transport errors, HTTP statuses, network and TLS failures)
// into an *Error with a Reason and a message safe to print.

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"syscall"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// classifier turns an error from go-containerregistry into an *Error.
type classifier struct {
	registry string          // e.g. "index.docker.io"
	ref      string          // normalised reference, for messages
	realm    string          // the token realm the registry announced, query stripped; may be empty
	attempts int             // Options.Retries, for messages
	secrets  []string        // strings to scrub from every message
	ctx      context.Context // the caller's context
	// lookup is the lookup's own context, bounded by what was left
	// (lookupLeft) of its image's budget of Options.LookupTimeout
	// (lookupLimit); nil when there is none.
	lookup      context.Context
	lookupLimit time.Duration
	lookupLeft  time.Duration
	// perImage says the limit is one image's budget for all its lookups
	// (budget.go), not this lookup's alone.
	perImage bool
}

func (c classifier) classify(err error) *Error {
	e := c.classifyRaw(err)
	e.Message = scrub(e.Message, c.secrets)
	return e
}

func (c classifier) classifyRaw(err error) *Error {
	if e := c.preciseFailure(err); e != nil {
		return e
	}
	if e := c.connectionFailure(err); e != nil {
		return e
	}
	return c.textFailure(err)
}

// preciseFailure names what says exactly what happened (our stack's own
// errors, the registry's HTTP answer, the end of the caller's or the
// lookup's time), checked first so that a vaguer match cannot hide it.
func (c classifier) preciseFailure(err error) *Error {
	// Our own transport errors first: they are precise.
	var tooLong *retryAfterTooLongError
	if errors.As(err, &tooLong) {
		return &Error{Reason: ReasonRateLimited, Status: http.StatusTooManyRequests,
			Message: fmt.Sprintf("registry %s is rate limiting: it asked to wait %s, more than the %s we wait", c.registry, tooLong.wait.Round(time.Second), tooLong.limit)}
	}
	var realmAddr *realmAddressError
	if errors.As(err, &realmAddr) {
		if realmAddr.resolve != nil {
			return &Error{Reason: ReasonNetwork, Message: fmt.Sprintf("cannot resolve host %s, the token service registry %s named; no credentials sent", realmAddr.realmHost, realmAddr.registry)}
		}
		return &Error{Reason: ReasonInsecureTokenRealm, Message: fmt.Sprintf("registry %s sent its token service at %s, which resolves to a private address other than the registry's own; refusing to send credentials there (serve the token service from the registry's host, or under a public DNS name)", realmAddr.registry, realmAddr.realmHost)}
	}
	if e := c.realmRefusal(err); e != nil {
		return e
	}
	var terr *transport.Error
	if errors.As(err, &terr) {
		return c.fromTransportError(terr)
	}
	if c.ctx != nil && c.ctx.Err() != nil {
		return contextError(c.ctx)
	}
	if c.lookup != nil && errors.Is(c.lookup.Err(), context.DeadlineExceeded) {
		return c.budgetTimeout()
	}
	var loop *redirectLoopError
	if errors.As(err, &loop) {
		return &Error{Reason: ReasonRedirectLoop, Message: fmt.Sprintf("registry %s redirected %s more than %d times; stopped (a redirect loop?)", c.registry, c.clean(loop.path), loop.hops-1)}
	}
	var tooLarge *tooLargeError
	if errors.As(err, &tooLarge) {
		return &Error{Reason: ReasonTooLarge, Status: http.StatusOK, Message: fmt.Sprintf("registry %s answered for %s with a manifest over %d MiB; not read (real manifests are a few KiB)", c.registry, c.ref, MaxManifestBytes>>20)}
	}
	var notManifest *notManifestError
	if errors.As(err, &notManifest) {
		return &Error{Reason: ReasonNotAManifest, Status: http.StatusOK, Message: fmt.Sprintf("%s answered for %s with content type %q, not an image manifest or index (a proxy or login page in the way?)", notManifest.host, c.ref, truncate(c.clean(notManifest.mediaType), 80))}
	}
	var unusable *unusableHeadError
	if errors.As(err, &unusable) {
		return &Error{Reason: ReasonServerError, Message: fmt.Sprintf("registry %s sent an unusable answer for %s: %s", c.registry, c.ref, c.clean(unusable.why))}
	}
	if e := c.tokenAnswerError(err); e != nil {
		return e
	}
	var redirectAddr *redirectAddressError
	if errors.As(err, &redirectAddr) {
		return &Error{Reason: ReasonRedirectRefused, Message: c.clean(redirectAddr.Error()) + "; refusing to follow it, nothing sent there"}
	}
	if msg := err.Error(); strings.Contains(msg, "SSRF protection: redirect") {
		return &Error{Reason: ReasonRedirectRefused, Message: fmt.Sprintf("registry %s redirected to a private or link-local address; refusing to follow it (%s)", c.registry, c.clean(msg))}
	}
	var attempt *attemptTimeoutError
	if errors.As(err, &attempt) {
		if attempt.body {
			return &Error{Reason: ReasonTimeout, Message: fmt.Sprintf("registry %s started answering for %s but did not finish within %s", c.registry, c.ref, attempt.after)}
		}
		return &Error{Reason: ReasonTimeout, Message: fmt.Sprintf("no answer from %s within %s (%s)", urlHost(err, c.registry), attempt.after, plural(c.attempts, "attempt"))}
	}
	return nil
}

// budgetTimeout is a lookup that ran out of its time: its own, or what
// was left of its image's budget.
func (c classifier) budgetTimeout() *Error {
	if !c.perImage {
		return &Error{Reason: ReasonTimeout, Message: fmt.Sprintf("no answer for %s from %s within the lookup limit of %s (--registry-lookup-timeout: attempts, redirects and token exchanges included)", c.ref, c.registry, c.lookupLimit)}
	}
	within := fmt.Sprintf("the image's lookup budget of %s", c.lookupLimit)
	if c.lookupLeft > 0 && c.lookupLeft < c.lookupLimit {
		within = fmt.Sprintf("the %s left of the image's lookup budget of %s", c.lookupLeft.Round(time.Millisecond), c.lookupLimit)
	}
	return &Error{Reason: ReasonTimeout, Message: fmt.Sprintf("no answer for %s from %s within %s (--registry-lookup-timeout: all of one image's lookups together, attempts, redirects and token exchanges included)", c.ref, c.registry, within)}
}

// connectionFailure names a context, TLS or network failure below HTTP,
// once no more precise error has matched.
func (c classifier) connectionFailure(err error) *Error {
	if errors.Is(err, context.Canceled) {
		return &Error{Reason: ReasonCanceled, Message: "canceled"}
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return &Error{Reason: ReasonTimeout, Message: fmt.Sprintf("no answer from %s in time", urlHost(err, c.registry))}
	}
	if e := c.tlsError(err); e != nil {
		return e
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return &Error{Reason: ReasonTimeout, Message: fmt.Sprintf("network timeout talking to %s", urlHost(err, c.registry))}
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return &Error{Reason: ReasonNetwork, Message: fmt.Sprintf("cannot resolve host %s", dnsErr.Name)}
	}
	if errors.Is(err, syscall.ECONNREFUSED) {
		return &Error{Reason: ReasonNetwork, Message: fmt.Sprintf("connection to %s refused", urlHost(err, c.registry))}
	}
	if errors.Is(err, syscall.ECONNRESET) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return &Error{Reason: ReasonNetwork, Message: fmt.Sprintf("connection to %s closed unexpectedly", urlHost(err, c.registry))}
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) {
		return &Error{Reason: ReasonNetwork, Message: fmt.Sprintf("network error talking to %s: %s", urlHost(err, c.registry), c.clean(opErr.Err.Error()))}
	}
	var ph *plainHTTPError
	if errors.As(err, &ph) {
		return &Error{Reason: ReasonTLS, Message: fmt.Sprintf("plain HTTP to %s refused: it is allowed only for registries listed as insecure", ph.host)}
	}
	return nil
}

// textFailure names what is left by its message, the only thing some
// go-containerregistry and net/http errors offer, else as unknown.
func (c classifier) textFailure(err error) *Error {
	msg := err.Error()
	// Manifests are checked by go-containerregistry's fetcher, blobs by
	// its verifying reader ("error verifying sha256 checksum ...", or the
	// size): both are content that is not what its digest names.
	if strings.Contains(msg, "does not match requested digest") || strings.Contains(msg, "error verifying") {
		return &Error{Reason: ReasonDigestMismatch, Message: fmt.Sprintf("registry %s served content for %s that does not hash to the digest it announced: %s", c.registry, c.ref, c.clean(msg))}
	}
	if strings.Contains(msg, "did not include") {
		return &Error{Reason: ReasonServerError, Message: fmt.Sprintf("registry %s sent an unusable answer: %s", c.registry, c.clean(msg))}
	}
	if strings.Contains(msg, "malformed HTTP") || strings.Contains(msg, "connection broken") || strings.Contains(msg, "server closed") {
		return &Error{Reason: ReasonNetwork, Message: fmt.Sprintf("connection to %s broke: %s", urlHost(err, c.registry), c.clean(msg))}
	}
	return &Error{Reason: ReasonUnknown, Message: fmt.Sprintf("talking to registry %s: %s", c.registry, c.clean(msg))}
}

// tokenAnswerError names a token service answer that is not a token. The
// raw error may carry the answer (which may hold a token): never print it.
func (c classifier) tokenAnswerError(err error) *Error {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case strings.Contains(err.Error(), "no token in bearer response"):
		return &Error{Reason: ReasonTokenService, Message: fmt.Sprintf("the token service of %s answered without a token", c.registry)}
	case errors.As(err, &syntax), errors.As(err, &typ):
		return &Error{Reason: ReasonTokenService, Message: fmt.Sprintf("the token service of %s answered something that is not token JSON", c.registry)}
	}
	return nil
}

func (c classifier) fromTransportError(terr *transport.Error) *Error {
	codes := map[transport.ErrorCode]bool{}
	for _, d := range terr.Errors {
		codes[d.Code] = true
	}
	status := terr.StatusCode
	what := "registry " + c.registry
	if terr.Request != nil && terr.Request.URL != nil && !strings.HasPrefix(terr.Request.URL.Path, "/v2/") {
		what = "the token service " + terr.Request.URL.Host + " of " + c.registry
	}
	detail := c.statusDetail(terr)
	switch {
	case status == http.StatusUnauthorized || (status != http.StatusForbidden && codes[transport.UnauthorizedErrorCode]):
		return &Error{Reason: ReasonUnauthorized, Status: status, Message: fmt.Sprintf("%s refused the credential (%s)", what, detail)}
	case status == http.StatusForbidden || codes[transport.DeniedErrorCode]:
		return &Error{Reason: ReasonForbidden, Status: status, Message: fmt.Sprintf("%s denied access to %s (%s)", what, c.ref, detail)}
	case status == http.StatusNotFound || codes[transport.ManifestUnknownErrorCode] || codes[transport.NameUnknownErrorCode]:
		return &Error{Reason: ReasonNotFound, Status: status, Message: fmt.Sprintf("%s not found (%s)", c.ref, detail)}
	case status == http.StatusTooManyRequests || codes[transport.TooManyRequestsErrorCode]:
		return &Error{Reason: ReasonRateLimited, Status: status, Message: fmt.Sprintf("%s is rate limiting, still after %s (%s)", what, plural(c.attempts, "attempt"), detail)}
	case status == http.StatusRequestTimeout:
		return &Error{Reason: ReasonTimeout, Status: status, Message: fmt.Sprintf("%s timed out (%s)", what, detail)}
	case status >= 500:
		return &Error{Reason: ReasonServerError, Status: status, Message: fmt.Sprintf("%s failed after %s (%s)", what, plural(c.attempts, "attempt"), detail)}
	case codes[transport.NameInvalidErrorCode] || codes[transport.TagInvalidErrorCode]:
		return &Error{Reason: ReasonInvalidReference, Status: status, Message: fmt.Sprintf("%s rejected the reference %s (%s)", what, c.ref, detail)}
	}
	return &Error{Reason: ReasonUnknown, Status: status, Message: fmt.Sprintf("%s answered %s", what, detail)}
}

// statusDetail is "HTTP 404 Not Found: MANIFEST_UNKNOWN: manifest unknown",
// with the registry's own words shortened and without any raw body (which
// may be an HTML page, or echo what we sent).
func (c classifier) statusDetail(terr *transport.Error) string {
	s := fmt.Sprintf("HTTP %d %s", terr.StatusCode, http.StatusText(terr.StatusCode))
	for i, d := range terr.Errors {
		if i == 2 {
			s += "; …"
			break
		}
		sep := ": "
		if i > 0 {
			sep = "; "
		}
		s += sep + string(d.Code)
		if m := strings.TrimSpace(d.Message); m != "" && !strings.EqualFold(m, string(d.Code)) {
			s += " " + truncate(c.clean(m), 120)
		}
	}
	return s
}

// go-containerregistry's token-realm guard (transport/bearer.go,
// validateRealmURL) answers with plain fmt errors:
//
//	invalid realm in www-authenticate: realm scheme "http" not allowed for a secure registry; use https
//	invalid realm in www-authenticate: realm host "10.0.0.5" is a private or link-local address
//	invalid realm in www-authenticate: realm scheme "ftp" not allowed; must be https (or http for insecure registries)
//	refusing token-server redirect to "…": realm host "…" is a private or link-local address
//
// There is no error type to match, so we match the text.
var realmHostRE = regexp.MustCompile(`realm host "([^"]*)"`)

func (c classifier) realmRefusal(err error) *Error {
	msg := err.Error()
	redirect := strings.Contains(msg, "refusing token-server redirect")
	missing := strings.Contains(msg, "www-authenticate, missing realm")
	if !redirect && !missing && !strings.Contains(msg, "invalid realm in www-authenticate") {
		return nil
	}
	host := ""
	if m := realmHostRE.FindStringSubmatch(msg); m != nil {
		host = m[1]
	}
	realm := c.realm
	switch {
	case realm != "":
	case host != "":
		realm = host
	default:
		realm = "an address it named"
	}
	e := &Error{Reason: ReasonInsecureTokenRealm}
	switch {
	case missing:
		e.Reason = ReasonServerError
		e.Message = fmt.Sprintf("registry %s asked for a bearer token without naming a token service (no realm)", c.registry)
	case redirect:
		e.Message = fmt.Sprintf("the token service of registry %s (%s) redirected to a private address; refusing to follow it with credentials", c.registry, realm)
	case strings.Contains(msg, "is a private or link-local address"):
		e.Message = fmt.Sprintf("registry %s sent its token service at %s; refusing to send credentials to a private address other than the registry itself (serve the token service from the registry's own host:port, or under a DNS name)", c.registry, realm)
	case strings.Contains(msg, "not allowed for a secure registry"):
		e.Message = fmt.Sprintf("registry %s is served over HTTPS but sent its token service at %s; refusing to send credentials over plain HTTP", c.registry, realm)
	default:
		e.Message = fmt.Sprintf("registry %s sent its token service at %s, which is not an https (or, for an insecure registry, http) URL; refusing to send credentials there", c.registry, realm)
	}
	return e
}

func (c classifier) tlsError(err error) *Error {
	host := urlHost(err, c.registry)
	var unknownCA x509.UnknownAuthorityError
	var hostname x509.HostnameError
	var invalid x509.CertificateInvalidError
	var verify *tls.CertificateVerificationError
	var record tls.RecordHeaderError
	var alert tls.AlertError
	switch {
	case errors.As(err, &unknownCA):
		return &Error{Reason: ReasonTLS, Message: fmt.Sprintf("the certificate of %s is signed by an unknown authority; trust its CA (CA file) or list the registry as insecure", host)}
	case errors.As(err, &hostname):
		return &Error{Reason: ReasonTLS, Message: fmt.Sprintf("the certificate of %s is not valid for that name: %s", host, c.clean(hostname.Error()))}
	case errors.As(err, &invalid):
		return &Error{Reason: ReasonTLS, Message: fmt.Sprintf("the certificate of %s is invalid: %s", host, c.clean(invalid.Error()))}
	case errors.As(err, &verify):
		return &Error{Reason: ReasonTLS, Message: fmt.Sprintf("the certificate of %s could not be verified: %s", host, c.clean(verify.Err.Error()))}
	case errors.Is(err, http.ErrSchemeMismatch), errors.As(err, &record):
		return &Error{Reason: ReasonTLS, Message: fmt.Sprintf("%s answered an HTTPS request in plain HTTP; if it is meant to be plain HTTP, list it as an insecure registry", host)}
	case errors.As(err, &alert):
		return &Error{Reason: ReasonTLS, Message: fmt.Sprintf("TLS handshake with %s failed: %s", host, c.clean(alert.Error()))}
	}
	return nil
}

// contextError describes why the caller's context ended.
func contextError(ctx context.Context) *Error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return &Error{Reason: ReasonTimeout, Message: "the caller's deadline passed"}
	}
	return &Error{Reason: ReasonCanceled, Message: "canceled"}
}

// urlHost is the host of the request an error is about, else fallback.
func urlHost(err error, fallback string) string {
	var uerr *url.Error
	if errors.As(err, &uerr) {
		if u, perr := url.Parse(uerr.URL); perr == nil && u.Host != "" {
			return u.Host
		}
	}
	var ph *plainHTTPError
	if errors.As(err, &ph) {
		return ph.host
	}
	return fallback
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}
