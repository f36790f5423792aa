package registry

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"log"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// testRegistry is go-containerregistry's in-process registry behind
// httptest, with a middleware chain the test sets after pushing:
// auth (who may read), then fault (what goes wrong), counting manifest
// requests and their concurrency on the way.
type testRegistry struct {
	t    *testing.T
	srv  *httptest.Server
	host string

	mu          sync.Mutex
	auth        func(w http.ResponseWriter, r *http.Request) bool // true: handled (refused)
	fault       func(w http.ResponseWriter, r *http.Request) bool // true: handled
	delay       time.Duration                                     // added to every manifest request
	heads, gets int
	inFlight    int
	maxInFlight int
	userAgents  []string
	shared      *inflight // optional: counts across registries
}

type inflight struct {
	mu       sync.Mutex
	cur, max int
}

func (f *inflight) enter() {
	f.mu.Lock()
	f.cur++
	f.max = max(f.max, f.cur)
	f.mu.Unlock()
}

func (f *inflight) leave() {
	f.mu.Lock()
	f.cur--
	f.mu.Unlock()
}

func (f *inflight) peak() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.max
}

func newTestRegistry(t testing.TB, useTLS bool) *testRegistry {
	tt, _ := t.(*testing.T)
	reg := &testRegistry{t: tt}
	inner := ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0)))
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reg.mu.Lock()
		auth, fault, delay, shared := reg.auth, reg.fault, reg.delay, reg.shared
		reg.userAgents = append(reg.userAgents, r.UserAgent())
		reg.mu.Unlock()
		if auth != nil && auth(w, r) {
			return
		}
		manifest := strings.Contains(r.URL.Path, "/manifests/")
		if manifest {
			reg.mu.Lock()
			switch r.Method {
			case http.MethodHead:
				reg.heads++
			case http.MethodGet:
				reg.gets++
			}
			reg.inFlight++
			reg.maxInFlight = max(reg.maxInFlight, reg.inFlight)
			reg.mu.Unlock()
			if shared != nil {
				shared.enter()
				defer shared.leave()
			}
			defer func() {
				reg.mu.Lock()
				reg.inFlight--
				reg.mu.Unlock()
			}()
			if delay > 0 {
				select {
				case <-time.After(delay):
				case <-r.Context().Done():
				}
			}
		}
		if fault != nil && fault(w, r) {
			return
		}
		inner.ServeHTTP(w, r)
	})
	reg.srv = httptest.NewUnstartedServer(h)
	reg.srv.Config.ErrorLog = log.New(io.Discard, "", 0) // expected TLS handshake failures
	if useTLS {
		reg.srv.StartTLS()
	} else {
		reg.srv.Start()
	}
	t.Cleanup(reg.srv.Close)
	reg.host = strings.TrimPrefix(strings.TrimPrefix(reg.srv.URL, "http://"), "https://")
	return reg
}

// set changes the middleware under the lock and resets the counters
// (pushing counts too).
func (reg *testRegistry) set(f func(reg *testRegistry)) {
	reg.mu.Lock()
	defer reg.mu.Unlock()
	reg.heads, reg.gets, reg.maxInFlight, reg.userAgents = 0, 0, 0, nil
	if f != nil {
		f(reg)
	}
}

func (reg *testRegistry) counts() (heads, gets, maxInFlight int) {
	reg.mu.Lock()
	defer reg.mu.Unlock()
	return reg.heads, reg.gets, reg.maxInFlight
}

// writeOptions push straight to the test server, whatever its TLS.
func (reg *testRegistry) writeOptions() []remote.Option {
	return []remote.Option{remote.WithTransport(reg.srv.Client().Transport)}
}

