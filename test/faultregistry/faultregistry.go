// Package faultregistry is an OCI registry that misbehaves on purpose, for
// tests of how the plugin bounds and names registry faults. It listens on
// loopback only and lives as long as the test that starts it.
//
// The main registry serves one repository per fault, "<fault>/app:v1"
// (see Faults), behind basic auth; its honest answers come from
// go-containerregistry's in-process registry. Side hosts play the parts a
// fault needs: a redirect target and token service, a bearer-token
// registry, one whose token service answers garbage, one with a
// certificate from an unknown CA and one speaking plain HTTP.
package faultregistry

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/imgtrust/kubectl-imgtrust/internal/testregistry"
)

// Fault names, each the first path component of a repository on the main
// registry (or, for the side hosts, the host itself).
const (
	Healthy          = "healthy"
	RedirectLoop     = "redirect-loop"     // 307 to the same path, forever
	RedirectPingPong = "redirect-pingpong" // two paths redirecting to each other
	RedirectOffHost  = "redirect-off-host" // 307 to another host that serves it honestly
	RedirectPrivate  = "redirect-private"  // 302 to a link-local address
	NoDigestHeader   = "no-digest-header"  // HEAD 200 without Docker-Content-Digest
	BadDigestHeader  = "bad-digest-header" // HEAD 200 with a digest that does not parse
	HTMLPage         = "html-page"         // 200 text/html with a digest header
	HeadWithBody     = "head-with-body"    // HEAD answered with kilobytes of body bytes
	Status401        = "status-401"
	Status403        = "status-403"
	Status404        = "status-404"
	RateLimitOnce    = "429-then-ok" // 429 Retry-After: 1, then the manifest
	RateLimitNoHint  = "429-no-retry-after"
	RateLimitLong    = "429-long" // Retry-After: 3600
	ServerErrorOnce  = "500-then-ok"
	ServerErrorAll   = "503-always"
	Hang             = "hang"      // never answers
	SlowDrip         = "slow-drip" // HEAD unusable; the GET body drips a byte a second
	ResetConnection  = "reset"     // the connection closes mid-answer
	// Public serves anonymous requests as Docker Hub does, and refuses a
	// wrong login rather than ignore it.
	Public = "public"
	// SignaturesDenied serves the image but answers 403 to every signature
	// lookup (the .sig and fallback tags, the referrers API).
	SignaturesDenied = "signatures-denied"
	// UploadLost and UploadElsewhere are mirror targets (pushed to as
	// <Host>/<fault>/…) that accept manifests without their blobs:
	// UploadLost answers each blob's commit 201 and keeps nothing;
	// UploadElsewhere sends each upload on to TokenHost ("off-host").
	UploadLost      = "upload-lost"
	UploadElsewhere = "upload-elsewhere"
)

// Faults are the fault repositories of the main registry, in a stable order.
var Faults = []string{
	Healthy, RedirectLoop, RedirectPingPong, RedirectOffHost, RedirectPrivate,
	NoDigestHeader, BadDigestHeader, HTMLPage, HeadWithBody,
	Status401, Status403, Status404,
	RateLimitOnce, RateLimitNoHint, RateLimitLong, ServerErrorOnce, ServerErrorAll,
	Hang, SlowDrip, ResetConnection, Public, SignaturesDenied,
	UploadLost, UploadElsewhere,
	WriteDenied, UploadCut, TagWriteDenied,
}

// Registry is the running set of servers.
type Registry struct {
	// Host is the main registry, host:port, basic auth with User/Password.
	Host           string
	User, Password string
	// BearerHost is a registry whose token service is on TokenHost.
	BearerHost string
	// BadTokenHost is a registry whose token service answers non-JSON.
	BadTokenHost string
	// TokenHost serves tokens and the off-host redirect target, under the
	// name "localhost" (a DNS name, so go-containerregistry's guard against
	// token services on private IPs lets it through).
	TokenHost string
	// UnknownCAHost has a certificate no CA file trusts; PlainHTTPHost
	// speaks plain HTTP.
	UnknownCAHost, PlainHTTPHost string
	// RealmLoopbackHost is the RealmLoopbackName registry (realm.go).
	RealmLoopbackHost string
	// RedirectLoopbackHost is the RedirectLoopbackName registry (redirect.go).
	RedirectLoopbackHost string
	// CAPEM is the CA that signed the certificates of every host but
	// UnknownCAHost.
	CAPEM []byte
	// Digest is the digest every honest answer carries.
	Digest string

	backend http.Handler
	servers []*httptest.Server

	mu       sync.Mutex
	requests map[string]int // fault (or side host role) → requests
	leaked   []string       // "METHOD host path" that carried an Authorization it should not
	hangs    chan struct{}
}

