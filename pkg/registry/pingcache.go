package registry

import (
	"bytes"
	"io"
	"net/http"
	"sync"
)

// maxPingBody bounds what a cached ping answer may hold (a short JSON
// error at most).
const maxPingBody = 64 << 10

// pingCache sends go-containerregistry's ping (an anonymous GET /v2/) once
// per registry URL for the resolver's life and replays the answer: 200, or
// 401 with the auth challenge, depends on neither the credential nor the
// repository, yet go-containerregistry pings again for every repository and
// credential it builds a transport for. Failures and other statuses are not
// kept, so retries and the down-registry logic see every real attempt.
type pingCache struct {
	next  http.RoundTripper
	mu    sync.Mutex
	calls map[string]*pingCall
}

type pingCall struct {
	done chan struct{}
	ans  *pingAnswer // nil when the first ping failed
}

type pingAnswer struct {
	status int
	header http.Header
	body   []byte
}

func (p *pingCache) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method != http.MethodGet || (req.URL.Path != "/v2/" && req.URL.Path != "/v2") || req.Header.Get("Authorization") != "" {
		return p.next.RoundTrip(req)
	}
	key := req.URL.Scheme + "://" + req.URL.Host
	p.mu.Lock()
	if p.calls == nil {
		p.calls = map[string]*pingCall{}
	}
	if c, ok := p.calls[key]; ok {
		p.mu.Unlock()
		select {
		case <-c.done:
		case <-req.Context().Done():
			return nil, req.Context().Err()
		}
		if c.ans != nil {
			return c.ans.response(req), nil
		}
		return p.next.RoundTrip(req) // the first failed: try for ourselves
	}
	c := &pingCall{done: make(chan struct{})}
	p.calls[key] = c
	p.mu.Unlock()
	defer close(c.done)

	forget := func() {
		p.mu.Lock()
		delete(p.calls, key)
		p.mu.Unlock()
	}
	resp, err := p.next.RoundTrip(req)
	if err != nil || (resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusUnauthorized) {
		forget()
		return resp, err
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxPingBody))
	resp.Body.Close()
	if err != nil {
		forget()
		return nil, err
	}
	c.ans = &pingAnswer{status: resp.StatusCode, header: resp.Header.Clone(), body: body}
	return c.ans.response(req), nil
}

func (a *pingAnswer) response(req *http.Request) *http.Response {
	return &http.Response{
		Status: http.StatusText(a.status), StatusCode: a.status,
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: a.header.Clone(), Body: io.NopCloser(bytes.NewReader(a.body)),
		ContentLength: int64(len(a.body)), Request: req,
	}
}
