package registry

import (
	"context"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/imgtrust/kubectl-imgtrust/internal/testregistry"
)

// fakeLookup resolves the names in m (and IP literals) without DNS.
func fakeLookup(m map[string][]string) lookupAddrs {
	return func(_ context.Context, host string) ([]netip.Addr, error) {
		if a, err := netip.ParseAddr(host); err == nil {
			return []netip.Addr{a}, nil
		}
		ss, ok := m[host]
		if !ok {
			return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
		}
		var out []netip.Addr
		for _, s := range ss {
			out = append(out, netip.MustParseAddr(s))
		}
		return out, nil
	}
}

func TestTokenRealmByResolvedAddress(t *testing.T) {
	const pass = "realm-secret-pw"
	tests := []struct {
		name       string
		realmHost  string // the realm's host name; its port is the registry's
		resolves   map[string][]string
		wantReason Reason // "" resolves
		wantTokens bool   // the token service is asked
		wantMsg    []string
	}{
		{
			name:      "a name that resolves to a loopback address not the registry's",
			realmHost: "localhost", resolves: map[string][]string{"localhost": {"127.0.0.1", "::1"}},
			wantReason: ReasonInsecureTokenRealm,
			wantMsg:    []string{"resolves to a private address other than the registry's own", "refusing to send credentials"},
		},
		{
			name:      "an internal DNS name",
			realmHost: "auth.internal", resolves: map[string][]string{"auth.internal": {"10.1.2.3"}},
			wantReason: ReasonInsecureTokenRealm,
			wantMsg:    []string{"auth.internal:"},
		},
		{
			name:      "the registry's own address, another name",
			realmHost: "localhost", resolves: map[string][]string{"localhost": {"127.0.0.1"}},
			wantTokens: true,
		},
		{
			name:      "a public name",
			realmHost: "auth.test", resolves: map[string][]string{"auth.test": {"203.0.113.5"}},
			wantTokens: true,
		},
		{
			name:      "a name that does not resolve",
			realmHost: "auth.test", resolves: map[string][]string{},
			wantReason: ReasonNetwork,
			wantMsg:    []string{"cannot resolve host auth.test:", "no credentials sent"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := testregistry.New(t)
			want := reg.PushImage(t, "app:v1")
			_, port, _ := net.SplitHostPort(reg.Host)
			realm := "http://" + net.JoinHostPort(tt.realmHost, port) + "/token"
			var tokens atomic.Int64
			auth := tokenAuth(realm, "u", pass)
			reg.Set(func(h *testregistry.Hooks) {
				h.Auth = func(w http.ResponseWriter, r *http.Request) bool {
					if r.URL.Path == "/token" {
						tokens.Add(1)
					}
					return auth(w, r)
				}
			})
			// Every name dials the test registry: what the guard decides on is
			// the (fake) resolver's answer, not where the bytes go.
			dialer := &net.Dialer{}
			tr := &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
				return dialer.DialContext(ctx, network, reg.Host)
			}}
			t.Cleanup(tr.CloseIdleConnections)
			r := newResolver(t, Options{Insecure: []string{reg.Host, tt.realmHost}, Transport: tr})
			r.observer.lookup = fakeLookup(tt.resolves)

			got := r.Resolve(t.Context(), Request{Image: reg.Host + "/app:v1", Credentials: []Credential{basicCred("pod-secret ns/pull", "u", pass)}})
			if tt.wantReason == "" {
				if got.Err != nil || got.Digest != want.String() {
					t.Fatalf("got %s, %v; want %s", got.Digest, got.Err, want)
				}
			} else {
				if got.Err == nil || got.Err.Reason != tt.wantReason {
					t.Fatalf("Err = %v, want %s", got.Err, tt.wantReason)
				}
				for _, w := range append([]string{"registry " + reg.Host, tt.realmHost}, tt.wantMsg...) {
					if !strings.Contains(got.Err.Message, w) {
						t.Errorf("Err.Message = %q, want it to contain %q", got.Err.Message, w)
					}
				}
				if strings.Contains(got.Err.Message, pass) {
					t.Errorf("Err.Message = %q shows the password", got.Err.Message)
				}
			}
			if n := tokens.Load(); (n > 0) != tt.wantTokens {
				t.Errorf("the token service got %d requests; want some: %v", n, tt.wantTokens)
			}
		})
	}
}