// Start runs every server on loopback. Close stops them; a hanging answer
// ends then too.
func Start() (*Registry, error) {
	r := &Registry{
		User: "fault-user", Password: "fault-" + randomHex(12),
		requests: map[string]int{},
		hangs:    make(chan struct{}),
		backend:  testregistry.Backend(false),
	}
	ca, leaf, err := certificates("127.0.0.1", "localhost", "127.0.0.2")
	if err != nil {
		return nil, err
	}
	_, stranger, err := certificates("127.0.0.1")
	if err != nil {
		return nil, err
	}
	r.CAPEM = ca

	start := func(h http.Handler, cert *tls.Certificate) *httptest.Server {
		s := httptest.NewUnstartedServer(h)
		s.Config.ErrorLog = log.New(io.Discard, "", 0)
		if cert != nil {
			s.TLS = &tls.Config{Certificates: []tls.Certificate{*cert}, MinVersion: tls.VersionTLS12}
			s.StartTLS()
		} else {
			s.Start()
		}
		r.servers = append(r.servers, s)
		return s
	}
	main := start(http.HandlerFunc(r.serveMain), leaf)
	r.Host = main.Listener.Addr().String()
	token := start(http.HandlerFunc(r.serveToken), leaf)
	r.TokenHost = "localhost:" + port(token)
	bearer := start(r.bearerRegistry("/token"), leaf)
	// Named like their token service, so that the token-realm guard's
	// "registry's own host" holds wherever localhost also resolves to ::1.
	r.BearerHost = "localhost:" + port(bearer)
	badToken := start(r.bearerRegistry("/garbage-token"), leaf)
	r.BadTokenHost = "localhost:" + port(badToken)
	unknown := start(r.backend, stranger)
	r.UnknownCAHost = unknown.Listener.Addr().String()
	plain := start(r.backend, nil)
	r.PlainHTTPHost = plain.Listener.Addr().String()

	if err := r.startRealmFaults(leaf); err != nil {
		r.Close()
		return nil, err
	}
	if err := r.startRedirectFaults(leaf); err != nil {
		r.Close()
		return nil, err
	}
	if err := r.pushEverywhere(main, token, bearer, badToken); err != nil {
		r.Close()
		return nil, err
	}
	return r, nil
}

// Close stops every server.
func (r *Registry) Close() {
	r.mu.Lock()
	select {
	case <-r.hangs:
	default:
		close(r.hangs)
	}
	r.mu.Unlock()
	for _, s := range r.servers {
		s.CloseClientConnections()
		s.Close()
	}
}

// Image is the reference of a fault's image on the main registry.
func (r *Registry) Image(fault string) string { return r.Host + "/" + fault + "/app:v1" }

// BearerImage, BadTokenImage, UnknownCAImage and PlainHTTPImage are the
// images of the side hosts.
func (r *Registry) BearerImage() string    { return r.BearerHost + "/app:v1" }
func (r *Registry) BadTokenImage() string  { return r.BadTokenHost + "/app:v1" }
func (r *Registry) UnknownCAImage() string { return r.UnknownCAHost + "/healthy/app:v1" }
func (r *Registry) PlainHTTPImage() string { return r.PlainHTTPHost + "/healthy/app:v1" }

// Requests is how many requests reached a fault's repository (or a side
// host: "token", "bearer", "bad-token", "off-host").
func (r *Registry) Requests(fault string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.requests[fault]
}

// Leaks lists requests that carried credentials to a host they were not
// for (the off-host redirect target).
func (r *Registry) Leaks() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.leaked...)
}

func (r *Registry) count(key string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.requests[key]++
	return r.requests[key]
}

