package registry

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"io"
	"net/http"
	"sync"
	"time"
)

// maxKeptToken bounds a kept token answer; real ones are a few KiB.
const maxKeptToken = 1 << 20

// tokenCache answers a token request from memory when the very same one
// (method GET, the whole URL with its scope and service, and the same
// Authorization header, so the same credential) was answered 200 before
// and the token has not used half its life. go-containerregistry gets a
// token per transport, and Artifacts' tag listing and referrers requests
// use a transport of their own beside the Puller's, so each private
// repository would pay a second token exchange for the same
// repository:NAME:pull scope. Nothing is sent anywhere by a replay, so no
// credential or token reaches another host, and a replay never answers a
// different scope. Only requests to a realm a registry announced are kept;
// failures are not, and a token a registry refuses (401 to a request that
// carried it) is dropped so the next exchange is real.
type tokenCache struct {
	next    http.RoundTripper
	isRealm func(req *http.Request) bool
	now     func() time.Time

	mu    sync.Mutex
	calls map[[32]byte]*tokenCall
}

type tokenCall struct {
	done    chan struct{}
	ans     *pingAnswer // nil when the first exchange failed
	token   string
	expires time.Time
}

func (c *tokenCache) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method != http.MethodGet || req.URL.Query().Get("scope") == "" || !c.isRealm(req) {
		resp, err := c.next.RoundTrip(req)
		if err == nil && resp.StatusCode == http.StatusUnauthorized {
			c.refused(req.Header.Get("Authorization"))
		}
		return resp, err
	}
	// The key holds a hash of the credential, never the credential.
	key := sha256.Sum256([]byte(req.URL.String() + "\x00" + req.Header.Get("Authorization")))
	c.mu.Lock()
	if c.calls == nil {
		c.calls = map[[32]byte]*tokenCall{}
	}
	if k, ok := c.calls[key]; ok {
		c.mu.Unlock()
		select {
		case <-k.done:
		case <-req.Context().Done():
			return nil, req.Context().Err()
		}
		if k.ans != nil && c.now().Before(k.expires) {
			return k.ans.response(req), nil
		}
		c.mu.Lock()
		if c.calls[key] == k {
			delete(c.calls, key) // failed or stale: the next one is real
		}
		c.mu.Unlock()
		return c.next.RoundTrip(req)
	}
	k := &tokenCall{done: make(chan struct{})}
	c.calls[key] = k
	c.mu.Unlock()
	defer close(k.done)

	forget := func() {
		c.mu.Lock()
		if c.calls[key] == k {
			delete(c.calls, key)
		}
		c.mu.Unlock()
	}
	start := c.now()
	resp, err := c.next.RoundTrip(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		forget()
		return resp, err
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxKeptToken+1))
	resp.Body.Close()
	if err != nil {
		forget()
		return nil, err
	}
	var tok struct {
		Token       string `json:"token"`
		AccessToken string `json:"access_token"`
		ExpiresIn   int    `json:"expires_in"`
	}
	if len(body) > maxKeptToken || json.Unmarshal(body, &tok) != nil || (tok.Token == "" && tok.AccessToken == "") {
		forget() // not kept; go-containerregistry judges the answer itself
		r := *resp
		r.Body = io.NopCloser(bytes.NewReader(body))
		return &r, nil
	}
	life := time.Duration(tok.ExpiresIn) * time.Second
	if life <= 0 {
		life = 60 * time.Second // the distribution spec's default
	}
	k.token = tok.Token
	if k.token == "" {
		k.token = tok.AccessToken
	}
	k.expires = start.Add(life / 2)
	k.ans = &pingAnswer{status: resp.StatusCode, header: resp.Header.Clone(), body: body}
	return k.ans.response(req), nil
}

// refused drops the kept answers whose token a registry just refused.
func (c *tokenCache) refused(authz string) {
	const prefix = "Bearer "
	if len(authz) <= len(prefix) || authz[:len(prefix)] != prefix {
		return
	}
	tok := authz[len(prefix):]
	c.mu.Lock()
	defer c.mu.Unlock()
	for key, k := range c.calls {
		select {
		case <-k.done:
			if k.ans != nil && k.token == tok {
				delete(c.calls, key)
			}
		default:
		}
	}
}
