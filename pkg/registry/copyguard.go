package registry

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
)

// pushTransport sits under go-containerregistry's layers for a copy's
// writes: it counts the blob uploads and keeps them on the target.
type pushTransport struct {
	next  http.RoundTripper
	blobs atomic.Int64
}

func (u *pushTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := checkUploadHop(req); err != nil {
		return nil, err
	}
	resp, err := u.next.RoundTrip(req)
	if err != nil || !isUpload(req) {
		return resp, err
	}
	if err := checkUploadLocation(req, resp); err != nil {
		drain(resp)
		return nil, err
	}
	u.count(req, resp)
	return resp, nil
}

// count notes finished uploads (PUT …/blobs/uploads/…) and
// cross-repository mounts that took (201).
func (u *pushTransport) count(req *http.Request, resp *http.Response) {
	switch {
	case req.Method == http.MethodPut && resp.StatusCode == http.StatusCreated:
		u.blobs.Add(1)
	case req.Method == http.MethodPost && req.URL.Query().Get("mount") != "" && resp.StatusCode == http.StatusCreated:
		u.blobs.Add(1)
	}
}

func isUpload(req *http.Request) bool { return strings.Contains(req.URL.Path, "/blobs/uploads/") }

// checkUploadLocation refuses an upload session that continues on another
// host: go-containerregistry would send the blob there (without the
// credential, which it keeps to the registry's host), the target would
// never hold it, and a manifest accepted afterwards could not be pulled.
func checkUploadLocation(req *http.Request, resp *http.Response) error {
	loc := resp.Header.Get("Location")
	if loc == "" || resp.StatusCode != http.StatusAccepted {
		return nil
	}
	u, err := url.Parse(loc)
	if err != nil {
		return nil // go-containerregistry names it
	}
	if to := req.URL.ResolveReference(u); !sameHost(to, req.URL) {
		return uploadElsewhere(req.URL, to, "its upload went to")
	}
	return nil
}

// checkUploadHop refuses a redirect that would carry an upload (and its
// body) off the target registry.
func checkUploadHop(req *http.Request) error {
	first := req
	for r := req; r.Response != nil && r.Response.Request != nil; r = r.Response.Request {
		first = r.Response.Request
	}
	if first == req || !isUpload(first) || sameHost(first.URL, req.URL) {
		return nil
	}
	if req.Body != nil {
		_ = req.Body.Close()
	}
	return uploadElsewhere(first.URL, req.URL, "its upload was redirected to")
}

func uploadElsewhere(target, other *url.URL, how string) *Error {
	return &Error{Reason: ReasonIncompleteCopy, Message: fmt.Sprintf(
		"registry %s sent a blob upload to another host (%s %s): refused, the blob and the credential are for %s only",
		target.Host, how, other.Host, target.Host)}
}

// sameHost compares host and port, a missing port being the scheme's
// default: the endpoint, as go-containerregistry scopes a credential.
func sameHost(a, b *url.URL) bool { return strings.EqualFold(hostPort(a), hostPort(b)) }

func hostPort(u *url.URL) string {
	if u.Port() != "" {
		return u.Host
	}
	return net.JoinHostPort(u.Hostname(), map[string]string{"http": "80", "https": "443"}[strings.ToLower(u.Scheme)])
}