// pushEverywhere stores one random image under every repository the
// servers serve honestly, all through the shared backend.
func (r *Registry) pushEverywhere(servers ...*httptest.Server) error {
	img, err := random.Image(512, 1)
	if err != nil {
		return err
	}
	d, err := img.Digest()
	if err != nil {
		return err
	}
	r.Digest = d.String()
	// Push straight to the backend: the faults are in front of it.
	direct := httptest.NewServer(r.backend)
	defer direct.Close()
	host := direct.Listener.Addr().String()
	for _, fault := range append(append([]string{}, Faults...), "bearer", "bad-token", "off-host") {
		ref, err := name.ParseReference(host+"/"+fault+"/app:v1", name.Insecure)
		if err != nil {
			return err
		}
		if err := remote.Write(ref, img, remote.WithTransport(direct.Client().Transport)); err != nil {
			return fmt.Errorf("pushing %s: %w", ref, err)
		}
	}
	return nil
}

// serveMain is the main registry: basic auth, then the fault its
// repository names.
func (r *Registry) serveMain(w http.ResponseWriter, req *http.Request) {
	anonymousPublic := req.Header.Get("Authorization") == "" && strings.HasPrefix(req.URL.Path, "/v2/"+Public+"/")
	if u, p, ok := req.BasicAuth(); !anonymousPublic && (!ok || u != r.User || p != r.Password) {
		w.Header().Set("WWW-Authenticate", `Basic realm="faultregistry"`)
		testregistry.WriteError(w, http.StatusUnauthorized, "UNAUTHORIZED", "authentication required")
		return
	}
	if req.URL.Path == "/v2/" {
		w.WriteHeader(http.StatusOK)
		return
	}
	fault, _, _ := strings.Cut(strings.TrimPrefix(req.URL.Path, "/v2/"), "/")
	n := r.count(fault)
	if r.serveArtifactFault(w, req, fault) {
		return
	}
	manifest := strings.Contains(req.URL.Path, "/manifests/")
	switch {
	case fault == SignaturesDenied && (strings.Contains(req.URL.Path, "/referrers/") || strings.Contains(req.URL.Path, "/manifests/sha256-")):
		testregistry.WriteError(w, http.StatusForbidden, "DENIED", "signatures are not for you")
		return
	case fault == UploadLost || fault == UploadElsewhere:
		if r.loseUpload(w, req, fault) {
			return
		}
	case r.serveWriteFault(w, req, fault):
		return
	case !manifest:
	case fault == RedirectLoop:
		http.Redirect(w, req, req.URL.Path, http.StatusTemporaryRedirect)
		return
	case fault == RedirectPingPong:
		other := strings.Replace(req.URL.Path, "/manifests/v1", "/manifests/v2", 1)
		if strings.HasSuffix(req.URL.Path, "/manifests/v2") {
			other = strings.Replace(req.URL.Path, "/manifests/v2", "/manifests/v1", 1)
		}
		http.Redirect(w, req, other, http.StatusFound)
		return
	case fault == RedirectOffHost:
		http.Redirect(w, req, "https://"+r.TokenHost+"/v2/off-host/app/manifests/v1", http.StatusTemporaryRedirect)
		return
	case fault == RedirectPrivate:
		http.Redirect(w, req, "https://169.254.169.254/v2/x/manifests/v1", http.StatusFound)
		return
	case fault == NoDigestHeader && req.Method == http.MethodHead:
		r.serveHeaders(w, req, func(h http.Header) { h.Del("Docker-Content-Digest") })
		return
	case fault == BadDigestHeader && req.Method == http.MethodHead:
		r.serveHeaders(w, req, func(h http.Header) { h.Set("Docker-Content-Digest", "sha256:not-a-digest") })
		return
	case fault == HTMLPage:
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Docker-Content-Digest", r.Digest)
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, "<html><body>Please log in to the corporate proxy</body></html>")
		return
	case fault == HeadWithBody && req.Method == http.MethodHead:
		r.headWithBody(w, req)
		return
	case fault == Status401:
		testregistry.WriteError(w, http.StatusUnauthorized, "UNAUTHORIZED", "token expired for "+r.User)
		return
	case fault == Status403:
		testregistry.WriteError(w, http.StatusForbidden, "DENIED", "requested access to the resource is denied")
		return
	case fault == Status404:
		testregistry.WriteError(w, http.StatusNotFound, "MANIFEST_UNKNOWN", "manifest unknown")
		return
	case fault == RateLimitOnce && n == 1:
		w.Header().Set("Retry-After", "1")
		testregistry.WriteError(w, http.StatusTooManyRequests, "TOOMANYREQUESTS", "slow down")
		return
	case fault == RateLimitNoHint:
		testregistry.WriteError(w, http.StatusTooManyRequests, "TOOMANYREQUESTS", "slow down")
		return
	case fault == RateLimitLong:
		w.Header().Set("Retry-After", "3600")
		testregistry.WriteError(w, http.StatusTooManyRequests, "TOOMANYREQUESTS", "come back in an hour")
		return
	case fault == ServerErrorOnce && n == 1:
		w.WriteHeader(http.StatusInternalServerError)
		return
	case fault == ServerErrorAll:
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	case fault == Hang:
		select {
		case <-req.Context().Done():
		case <-r.hangs:
		}
		return
	case fault == SlowDrip && req.Method == http.MethodHead:
		r.serveHeaders(w, req, func(h http.Header) { h.Del("Docker-Content-Digest") })
		return
	case fault == SlowDrip:
		r.drip(w, req)
		return
	case fault == ResetConnection:
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				_, _ = io.WriteString(conn, "HTTP/1.1 200 OK\r\nContent-Type: applic")
				_ = conn.Close()
			}
		}
		return
	}
	r.backend.ServeHTTP(w, req)
}

