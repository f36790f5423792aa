package faultregistry

import (
	"crypto/x509"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// The write faults refuse or cut what they say, and serve reads.
func TestWriteFaults(t *testing.T) {
	reg, _ := StartForTest(t)
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(reg.CAPEM)
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig.RootCAs = pool
	opts := []remote.Option{remote.WithTransport(tr), remote.WithAuth(&authn.Basic{Username: reg.User, Password: reg.Password})}
	for fault, want := range map[string]string{WriteDenied: "DENIED", UploadCut: "EOF", TagWriteDenied: "DENIED"} {
		// An image of its own: the faults share one backend, so blobs
		// another fault took would already be there and never be sent
		// (upload-cut would then have nothing to cut).
		img, _ := random.Image(1024, 1)
		repo, _ := name.NewRepository(reg.Host + "/" + fault + "/app")
		if _, err := remote.Head(repo.Tag("v1"), opts...); err != nil {
			t.Errorf("%s: a read fails: %v", fault, err)
		}
		err := remote.Write(repo.Tag("new"), img, opts...)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: write by tag: %v, want an error with %q", fault, err, want)
		}
		if _, err := remote.Head(repo.Tag("new"), opts...); err == nil {
			t.Errorf("%s: the refused tag exists", fault)
		}
	}
	// By digest, the tag-write fault takes it.
	img, _ := random.Image(1024, 1)
	h, _ := img.Digest()
	repo, _ := name.NewRepository(reg.Host + "/" + TagWriteDenied + "/app")
	if err := remote.Write(repo.Digest(h.String()), img, opts...); err != nil {
		t.Errorf("%s: write by digest: %v", TagWriteDenied, err)
	}
}
