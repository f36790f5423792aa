package registry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		in     string
		want   time.Duration
		wantOK bool
	}{
		{"", 0, false},
		{"1", time.Second, true},
		{" 30 ", 30 * time.Second, true},
		{"0", 0, true},
		{"-5", 0, false},
		{"soon", 0, false},
		{"99999999999999999", 24 * time.Hour, true},
		{now.Add(10 * time.Second).Format(http.TimeFormat), 10 * time.Second, true},
		{now.Add(-time.Minute).Format(http.TimeFormat), 0, true},
		{now.Add(90 * time.Second).Format(time.RFC850), 90 * time.Second, true},
	}
	for _, tt := range tests {
		got, ok := parseRetryAfter(tt.in, now)
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("parseRetryAfter(%q) = %s, %t; want %s, %t", tt.in, got, ok, tt.want, tt.wantOK)
		}
	}
}

func TestClassify(t *testing.T) {
	const secret = "p4ssw0rd-secret"
	req := func(method, raw string) *http.Request {
		u, _ := url.Parse(raw)
		return &http.Request{Method: method, URL: u}
	}
	tests := []struct {
		name       string
		err        error
		wantReason Reason
		wantStatus int
		wantIn     []string
		wantNotIn  []string
	}{
		{"401", &transport.Error{StatusCode: 401, Request: req("HEAD", "https://reg.example/v2/a/manifests/v1")}, ReasonUnauthorized, 401, []string{"reg.example", "401"}, nil},
		{"token service 401", &transport.Error{StatusCode: 401, Request: req("GET", "https://auth.example/token?scope=x&account=me")}, ReasonUnauthorized, 401, []string{"token service auth.example"}, []string{"scope=", "account"}},
		{"400 with UNAUTHORIZED code", &transport.Error{StatusCode: 400, Errors: []transport.Diagnostic{{Code: transport.UnauthorizedErrorCode}}}, ReasonUnauthorized, 400, nil, nil},
		{"403 DENIED", &transport.Error{StatusCode: 403, Errors: []transport.Diagnostic{{Code: transport.DeniedErrorCode, Message: "denied for " + secret}}}, ReasonForbidden, 403, []string{"DENIED", "REDACTED"}, []string{secret}},
		{"404 NAME_UNKNOWN", &transport.Error{StatusCode: 404, Errors: []transport.Diagnostic{{Code: transport.NameUnknownErrorCode, Message: "repository name not known to registry"}}}, ReasonNotFound, 404, []string{"NAME_UNKNOWN"}, nil},
		{"MANIFEST_UNKNOWN on a 400", &transport.Error{StatusCode: 400, Errors: []transport.Diagnostic{{Code: transport.ManifestUnknownErrorCode}}}, ReasonNotFound, 400, nil, nil},
		{"429", &transport.Error{StatusCode: 429}, ReasonRateLimited, 429, []string{"3 attempts"}, nil},
		{"Retry-After too long", &url.Error{Op: "Head", URL: "https://reg.example/v2/", Err: &retryAfterTooLongError{wait: time.Hour, limit: 30 * time.Second}}, ReasonRateLimited, 429, []string{"1h0m0s", "30s"}, nil},
		{"502", &transport.Error{StatusCode: 502}, ReasonServerError, 502, nil, nil},
		{"408", &transport.Error{StatusCode: 408}, ReasonTimeout, 408, nil, nil},
		{"attempt timeout", &url.Error{Op: "Head", URL: "https://reg.example/v2/x?token=abc", Err: &attemptTimeoutError{after: time.Second}}, ReasonTimeout, 0, []string{"reg.example", "1s"}, []string{"token=abc"}},
		{"deadline", fmt.Errorf("x: %w", context.DeadlineExceeded), ReasonTimeout, 0, nil, nil},
		{"canceled", fmt.Errorf("x: %w", context.Canceled), ReasonCanceled, 0, nil, nil},
		{"dns", &url.Error{Op: "Get", URL: "https://nope.invalid/v2/", Err: &net.OpError{Op: "dial", Err: &net.DNSError{Name: "nope.invalid", Err: "no such host", IsNotFound: true}}}, ReasonNetwork, 0, []string{"nope.invalid"}, nil},
		{"refused", &url.Error{Op: "Get", URL: "https://reg.example:5000/v2/", Err: &net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}}, ReasonNetwork, 0, []string{"reg.example:5000", "refused"}, nil},
		{"plain HTTP refused", &url.Error{Op: "Get", URL: "http://reg.example/v2/", Err: &plainHTTPError{host: "reg.example"}}, ReasonTLS, 0, []string{"insecure"}, nil},
		{"scheme mismatch", &url.Error{Op: "Get", URL: "https://reg.example/v2/", Err: http.ErrSchemeMismatch}, ReasonTLS, 0, []string{"plain HTTP"}, nil},
		{"token body", errors.New("no token in bearer response:\n{\"refresh_token\":\"" + secret + "\"}"), ReasonTokenService, 0, []string{"without a token", "reg.example"}, []string{secret, "refresh_token"}},
		{"token JSON that does not parse", &url.Error{Op: "Get", URL: "https://auth.example/token", Err: &json.SyntaxError{Offset: 3}}, ReasonTokenService, 0, []string{"not token JSON", "reg.example"}, nil},
		{"redirect loop", &url.Error{Op: "Head", URL: "https://reg.example/v2/a/manifests/v1", Err: &redirectLoopError{hops: 11, host: "reg.example", path: "/v2/a/manifests/v1"}}, ReasonRedirectLoop, 0, []string{"reg.example", "more than 10 times"}, nil},
		{"SSRF redirect refused", &url.Error{Op: "Head", URL: "https://reg.example/v2/a/manifests/v1", Err: errors.New(`SSRF protection: redirect from "reg.example" to private/link-local host "169.254.169.254" denied`)}, ReasonRedirectRefused, 0, []string{"reg.example", "169.254.169.254"}, nil},
		{"not a manifest", &url.Error{Op: "Head", URL: "https://reg.example/v2/a/manifests/v1", Err: &notManifestError{host: "reg.example", mediaType: "text/html"}}, ReasonNotAManifest, 200, []string{"text/html", "reg.example/a:v1"}, nil},
		{"digest mismatch", errors.New(`manifest digest: "sha256:aa" does not match requested digest: "sha256:bb" for "reg.example/a@sha256:bb"`), ReasonDigestMismatch, 0, []string{"reg.example", "does not hash"}, nil},
		{"blob digest mismatch", errors.New(`error verifying sha256 checksum after reading 10 bytes; got "sha256:aa", want "sha256:bb"`), ReasonDigestMismatch, 0, []string{"reg.example", "does not hash"}, nil},
		{"broken connection", &url.Error{Op: "Head", URL: "https://reg.example:5000/v2/", Err: errors.New("net/http: HTTP/1.x transport connection broken: malformed HTTP response \"x\"")}, ReasonNetwork, 0, []string{"reg.example:5000"}, nil},
		{"realm", errors.New(`invalid realm in www-authenticate: realm host "169.254.169.254" is a private or link-local address`), ReasonInsecureTokenRealm, 0, []string{"169.254.169.254", "private address"}, nil},
		{"realm redirect", &url.Error{Op: "Get", URL: "https://auth.example/token?sig=" + secret, Err: errors.New(`refusing token-server redirect to "http://10.1.1.1/t?sig=` + secret + `": realm host "10.1.1.1" is a private or link-local address`)}, ReasonInsecureTokenRealm, 0, []string{"redirected"}, []string{secret}},
		{"unknown, with a URL query and a header", fmt.Errorf(`GET https://cdn.example/blob?X-Amz-Signature=%s: weird; Authorization: Bearer abcdefghijklmnop`, secret), ReasonUnknown, 0, []string{"https://cdn.example/blob", "Bearer REDACTED"}, []string{secret, "abcdefghijklmnop"}},
		{"unknown with the secret", errors.New("helper said " + secret), ReasonUnknown, 0, []string{"REDACTED", "registry reg.example"}, []string{secret}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := classifier{registry: "reg.example", ref: "reg.example/a:v1", attempts: 3, secrets: []string{secret}, ctx: context.Background()}
			got := c.classify(tt.err)
			t.Logf("%v", got)
			if got.Reason != tt.wantReason || got.Status != tt.wantStatus {
				t.Errorf("classify(%v) = %s/%d, want %s/%d", tt.err, got.Reason, got.Status, tt.wantReason, tt.wantStatus)
			}
			for _, s := range tt.wantIn {
				if !strings.Contains(got.Message, s) {
					t.Errorf("Message = %q, want it to contain %q", got.Message, s)
				}
			}
			for _, s := range tt.wantNotIn {
				if strings.Contains(got.Message, s) {
					t.Errorf("Message = %q, must not contain %q", got.Message, s)
				}
			}
		})
	}
}

