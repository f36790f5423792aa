package testregistry

import (
	"errors"
	"net/http"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

func status(err error) int {
	var te *transport.Error
	if errors.As(err, &te) {
		return te.StatusCode
	}
	return 0
}

// The log counts what reached the server, Set and Reset forget it, and
// Refuse answers the status it is given with a registry error.
func TestCountAndRefuse(t *testing.T) {
	reg := New(t)
	d := reg.PushImage(t, "app:v1")
	reg.Reset()
	if n := len(reg.Requests()); n != 0 {
		t.Fatalf("%d requests after Reset", n)
	}
	if _, err := remote.Head(reg.Ref(t, "app:v1"), reg.WriteOptions()...); err != nil {
		t.Fatal(err)
	}
	if _, err := remote.Get(reg.Ref(t, "app@"+d.String()), reg.WriteOptions()...); err != nil {
		t.Fatal(err)
	}
	if heads, gets := reg.Count(http.MethodHead, "/manifests/"), reg.Count(http.MethodGet, "/manifests/"); heads != 1 || gets != 1 {
		t.Errorf("HEADs, GETs = %d, %d; want 1, 1", heads, gets)
	}
	if hits, all := len(reg.Hits()), len(reg.Requests()); hits != 2 || all <= hits {
		t.Errorf("hits %d of %d requests, want 2 and the pings besides", hits, all)
	}
	if peak := reg.PeakManifests(); peak != 1 {
		t.Errorf("PeakManifests = %d, want 1", peak)
	}
	for _, code := range []int{http.StatusForbidden, http.StatusNotFound, http.StatusTooManyRequests, http.StatusInternalServerError} {
		reg.Set(func(h *Hooks) { h.Fault = Refuse(code, "/manifests/") })
		// No retries: 429 and 500 would be asked again after a backoff.
		_, err := remote.Head(reg.Ref(t, "app:v1"), append(reg.WriteOptions(), remote.WithRetryStatusCodes())...)
		if status(err) != code {
			t.Errorf("Refuse(%d): %v", code, err)
		}
	}
}

func TestBasicAuth(t *testing.T) {
	reg := New(t, WithTLS(), WithBasicAuth("user", "pw"))
	ref := reg.Ref(t, "app:v1")
	img := RandomImage(t, 1)
	if err := remote.Write(ref, img, reg.WriteOptions()...); status(err) != http.StatusUnauthorized {
		t.Fatalf("anonymous push: %v, want 401", err)
	}
	auth := remote.WithAuth(&authn.Basic{Username: "user", Password: "pw"})
	if err := remote.Write(ref, img, append(reg.WriteOptions(), auth)...); err != nil {
		t.Fatal(err)
	}
	if reg.CAFile(t) == "" {
		t.Error("no CA file")
	}
}

// Without the referrers API a referrer lands in its subject's fallback tag
// once; with it, the API lists it.
func TestPutReferrer(t *testing.T) {
	for _, api := range []bool{true, false} {
		reg := New(t, WithReferrers(api))
		repo := reg.Repo(t, "app")
		img := RandomImage(t, 1)
		d := reg.Push(t, "app:v1", img)
		raw, _ := img.RawManifest()
		subject := v1.Descriptor{MediaType: types.DockerManifestSchema2, Digest: d, Size: int64(len(raw))}
		cfg := reg.PutBlob(t, repo, []byte("{}"), "application/vnd.oci.empty.v1+json")
		art := reg.PutReferrer(t, repo, v1.Manifest{SchemaVersion: 2, MediaType: types.OCIManifestSchema1, ArtifactType: "application/example", Config: cfg, Subject: &subject})
		idx, err := remote.Referrers(repo.Digest(d.String()), reg.WriteOptions()...)
		if err != nil {
			t.Fatal(err)
		}
		im, _ := idx.IndexManifest()
		// go-containerregistry's registry gives the API's entries the config
		// media type as artifact type; the fallback tag keeps the manifest's.
		if len(im.Manifests) != 1 || im.Manifests[0].Digest != art.Digest || (!api && im.Manifests[0].ArtifactType != "application/example") {
			t.Errorf("api %v: referrers %+v, want %s once", api, im.Manifests, art.Digest)
		}
		_, err = remote.Head(repo.Tag("sha256-"+d.Hex), reg.WriteOptions()...)
		if api != (status(err) == http.StatusNotFound) {
			t.Errorf("api %v: fallback tag: %v", api, err)
		}
	}
}
