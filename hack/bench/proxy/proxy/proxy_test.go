package proxy

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// A registry whose token service lives on another host: the realm is
// rewritten to the proxy, and the token request goes through it to the
// token service and is counted.
func TestTokenUpstreamIsProxiedAndCounted(t *testing.T) {
	tokens := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"token":"t"}`)
	}))
	defer tokens.Close()
	registry := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="`+tokens.URL+`/token",service="reg"`)
		w.WriteHeader(http.StatusUnauthorized)
	}))
	defer registry.Close()
	up, _ := url.Parse(registry.URL)
	p := New(up, 0, http.DefaultTransport)
	p.TokenUpstream, _ = url.Parse(tokens.URL)
	srv := httptest.NewServer(p)
	defer srv.Close()
	self := strings.TrimPrefix(srv.URL, "http://")

	resp, err := http.Get(srv.URL + "/v2/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := resp.Header.Get("WWW-Authenticate"); !strings.Contains(got, `realm="http://`+self+`/token"`) {
		t.Errorf("realm not rewritten to the proxy: %s", got)
	}
	resp, err = http.Get(srv.URL + "/token?scope=repository:a:pull")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != `{"token":"t"}` {
		t.Errorf("token request answered %q, want the token service's answer", body)
	}
	s := p.Snapshot(false)
	if s.Kind(KindPing) != 1 || s.Kind(KindToken) != 1 || s.Tokens["repository:a:pull"] != 1 {
		t.Errorf("counts %+v", s)
	}
}