// loseUpload plays a target that takes a blob upload without storing it:
// it answers the commit 201 (UploadLost), or sends the upload to another
// host (UploadElsewhere). It reports whether it answered.
func (r *Registry) loseUpload(w http.ResponseWriter, req *http.Request, fault string) bool {
	repo, _, ok := strings.Cut(strings.TrimPrefix(req.URL.Path, "/v2/"), "/blobs/uploads/")
	switch {
	case !ok:
		return false
	case fault == UploadElsewhere && req.Method == http.MethodPost:
		w.Header().Set("Location", "https://"+r.TokenHost+"/v2/off-host/app/blobs/uploads/"+randomHex(8))
		w.WriteHeader(http.StatusAccepted)
		return true
	case fault == UploadLost && req.Method == http.MethodPut:
		d := req.URL.Query().Get("digest")
		w.Header().Set("Location", "/v2/"+repo+"/blobs/"+d)
		w.Header().Set("Docker-Content-Digest", d)
		w.WriteHeader(http.StatusCreated)
		return true
	}
	return false
}

// serveHeaders answers a HEAD with the backend's headers, edited.
func (r *Registry) serveHeaders(w http.ResponseWriter, req *http.Request, edit func(http.Header)) {
	rec := httptest.NewRecorder()
	r.backend.ServeHTTP(rec, req)
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	edit(w.Header())
	w.WriteHeader(rec.Code)
}

// headWithBody answers a HEAD correctly, then sends body bytes after it,
// which Go's HTTP client reports (through the log package) as an
// unsolicited response on an idle connection.
func (r *Registry) headWithBody(w http.ResponseWriter, req *http.Request) {
	rec := httptest.NewRecorder()
	r.backend.ServeHTTP(rec, req)
	hj, ok := w.(http.Hijacker)
	if !ok {
		return
	}
	conn, buf, err := hj.Hijack()
	if err != nil {
		return
	}
	defer conn.Close()
	body := strings.Repeat("REGISTRY-BYTES ", 300)
	fmt.Fprintf(buf, "HTTP/1.1 200 OK\r\nContent-Type: %s\r\nDocker-Content-Digest: %s\r\nContent-Length: %s\r\n\r\n%s",
		rec.Header().Get("Content-Type"), rec.Header().Get("Docker-Content-Digest"), rec.Header().Get("Content-Length"), body)
	_ = buf.Flush()
	// Keep the connection open a little, so the client parks it as idle
	// and then finds the bytes.
	select {
	case <-time.After(500 * time.Millisecond):
	case <-r.hangs:
	}
}

// drip sends the manifest's headers, then its body a byte a second.
func (r *Registry) drip(w http.ResponseWriter, req *http.Request) {
	rec := httptest.NewRecorder()
	r.backend.ServeHTTP(rec, req)
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	flusher, _ := w.(http.Flusher)
	for _, b := range rec.Body.Bytes() {
		if _, err := w.Write([]byte{b}); err != nil {
			return
		}
		if flusher != nil {
			flusher.Flush()
		}
		select {
		case <-time.After(time.Second):
		case <-req.Context().Done():
			return
		case <-r.hangs:
			return
		}
	}
}

