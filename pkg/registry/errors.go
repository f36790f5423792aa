package registry

// The failure taxonomy: the Reasons a lookup can fail for, the *Error
// callers get, and the error types our HTTP stack raises for the
// classifier to name.

import (
	"fmt"
	"time"
)

// Reason says why a resolution failed, in a word callers can switch on.
type Reason string

// Reasons. Callers map them to findings; e.g. unauthorized means no
// credential was accepted (a "no-credentials" finding).
const (
	// Every credential was refused with 401 (or the token service refused it).
	ReasonUnauthorized Reason = "unauthorized"
	// At least one credential was refused with 403: the registry knew it but
	// denied access.
	ReasonForbidden Reason = "forbidden"
	// 404, MANIFEST_UNKNOWN, NAME_UNKNOWN.
	ReasonNotFound Reason = "not-found"
	// 429 after the allowed attempts, or a 429 whose wait (Retry-After, or
	// the doubled backoff without one) is longer than MaxRetryAfter.
	ReasonRateLimited Reason = "rate-limited"
	// No answer within Options.Timeout on every attempt, an answer whose
	// body did not finish within it, 408 after the allowed attempts, a
	// lookup past Options.LookupTimeout, or the caller's deadline passed.
	ReasonTimeout Reason = "timeout"
	// Certificate verification failed, the registry spoke plain HTTP to an
	// HTTPS request, or plain HTTP was refused for a host not listed in
	// Options.Insecure.
	ReasonTLS Reason = "tls"
	// DNS, connection refused or reset, and other transport failures.
	ReasonNetwork Reason = "network"
	// The image reference does not parse.
	ReasonInvalidReference Reason = "invalid-reference"
	// 5xx (after the allowed attempts for 500, 502, 503, 504 and 522; at
	// once for the others), or an answer we cannot use.
	ReasonServerError Reason = "server-error"
	// The registry's auth challenge named a token service that
	// go-containerregistry refuses to send credentials to: a plain-HTTP
	// realm for an HTTPS registry, or a realm on a private, loopback or
	// link-local IP other than the registry's own host (an SSRF guard with
	// no opt-out), or on a name that resolves to such an address other
	// than the registry's own (realmguard.go). No credential can fix it,
	// so the search stops.
	ReasonInsecureTokenRealm Reason = "insecure-token-realm"
	// Options.Platform was set and the index has no manifest for it. The
	// Result still carries the index digest.
	ReasonNoMatchingPlatform Reason = "no-matching-platform"
	// The registry redirected more than MaxRedirects times in one request
	// (a redirect loop, or a chain too long to be honest).
	ReasonRedirectLoop Reason = "redirect-loop"
	// A redirect we refuse to follow: from a public host to a private or
	// link-local address (go-containerregistry's SSRF guard).
	ReasonRedirectRefused Reason = "redirect-refused"
	// The registry answered 200 with something that is not an image
	// manifest or index, e.g. a proxy's HTML login page.
	ReasonNotAManifest Reason = "not-a-manifest"
	// The manifest's content does not hash to the digest the registry
	// announced (Options.VerifyContent).
	ReasonDigestMismatch Reason = "digest-mismatch"
	// The token service answered something that is not a token: JSON that
	// does not parse, or no token in it.
	ReasonTokenService Reason = "token-service"
	// A copy's target tag already names another digest (Copy without
	// OverwriteTags).
	ReasonTagConflict Reason = "tag-conflict"
	// A copy the target cannot serve whole: it took the manifest but lacks
	// one of its blobs, or it sent a blob upload to another host (refused).
	ReasonIncompleteCopy Reason = "incomplete-copy"
	// A manifest or index larger than MaxManifestBytes: read no further.
	ReasonTooLarge Reason = "too-large"
	// A read of an image's artifacts not sent because the image's reads
	// (Options.MaxArtifactRequests) were spent: nothing is known of what
	// it would have read.
	ReasonRequestBudget Reason = "request-budget"
	// The caller's context was canceled.
	ReasonCanceled Reason = "canceled"
	// Anything else. The message says what happened.
	ReasonUnknown Reason = "unknown"
)

