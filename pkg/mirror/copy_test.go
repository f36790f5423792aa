package mirror

import (
	"context"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/imgtrust/kubectl-imgtrust/internal/testregistry"
	"github.com/imgtrust/kubectl-imgtrust/pkg/registry"
)

// A source with the referrers API has no fallback tag: the referrers the
// API lists are copied by digest, and the target lists them too.
func TestCopyReferrersFromTheAPI(t *testing.T) {
	srcReg := testregistry.New(t, withReferrers)
	srcHost, dstHost := srcReg.Host, testregistry.New(t, withReferrers).Host
	src := srcReg.Repo(t, "team/app")
	img := testregistry.RandomImage(t, 1)
	d := srcReg.Push(t, "team/app:1.0", img)
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
	reg := testregistry.New(t, withReferrers)
	host, repo := reg.Host, reg.Repo(t, "app")
	da := reg.PushImage(t, "app:src")
	reg.PushImage(t, "app:taken")
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