// bearerRegistry answers like a token-auth registry whose token service is
// TokenHost at tokenPath.
func (r *Registry) bearerRegistry(tokenPath string) http.Handler {
	role := "bearer"
	if tokenPath != "/token" {
		role = "bad-token"
	}
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.count(role)
		if req.Header.Get("Authorization") != "Bearer good-token" {
			w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer realm="https://%s%s",service="faultregistry"`, r.TokenHost, tokenPath))
			testregistry.WriteError(w, http.StatusUnauthorized, "UNAUTHORIZED", "authentication required")
			return
		}
		if req.URL.Path == "/v2/" {
			w.WriteHeader(http.StatusOK)
			return
		}
		// The repository of this host is served under its role's name.
		req.URL.Path = strings.Replace(req.URL.Path, "/v2/app/", "/v2/"+role+"/app/", 1)
		r.backend.ServeHTTP(w, req)
	})
}

// serveToken is the token service (basic auth with User/Password) and the
// target of the off-host redirect, which must arrive without credentials.
func (r *Registry) serveToken(w http.ResponseWriter, req *http.Request) {
	switch req.URL.Path {
	case "/token":
		r.count("token")
		if u, p, ok := req.BasicAuth(); !ok || u != r.User || p != r.Password {
			testregistry.WriteError(w, http.StatusUnauthorized, "UNAUTHORIZED", "bad credentials")
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"token":"good-token","expires_in":300}`)
		return
	case "/garbage-token":
		r.count("token")
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `<html>token service down</html>`)
		return
	}
	r.count("off-host")
	if req.Header.Get("Authorization") != "" {
		r.mu.Lock()
		r.leaked = append(r.leaked, req.Method+" "+req.Host+" "+req.URL.Path)
		r.mu.Unlock()
	}
	r.backend.ServeHTTP(w, req)
}

// certificates makes a CA and a leaf for the given names, signed by it.
// It returns the CA as PEM and the leaf as a tls.Certificate.
func certificates(names ...string) ([]byte, *tls.Certificate, error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "faultregistry CA " + randomHex(4)},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, nil, err
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, nil, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: names[0]},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, n := range names {
		if ip := net.ParseIP(n); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, n)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
		&tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}

func port(s *httptest.Server) string {
	_, p, _ := net.SplitHostPort(s.Listener.Addr().String())
	return p
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%x", b)
}

// Expected is the outcome each fault must have: the failure reason the
// plugin reports for it, or "" for an image that must resolve to Digest.
// The keys are Faults plus the side hosts' images' roles.
var Expected = map[string]string{
	Healthy: "", RedirectLoop: "redirect-loop", RedirectPingPong: "redirect-loop",
	RedirectOffHost: "", RedirectPrivate: "redirect-refused",
	NoDigestHeader: "", BadDigestHeader: "", HTMLPage: "not-a-manifest", HeadWithBody: "",
	Status401: "unauthorized", Status403: "forbidden", Status404: "not-found",
	RateLimitOnce: "", RateLimitNoHint: "rate-limited", RateLimitLong: "rate-limited",
	ServerErrorOnce: "", ServerErrorAll: "server-error",
	Hang: "timeout", SlowDrip: "timeout", ResetConnection: "network", Public: "", SignaturesDenied: "",
	UploadLost: "", UploadElsewhere: "", // they fail copies, not lookups
	"bearer": "", "bad-token": "token-service", "unknown-ca": "tls", "plain-http": "tls",
}

// Images maps every image this registry serves to its key in Expected.
func (r *Registry) Images() map[string]string {
	m := map[string]string{
		r.BearerImage(): "bearer", r.BadTokenImage(): "bad-token",
		r.UnknownCAImage(): "unknown-ca", r.PlainHTTPImage(): "plain-http",
		r.RealmLoopbackImage(): RealmLoopbackName, r.RedirectLoopbackImage(): RedirectLoopbackName,
	}
	for _, f := range Faults {
		m[r.Image(f)] = f
	}
	return m
}

// StartForTest starts the registry for t, stops it when t ends, and
// writes its CA into a file for --registry-ca-file, returning its path.
func StartForTest(t interface {
	Helper()
	Fatal(...any)
	Cleanup(func())
	TempDir() string
}) (*Registry, string) {
	t.Helper()
	reg, err := Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(reg.Close)
	ca := filepath.Join(t.TempDir(), "faultregistry-ca.pem")
	if err := os.WriteFile(ca, reg.CAPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	return reg, ca
}
