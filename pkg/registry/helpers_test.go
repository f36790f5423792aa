package registry

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"

	"github.com/imgtrust/kubectl-imgtrust/internal/testregistry"
)

// forbidManifests answers 403 DENIED to manifest requests authenticated as
// user (an account the registry knows but that may not read).
func forbidManifests(user string) testregistry.Hook {
	deny := testregistry.Refuse(http.StatusForbidden, "/manifests/")
	return func(w http.ResponseWriter, r *http.Request) bool {
		u, _, _ := r.BasicAuth()
		return u == user && deny(w, r)
	}
}

func basicCred(source, user, pass string) Credential {
	return Credential{Source: source, ID: source + "/" + user, Auth: &authn.Basic{Username: user, Password: pass}}
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
	return testregistry.WritePEM(t, der)
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
