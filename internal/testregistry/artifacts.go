// Blobs and manifests written as they are, for the artifacts (signatures,
// attestations) tests build by hand.

package testregistry

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// PutBlob uploads b to repo and returns its descriptor.
func (reg *Registry) PutBlob(t testing.TB, repo name.Repository, b []byte, mt types.MediaType) v1.Descriptor {
	t.Helper()
	l := static.NewLayer(b, mt)
	if err := remote.WriteLayer(repo, l, reg.WriteOptions()...); err != nil {
		t.Fatal(err)
	}
	return v1.Descriptor{MediaType: mt, Digest: digest(t, l), Size: int64(len(b))}
}

type rawManifest struct {
	b  []byte
	mt types.MediaType
}

func (m rawManifest) RawManifest() ([]byte, error)        { return m.b, nil }
func (m rawManifest) MediaType() (types.MediaType, error) { return m.mt, nil }

// PutManifest writes m, JSON as it is, by tag when tag is set and by its
// digest otherwise; it returns its descriptor.
func (reg *Registry) PutManifest(t testing.TB, repo name.Repository, m any, mt types.MediaType, tag string) v1.Descriptor {
	t.Helper()
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	h, _, err := v1.SHA256(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	var ref name.Reference = repo.Digest(h.String())
	if tag != "" {
		ref = repo.Tag(tag)
	}
	if err := remote.Put(ref, rawManifest{b, mt}, reg.WriteOptions()...); err != nil {
		t.Fatal(err)
	}
	return v1.Descriptor{MediaType: mt, Digest: h, Size: int64(len(b))}
}

// PutReferrer writes m, whose Subject must be set, by digest: a referrer
// of its subject. On a registry without the referrers API,
// go-containerregistry's writer also adds it to the subject's fallback tag
// index (sha256-<hex>), as pushers keep it. It returns m's descriptor.
func (reg *Registry) PutReferrer(t testing.TB, repo name.Repository, m v1.Manifest) v1.Descriptor {
	t.Helper()
	if m.Subject == nil {
		t.Fatal("PutReferrer: the manifest has no subject")
	}
	return reg.PutManifest(t, repo, m, m.MediaType, "")
}
