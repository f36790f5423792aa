package mirror

import (
	"context"
	"io"
	"log"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/imgtrust/kubectl-imgtrust/pkg/registry"
)

func referrersRegistry(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0)), ggcrregistry.WithReferrersSupport(true)))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// A source with the referrers API has no fallback tag: the referrers the
// API lists are copied by digest, and the target lists them too.
func TestCopyReferrersFromTheAPI(t *testing.T) {
	srcHost, dstHost := referrersRegistry(t), referrersRegistry(t)
	src, _ := name.NewRepository(srcHost+"/team/app", name.Insecure)
	img, err := random.Image(64, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(src.Tag("1.0"), img); err != nil {
		t.Fatal(err)
	}
	d, _ := img.Digest()
	sz, _ := img.Size()
	mt, _ := img.MediaType()
	// A signature-like artifact whose subject is the image.
	art := mutate.Subject(mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), "application/vnd.cncf.notary.signature"),
		v1.Descriptor{MediaType: mt, Digest: d, Size: sz}).(v1.Image)
	ad, _ := art.Digest()
	if err := remote.Write(src.Digest(ad.String()), art); err != nil {
		t.Fatal(err)
	}

	r, err := registry.New(registry.Options{Insecure: []string{srcHost, dstHost}})
	if err != nil {
		t.Fatal(err)
	}
	m := &Mirror{Resolver: r}
	target := dstHost + "/mirror/app:1.0"
	res := m.Copy(context.Background(), src.Tag("1.0").Name(), d.String(), target, registry.Anonymous)
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	if res.AlreadyPresent || res.Signatures != 1 || res.Manifests != 1 {
		t.Errorf("result %+v: want the image copied and one referrer", res)
	}
	dst, _ := name.NewRepository(dstHost+"/mirror/app", name.Insecure)
	idx, err := remote.Referrers(dst.Digest(d.String()))
	if err != nil {
		t.Fatal(err)
	}
	im, _ := idx.IndexManifest()
	if len(im.Manifests) != 1 || im.Manifests[0].Digest != ad {
		t.Errorf("the target's referrers: %+v, want %s", im.Manifests, ad)
	}
	// Again: everything is there, nothing is copied.
	if res = m.Copy(context.Background(), src.Tag("1.0").Name(), d.String(), target, registry.Anonymous); res.Err != nil || !res.AlreadyPresent || res.Signatures != 0 || res.Blobs != 0 {
		t.Errorf("second copy: %+v", res)
	}
}

// A target tag that names another digest is refused unless asked.
func TestCopyRefusesAMovedTag(t *testing.T) {
	host := referrersRegistry(t)
	repo, _ := name.NewRepository(host+"/app", name.Insecure)
	a, _ := random.Image(64, 1)
	b, _ := random.Image(64, 1)
	if err := remote.Write(repo.Tag("src"), a); err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(repo.Tag("taken"), b); err != nil {
		t.Fatal(err)
	}
	da, _ := a.Digest()
	r, _ := registry.New(registry.Options{Insecure: []string{host}})
	res := (&Mirror{Resolver: r}).Copy(context.Background(), repo.Tag("src").Name(), da.String(), host+"/app:taken", registry.Anonymous)
	if res.Err == nil || res.Err.Reason != registry.ReasonTagConflict {
		t.Fatalf("want a tag conflict, got %+v", res)
	}
	res = (&Mirror{Resolver: r, OverwriteTags: true}).Copy(context.Background(), repo.Tag("src").Name(), da.String(), host+"/app:taken", registry.Anonymous)
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	if got, _ := remote.Head(repo.Tag("taken")); got.Digest != da {
		t.Errorf("the tag points at %s, want %s", got.Digest, da)
	}
}
