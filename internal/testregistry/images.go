package testregistry

import (
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// RandomImage is a random image of layers 256-byte layers.
func RandomImage(t testing.TB, layers int) v1.Image {
	t.Helper()
	img, err := random.Image(256, int64(layers))
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// Push writes img to repoTag and returns its digest.
func (reg *Registry) Push(t testing.TB, repoTag string, img v1.Image) v1.Hash {
	t.Helper()
	if err := remote.Write(reg.Ref(t, repoTag), img, reg.WriteOptions()...); err != nil {
		t.Fatalf("pushing %s: %v", repoTag, err)
	}
	return digest(t, img)
}

// PushImage pushes a random one-layer image to repoTag and returns its
// digest.
func (reg *Registry) PushImage(t testing.TB, repoTag string) v1.Hash {
	t.Helper()
	return reg.Push(t, repoTag, RandomImage(t, 1))
}

// PushIndex pushes a multi-arch index of media type mt with one random
// image per platform; it returns the index digest and the digest per
// platform string.
func (reg *Registry) PushIndex(t testing.TB, repoTag string, mt types.MediaType, platforms ...string) (v1.Hash, map[string]v1.Hash) {
	t.Helper()
	idx := mutate.IndexMediaType(empty.Index, mt)
	children := map[string]v1.Hash{}
	for _, ps := range platforms {
		p, err := v1.ParsePlatform(ps)
		if err != nil {
			t.Fatal(err)
		}
		img := RandomImage(t, 1)
		if mt == types.DockerManifestList {
			img = mutate.MediaType(img, types.DockerManifestSchema2)
			img = mutate.ConfigMediaType(img, types.DockerConfigJSON)
		}
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: p}})
		children[ps] = digest(t, img)
	}
	if err := remote.WriteIndex(reg.Ref(t, repoTag), idx, reg.WriteOptions()...); err != nil {
		t.Fatalf("pushing index %s: %v", repoTag, err)
	}
	return digest(t, idx), children
}

// digest is the digest of an image, index or layer.
func digest(t testing.TB, of interface{ Digest() (v1.Hash, error) }) v1.Hash {
	t.Helper()
	d, err := of.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d
}
