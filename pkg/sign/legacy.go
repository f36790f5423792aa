package sign

import (
	"context"
	"encoding/base64"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/imgtrust/kubectl-imgtrust/pkg/registry"
)

// The legacy cosign signature: a layer of this media type holding the
// payload, its base64 signature in this annotation.
const (
	MediaTypeSimpleSigning = "application/vnd.dev.cosign.simplesigning.v1+json"
	AnnotationSignature    = "dev.cosignproject.cosign/signature"
)

// SigTag is the tag cosign keeps d's legacy signatures under:
// REPOSITORY:sha256-<hex>.sig.
func SigTag(d name.Digest) name.Tag {
	return d.Context().Tag(strings.Replace(d.DigestStr(), ":", "-", 1) + ".sig")
}

// AppendLegacy returns base (the .sig image so far, or nil for none)
// with one more signature layer, as cosign appends: an OCI manifest whose
// layers are payloads.
func AppendLegacy(base v1.Image, payload, sig []byte) (v1.Image, error) {
	if base == nil {
		base = mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	}
	layer := static.NewLayer(payload, MediaTypeSimpleSigning)
	return mutate.Append(base, mutate.Addendum{
		Layer:       layer,
		Annotations: map[string]string{AnnotationSignature: base64.StdEncoding.EncodeToString(sig)},
	})
}

// WriteLegacy adds the signature sig of payload to d's .sig tag with auth
// (the user's push credential). go-containerregistry uploads the blobs
// before the manifest, so a failed write leaves at most unreferenced
// blobs, never a manifest naming a missing one.
func WriteLegacy(ctx context.Context, r *registry.Resolver, auth authn.Authenticator, d name.Digest, payload, sig []byte) *registry.Error {
	tag := SigTag(d)
	opts := r.WriteOptions(ctx, auth)
	base, err := remote.Image(tag, opts...)
	if err != nil {
		if e := r.WriteError(ctx, tag, err); e.Reason != registry.ReasonNotFound {
			return e
		}
		base = nil
	}
	img, err := AppendLegacy(base, payload, sig)
	if err != nil {
		return &registry.Error{Reason: registry.ReasonUnknown, Message: "building the signature manifest: " + err.Error()}
	}
	if err := remote.Write(tag, img, opts...); err != nil {
		return r.WriteError(ctx, tag, err)
	}
	return nil
}