func (reg *testRegistry) ref(t testing.TB, repoTag string) name.Reference {
	t.Helper()
	ref, err := name.ParseReference(reg.host+"/"+repoTag, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	return ref
}

// pushImage pushes a random image and returns its digest.
func (reg *testRegistry) pushImage(t testing.TB, repoTag string) v1.Hash {
	t.Helper()
	img, err := random.Image(256, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(reg.ref(t, repoTag), img, reg.writeOptions()...); err != nil {
		t.Fatalf("pushing %s: %v", repoTag, err)
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// pushIndex pushes a multi-arch index of the given media type with one
// random image per platform; it returns the index digest and the digest
// per platform string.
func (reg *testRegistry) pushIndex(t testing.TB, repoTag string, mt types.MediaType, platforms ...string) (v1.Hash, map[string]v1.Hash) {
	t.Helper()
	var idx v1.ImageIndex = empty.Index
	idx = mutate.IndexMediaType(idx, mt)
	children := map[string]v1.Hash{}
	for _, ps := range platforms {
		p, err := v1.ParsePlatform(ps)
		if err != nil {
			t.Fatal(err)
		}
		img, err := random.Image(256, 1)
		if err != nil {
			t.Fatal(err)
		}
		if mt == types.DockerManifestList {
			img = mutate.MediaType(img, types.DockerManifestSchema2)
			img = mutate.ConfigMediaType(img, types.DockerConfigJSON)
		}
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: p}})
		d, err := img.Digest()
		if err != nil {
			t.Fatal(err)
		}
		children[ps] = d
	}
	if err := remote.WriteIndex(reg.ref(t, repoTag), idx, reg.writeOptions()...); err != nil {
		t.Fatalf("pushing index %s: %v", repoTag, err)
	}
	d, err := idx.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d, children
}

// basicAuth accepts only user:pass and answers 401 with a Basic challenge
// otherwise, like a registry behind basic auth.
func basicAuth(user, pass string) func(w http.ResponseWriter, r *http.Request) bool {
	return func(w http.ResponseWriter, r *http.Request) bool {
		u, p, ok := r.BasicAuth()
		if ok && u == user && p == pass {
			return false
		}
		w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
		writeRegistryError(w, http.StatusUnauthorized, "UNAUTHORIZED", "authentication required")
		return true
	}
}

// forbidManifests answers 403 DENIED to manifest requests authenticated as
// user (an account the registry knows but that may not read).
func forbidManifests(user string) func(w http.ResponseWriter, r *http.Request) bool {
	return func(w http.ResponseWriter, r *http.Request) bool {
		u, _, _ := r.BasicAuth()
		if u == user && strings.Contains(r.URL.Path, "/manifests/") {
			writeRegistryError(w, http.StatusForbidden, "DENIED", "requested access to the resource is denied")
			return true
		}
		return false
	}
}

func writeRegistryError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, `{"errors":[{"code":"`+code+`","message":"`+msg+`"}]}`)
}

// onManifests runs f for manifest requests only.
func onManifests(f func(w http.ResponseWriter, r *http.Request) bool) func(w http.ResponseWriter, r *http.Request) bool {
	return func(w http.ResponseWriter, r *http.Request) bool {
		if !strings.Contains(r.URL.Path, "/manifests/") {
			return false
		}
		return f(w, r)
	}
}

func basicCred(source, user, pass string) Credential {
	return Credential{Source: source, ID: source + "/" + user, Auth: &authn.Basic{Username: user, Password: pass}}
}

// caFile writes the test server's certificate as a CA file.
func (reg *testRegistry) caFile(t testing.TB) string {
	t.Helper()
	return writePEM(t, reg.srv.Certificate().Raw)
}

func writePEM(t testing.TB, der []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// otherCA is a self-signed CA that signed nothing we serve.
func otherCA(t testing.TB) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "some other CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		KeyUsage:              x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return writePEM(t, der)
}

// newResolver builds a Resolver with fast retries for tests.
func newResolver(t testing.TB, o Options) *Resolver {
	t.Helper()
	if o.RetryBackoff == 0 {
		o.RetryBackoff = 10 * time.Millisecond
	}
	if o.Timeout == 0 {
		o.Timeout = 5 * time.Second
	}
	if o.UserAgent == "" {
		o.UserAgent = "kubectl-imgtrust/test"
	}
	r, err := New(o)
	if err != nil {
		t.Fatalf("New(%+v): %v", o, err)
	}
	return r
}