func TestHostSet(t *testing.T) {
	s, err := newHostSet([]string{"Reg.Example:5000", "plain.example", "secure.example:443", "[::1]:5000"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		host, scheme string
		want         bool
	}{
		{"reg.example:5000", "https", true},
		{"REG.example:5000", "http", true},
		{"reg.example:5001", "https", false},
		{"reg.example", "https", false},
		{"plain.example", "http", true},
		{"plain.example:8080", "https", true},
		{"secure.example", "https", true},
		{"secure.example", "http", false},
		{"[::1]:5000", "http", true},
		{"other.example", "https", false},
	}
	for _, tt := range tests {
		if got := s.has(tt.host, tt.scheme); got != tt.want {
			t.Errorf("has(%q, %q) = %t, want %t", tt.host, tt.scheme, got, tt.want)
		}
	}
}

// A manifest over MaxManifestBytes is refused by its announced size, or
// stopped once read past it: too-large, never a parse error or OOM.
func TestManifestOverTheCapIsTooLarge(t *testing.T) {
	big := `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[],"annotations":{"pad":"` + strings.Repeat("x", MaxManifestBytes) + `"}}`
	for _, announce := range []bool{true, false} {
		t.Run(fmt.Sprintf("announced=%v", announce), func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/v2/" {
					return
				}
				w.Header().Set("Content-Type", "application/vnd.oci.image.index.v1+json")
				w.Header().Set("Docker-Content-Digest", "sha256:"+strings.Repeat("a", 64))
				if !announce {
					w.Header().Set("Transfer-Encoding", "chunked")
					w.(http.Flusher).Flush() // no Content-Length: the size shows only in the reading
				} else {
					w.Header().Set("Content-Length", fmt.Sprint(len(big)))
				}
				if r.Method == http.MethodGet {
					_, _ = io.WriteString(w, big)
				}
			}))
			defer srv.Close()
			host := strings.TrimPrefix(srv.URL, "http://")
			r, _ := New(Options{Insecure: []string{host}, Retries: 1, Platform: "linux/amd64"})
			res := r.Resolve(context.Background(), Request{Image: host + "/app:1"})
			if res.Err == nil || res.Err.Reason != ReasonTooLarge || !strings.Contains(res.Err.Message, "over 4 MiB") {
				t.Fatalf("want too-large, got %+v", res.Err)
			}
		})
	}
}
