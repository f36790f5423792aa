package registry

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"time"
)

// go-containerregistry refuses a token realm on a private, loopback or
// link-local IP literal, but lets a name through whatever it resolves to:
// a registry could name "localhost:<port>" or an internal DNS name and
// have the registry's credential (basic auth in the token request) sent
// to an internal service. The observer therefore resolves the host of a
// token request whose host differs from the announcing registry's, and
// refuses it when any address is internal and not one of the registry's
// own. A realm on the registry's own addresses (any port) stays allowed:
// that is "registry and token service on one machine".

// lookupAddrs resolves a host to its addresses; a field of the observer so
// that tests can say what a name resolves to without DNS.
type lookupAddrs func(ctx context.Context, host string) ([]netip.Addr, error)

func systemLookup(ctx context.Context, host string) ([]netip.Addr, error) {
	if a, err := netip.ParseAddr(strings.Trim(host, "[]")); err == nil {
		return []netip.Addr{a.WithZone("").Unmap()}, nil
	}
	addrs, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	for i := range addrs {
		addrs[i] = addrs[i].WithZone("").Unmap()
	}
	return addrs, err
}

// internalAddr is what go-containerregistry's literal guard refuses.
func internalAddr(a netip.Addr) bool {
	return a.IsLoopback() || a.IsPrivate() || a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() || a.IsUnspecified()
}

// realmAddressError refuses a token request: its host resolves to an
// internal address that is not the registry's own, or did not resolve.
type realmAddressError struct {
	registry, realmHost string
	resolve             error // the realm host did not resolve
}

func (e *realmAddressError) Error() string {
	if e.resolve != nil {
		return fmt.Sprintf("cannot resolve the token service host %s of registry %s: %v", e.realmHost, e.registry, e.resolve)
	}
	return fmt.Sprintf("token service host %s of registry %s resolves to a private address other than the registry's own", e.realmHost, e.registry)
}

func (e *realmAddressError) Unwrap() error { return e.resolve }

// pinKey carries, in a token request's context, the addresses its host was
// checked at, for pinnedDial.
type pinKey struct{}

type pin struct {
	hostport string // as the dialer sees it: host:port, port explicit
	addrs    []netip.Addr
}

// checkRealm vets req when it is a token request (or a redirect of one) to
// a host other than that of a registry that announced it as its realm. It
// returns req with the checked addresses pinned for the dial, so that a
// second DNS answer (rebinding) cannot send it elsewhere; on refusal, req
// as it came.
func (o *observer) checkRealm(req *http.Request) (*http.Request, error) {
	first := req
	for r := req; r.Response != nil && r.Response.Request != nil; r = r.Response.Request {
		first = r.Response.Request
	}
	host := req.URL.Hostname()
	var registries []string
	o.realms.Range(func(k, v any) bool {
		reg := k.(string)
		if sameEndpoint(v.(string), first.URL) && !strings.EqualFold(hostOnly(reg), host) {
			registries = append(registries, reg)
		}
		return true
	})
	if len(registries) == 0 {
		return req, nil
	}
	slices.Sort(registries)
	lookup := o.lookup
	if lookup == nil {
		lookup = systemLookup
	}
	addrs, err := lookup(req.Context(), host)
	if err == nil && len(addrs) == 0 {
		err = fmt.Errorf("no address")
	}
	if err != nil && o.proxied != nil && o.proxied(req) {
		// Behind an HTTP proxy the proxy resolves the name, and local DNS
		// often cannot: its answer would not say where the request goes.
		return req, nil
	}
	if err != nil {
		return req, &realmAddressError{registry: registries[0], realmHost: req.URL.Host, resolve: err}
	}
	// Every registry announcing this realm must pass: the request carries
	// one of their credentials and we cannot tell whose.
	if slices.ContainsFunc(addrs, internalAddr) {
		for _, reg := range registries {
			own, _ := lookup(req.Context(), hostOnly(reg)) // unresolved: no address is its own
			for _, a := range addrs {
				if internalAddr(a) && !slices.Contains(own, a) {
					return req, &realmAddressError{registry: reg, realmHost: req.URL.Host}
				}
			}
		}
	}
	port := req.URL.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[req.URL.Scheme]
	}
	p := pin{hostport: net.JoinHostPort(host, port), addrs: addrs}
	return req.WithContext(context.WithValue(req.Context(), pinKey{}, p)), nil
}