// Error is a per-image failure. Message is short and safe to print: it
// never holds a credential, a token or a URL query string.
type Error struct {
	Reason  Reason `json:"reason"`
	Message string `json:"message"`
	// Status is the HTTP status behind the failure, 0 when there was none.
	Status int `json:"status,omitempty"`
}

func (e *Error) Error() string { return string(e.Reason) + ": " + e.Message }

// refused reports whether the next credential should be tried.
func (e *Error) refused() bool {
	return e != nil && (e.Reason == ReasonUnauthorized || e.Reason == ReasonForbidden)
}

// plainHTTPError is returned for a plain-HTTP request to a host that is not
// in Options.Insecure. go-containerregistry falls back to HTTP on its own for
// localhost and RFC 1918 registries; we do not, so that basic credentials
// never cross the network in clear text unless the user asked for it.
type plainHTTPError struct{ host string }

func (e *plainHTTPError) Error() string {
	return fmt.Sprintf("plain HTTP to %s refused: not an insecure registry", e.host)
}

// attemptTimeoutError is one HTTP attempt running past Options.Timeout
// (the caller's own context still being alive). It is retried.
type attemptTimeoutError struct {
	after time.Duration
	body  bool // the answer began but its body did not arrive in time
}

func (e *attemptTimeoutError) Error() string {
	if e.body {
		return fmt.Sprintf("the answer did not finish within %s", e.after)
	}
	return fmt.Sprintf("no answer within %s", e.after)
}
func (e *attemptTimeoutError) Timeout() bool   { return true }
func (e *attemptTimeoutError) Temporary() bool { return true }

// retryAfterTooLongError is a 429 whose wait (its Retry-After, or the
// doubled backoff when it has none) is longer than we are willing to wait:
// we give up at once rather than sleep.
type retryAfterTooLongError struct{ wait, limit time.Duration }

func (e *retryAfterTooLongError) Error() string {
	return fmt.Sprintf("rate limited: asked to wait %s, more than the %s limit", e.wait, e.limit)
}

// redirectLoopError ends a request the registry redirected more than
// MaxRedirects times. go-containerregistry installs its own CheckRedirect
// (an SSRF guard) that replaces Go's 10-hop limit and has none itself.
type redirectLoopError struct {
	hops       int
	host, path string // of the first request, query stripped
}

func (e *redirectLoopError) Error() string {
	return fmt.Sprintf("%s%s redirected more than %d times", e.host, e.path, e.hops-1)
}

// unusableHeadError is a 200 answer to a manifest HEAD whose headers cannot
// tell the digest (Docker-Content-Digest, Content-Type or Content-Length
// missing or malformed). containerd then GETs the manifest and hashes it;
// so do we.
type unusableHeadError struct{ why string }

func (e *unusableHeadError) Error() string { return "unusable HEAD answer: " + e.why }

// notManifestError is a 200 answer to a manifest request whose media type
// is neither a manifest nor an index.
// tooLargeError: a manifest answer over MaxManifestBytes.
type tooLargeError struct {
	host string
	size int64 // as announced; -1 when it only showed in the reading
}

func (e *tooLargeError) Error() string {
	if e.size >= 0 {
		return fmt.Sprintf("%s announced a manifest of %d bytes, over the limit of %d", e.host, e.size, MaxManifestBytes)
	}
	return fmt.Sprintf("%s sent a manifest over the limit of %d bytes", e.host, MaxManifestBytes)
}

type notManifestError struct{ host, mediaType string }

func (e *notManifestError) Error() string {
	return fmt.Sprintf("%s answered with content type %q, not an image manifest or index", e.host, e.mediaType)
}