// The stack's case: a real dial through the base transport, the realm on
// another name for the registry's address, pinned to the checked address.
func TestTokenRealmOwnAddressRealDial(t *testing.T) {
	reg := testregistry.New(t)
	want := reg.PushImage(t, "app:v1")
	_, port, _ := net.SplitHostPort(reg.Host)
	reg.Set(func(h *testregistry.Hooks) { h.Auth = tokenAuth("http://localhost:"+port+"/token", "u", "p") })
	r := newResolver(t, Options{Insecure: []string{reg.Host, "localhost"}})
	var asked []string
	lookup := fakeLookup(map[string][]string{"localhost": {"127.0.0.1"}})
	r.observer.lookup = func(ctx context.Context, host string) ([]netip.Addr, error) {
		asked = append(asked, host)
		return lookup(ctx, host)
	}
	got := r.Resolve(t.Context(), Request{Image: reg.Host + "/app:v1", Credentials: []Credential{basicCred("a", "u", "p")}})
	if got.Err != nil || got.Digest != want.String() {
		t.Fatalf("got %s, %v; want %s", got.Digest, got.Err, want)
	}
	if len(asked) == 0 || asked[0] != "localhost" {
		t.Errorf("lookups = %q, want the realm host localhost resolved first", asked)
	}
}

func TestPinnedDial(t *testing.T) {
	var dialed []string
	next := func(_ context.Context, _, addr string) (net.Conn, error) {
		dialed = append(dialed, addr)
		return nil, &net.OpError{Op: "dial", Err: net.UnknownNetworkError("test")}
	}
	dial := pinnedDial(next)
	ctx := context.WithValue(t.Context(), pinKey{}, pin{hostport: "rebind.test:443", addrs: []netip.Addr{netip.MustParseAddr("203.0.113.5"), netip.MustParseAddr("2001:db8::1")}})
	_, _ = dial(ctx, "tcp", "rebind.test:443")
	_, _ = dial(ctx, "tcp", "other.test:443")
	want := []string{"203.0.113.5:443", "[2001:db8::1]:443", "other.test:443"}
	if strings.Join(dialed, " ") != strings.Join(want, " ") {
		t.Errorf("dialed %q, want %q (the pinned host at its checked addresses, in order; others as asked)", dialed, want)
	}
}

// A pinned address that does not answer holds the next one back for
// pinnedFallback, not for the whole dial timeout.
func TestPinnedDialFallsBack(t *testing.T) {
	var dialed []string
	next := func(ctx context.Context, _, addr string) (net.Conn, error) {
		dialed = append(dialed, addr)
		if addr == "[2001:db8::1]:443" {
			<-ctx.Done() // a black hole
			return nil, ctx.Err()
		}
		c, _ := net.Pipe()
		return c, nil
	}
	ctx := context.WithValue(t.Context(), pinKey{}, pin{hostport: "auth.test:443", addrs: []netip.Addr{netip.MustParseAddr("2001:db8::1"), netip.MustParseAddr("203.0.113.5")}})
	start := time.Now()
	c, err := pinnedDial(next)(ctx, "tcp", "auth.test:443")
	if err != nil {
		t.Fatalf("dial: %v (dialed %q)", err, dialed)
	}
	_ = c.Close()
	if took := time.Since(start); took > pinnedFallback+time.Second {
		t.Errorf("dial took %s, want about %s", took, pinnedFallback)
	}
	if len(dialed) != 2 || dialed[1] != "203.0.113.5:443" {
		t.Errorf("dialed %q, want the second address after the first hung", dialed)
	}
}

// Behind an HTTP proxy a realm name local DNS cannot resolve is the
// proxy's to resolve: the token request goes on, unpinned.
func TestTokenRealmUnresolvedBehindProxy(t *testing.T) {
	reg := testregistry.New(t)
	want := reg.PushImage(t, "app:v1")
	_, port, _ := net.SplitHostPort(reg.Host)
	reg.Set(func(h *testregistry.Hooks) { h.Auth = tokenAuth("http://auth.test:"+port+"/token", "u", "p") })
	dialer := &net.Dialer{}
	tr := &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return dialer.DialContext(ctx, network, reg.Host)
	}}
	t.Cleanup(tr.CloseIdleConnections)
	r := newResolver(t, Options{Insecure: []string{reg.Host, "auth.test"}, Transport: tr})
	r.observer.lookup = fakeLookup(nil)
	r.observer.proxied = func(req *http.Request) bool { return req.URL.Hostname() == "auth.test" }
	got := r.Resolve(t.Context(), Request{Image: reg.Host + "/app:v1", Credentials: []Credential{basicCred("a", "u", "p")}})
	if got.Err != nil || got.Digest != want.String() {
		t.Fatalf("got %s, %v; want %s", got.Digest, got.Err, want)
	}
}