// sameEndpoint reports whether realm (a URL without query) is u's scheme,
// host and path.
func sameEndpoint(realm string, u *url.URL) bool {
	r, err := url.Parse(realm)
	return err == nil && strings.EqualFold(r.Scheme, u.Scheme) && strings.EqualFold(r.Host, u.Host) && r.Path == u.Path
}

// hostOnly is host:port without the port (and brackets).
func hostOnly(hostport string) string {
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		return h
	}
	return strings.Trim(hostport, "[]")
}

// pinnedFallback is how long a pinned dial waits on one address before it
// tries the next.
const pinnedFallback = 2 * time.Second

type dialFunc func(ctx context.Context, network, addr string) (net.Conn, error)

// pinnedDial dials a checked token request at the addresses checkRealm
// vetted instead of resolving its host again: the name is resolved once and
// that answer is the one used, so DNS rebinding between the check and the
// dial cannot move the request. (The check itself stays in the observer,
// which knows the realms; an idle connection to the same host:port may be
// reused, but that one was dialed for the same name.) A custom
// Options.Transport dials as it likes.
func pinnedDial(next dialFunc) dialFunc {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		p, ok := ctx.Value(pinKey{}).(pin)
		if !ok || !strings.EqualFold(p.hostport, addr) {
			return next(ctx, network, addr)
		}
		_, port, _ := net.SplitHostPort(addr)
		var err error
		for i, a := range p.addrs {
			dctx, cancel := ctx, context.CancelFunc(func() {})
			if i < len(p.addrs)-1 {
				// An address that does not answer (a v6 route black hole)
				// must not hold the others back for the whole dial timeout.
				dctx, cancel = context.WithTimeout(ctx, pinnedFallback)
			}
			var c net.Conn
			c, err = next(dctx, network, net.JoinHostPort(a.String(), port))
			cancel()
			if err == nil {
				return c, nil
			}
		}
		return nil, err
	}
}

// Redirects of manifest and blob reads (a registry sending its blobs to a
// CDN) get the same check by resolved address: go-containerregistry
// refuses a redirect to a private or link-local IP literal only, so a name
// that resolves to a loopback, private or link-local address that is not
// one of the registry's own is refused here, before anything is sent, and
// the address checked is the one dialed. Credentials never follow a
// redirect to another host either way: go-containerregistry's basic and
// bearer transports set Authorization only for the registry's own
// host:port, and net/http drops it on a redirect to another host.

// redirectAddressError refuses a redirect to an internal address that is
// not the registry's own.
type redirectAddressError struct {
	registry, target, what string
}

func (e *redirectAddressError) Error() string {
	return fmt.Sprintf("registry %s redirected a %s read to %s, which resolves to a loopback, private or link-local address other than the registry's own", e.registry, e.what, e.target)
}

// checkRedirectAddr vets req when it is a redirect to another host than
// the one the chain began at; it returns req with the checked addresses
// pinned for the dial. A name that does not resolve goes on unpinned: its
// dial fails as it would have.
func (o *observer) checkRedirectAddr(req *http.Request) (*http.Request, error) {
	if req.Response == nil {
		return req, nil
	}
	if _, pinned := req.Context().Value(pinKey{}).(pin); pinned {
		return req, nil // a token request checkRealm vetted
	}
	first := req
	for r := req; r.Response != nil && r.Response.Request != nil; r = r.Response.Request {
		first = r.Response.Request
	}
	host := req.URL.Hostname()
	if strings.EqualFold(first.URL.Hostname(), host) {
		return req, nil // the registry's own host, any port
	}
	lookup := o.lookup
	if lookup == nil {
		lookup = systemLookup
	}
	addrs, err := lookup(req.Context(), host)
	if err != nil || len(addrs) == 0 {
		return req, nil
	}
	if slices.ContainsFunc(addrs, internalAddr) {
		own, _ := lookup(req.Context(), first.URL.Hostname())
		for _, a := range addrs {
			if internalAddr(a) && !slices.Contains(own, a) {
				what := "registry"
				switch {
				case strings.Contains(first.URL.Path, "/manifests/"):
					what = "manifest"
				case strings.Contains(first.URL.Path, "/blobs/"):
					what = "blob"
				}
				return req, &redirectAddressError{registry: first.URL.Host, target: req.URL.Host, what: what}
			}
		}
	}
	port := req.URL.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[req.URL.Scheme]
	}
	p := pin{hostport: net.JoinHostPort(host, port), addrs: addrs}
	return req.WithContext(context.WithValue(req.Context(), pinKey{}, p)), nil
}
