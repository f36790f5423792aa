package proxy

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
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

// ?use=alt sends every request, token or not, to the second registry until
// ?use=main; a proxy without one refuses the switch.
func TestSwitchToAltUpstream(t *testing.T) {
	serve := func(name string) *httptest.Server {
		return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, name)
		}))
	}
	main, alt, tokens := serve("main"), serve("alt"), serve("tokens")
	defer main.Close()
	defer alt.Close()
	defer tokens.Close()
	up, _ := url.Parse(main.URL)
	p := New(up, 0, http.DefaultTransport)
	p.TokenUpstream, _ = url.Parse(tokens.URL)
	srv := httptest.NewServer(p)
	defer srv.Close()
	get := func(path string) (int, string) {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, strings.TrimSpace(string(b))
	}
	if code, _ := get(UpstreamPath + "?use=alt"); code != http.StatusBadRequest {
		t.Errorf("use=alt without Alt answered %d, want 400", code)
	}
	p.Alt, _ = url.Parse(alt.URL)
	for _, tt := range []struct{ use, v2, token string }{
		{"", "main", "tokens"},
		{"alt", "alt", "alt"},
		{"main", "main", "tokens"},
	} {
		if tt.use != "" {
			if code, _ := get(UpstreamPath + "?use=" + tt.use); code != http.StatusOK {
				t.Fatalf("use=%s answered %d", tt.use, code)
			}
		}
		if _, got := get("/v2/"); got != tt.v2 {
			t.Errorf("after use=%q, /v2/ went to %s, want %s", tt.use, got, tt.v2)
		}
		if _, got := get("/token"); got != tt.token {
			t.Errorf("after use=%q, /token went to %s, want %s", tt.use, got, tt.token)
		}
	}
	if n := p.Snapshot(false).Total; n != 6 {
		t.Errorf("counted %d requests, want the 6 forwarded (switches are not counted)", n)
	}
}

// ?set= changes the delay of the requests that follow; a bad duration is
// refused and leaves it alone.
func TestSetLatency(t *testing.T) {
	registry := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer registry.Close()
	up, _ := url.Parse(registry.URL)
	p := New(up, time.Second, http.DefaultTransport)
	srv := httptest.NewServer(p)
	defer srv.Close()
	get := func(path string) (int, string, time.Duration) {
		start := time.Now()
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, strings.TrimSpace(string(b)), time.Since(start)
	}
	if code, _, _ := get(LatencyPath + "?set=-1s"); code != http.StatusBadRequest {
		t.Errorf("set=-1s answered %d, want 400", code)
	}
	if _, got, _ := get(LatencyPath); got != "1s" {
		t.Errorf("after a refused set, the delay is %q, want 1s", got)
	}
	if code, got, _ := get(LatencyPath + "?set=0s"); code != http.StatusOK || got != "0s" {
		t.Fatalf("set=0s answered %d %q", code, got)
	}
	if _, _, took := get("/v2/"); took > 500*time.Millisecond {
		t.Errorf("a request after set=0s took %s, want no added second", took)
	}
	if _, got, _ := get(LatencyPath + "?set=20ms"); got != "20ms" {
		t.Errorf("set=20ms answered %q", got)
	}
	if s := p.Snapshot(false); s.Total != 1 {
		t.Errorf("%d requests counted, want 1 (the latency calls are not registry requests)", s.Total)
	}
}

// Log gets one line per forwarded request: arrival and answer times (the
// answer after the added delay), method, kind and the upstream's status.
func TestLogLinePerRequest(t *testing.T) {
	registry := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNotFound)
	}))
	defer registry.Close()
	up, _ := url.Parse(registry.URL)
	p := New(up, 5*time.Millisecond, http.DefaultTransport)
	var log strings.Builder
	p.Log = &log
	srv := httptest.NewServer(p)
	defer srv.Close()
	req, _ := http.NewRequest(http.MethodHead, srv.URL+"/v2/a/manifests/1", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var start, end int64
	var method, kind string
	var status int
	if n, err := fmt.Sscanf(log.String(), "%d %d %s %s %d\n", &start, &end, &method, &kind, &status); err != nil || n != 5 {
		t.Fatalf("log %q: %v", log.String(), err)
	}
	if method != http.MethodHead || kind != KindManifest || status != http.StatusNotFound || end-start < 5000 {
		t.Errorf("log %q: want HEAD manifest 404 answered at least 5ms after arrival", log.String())
	}
}
