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

// AttTag is the tag cosign keeps d's legacy attestations under:
// REPOSITORY:sha256-<hex>.att.
func AttTag(d name.Digest) name.Tag {
	return d.Context().Tag(strings.Replace(d.DigestStr(), ":", "-", 1) + ".att")
}

// SigTag is the tag cosign keeps d's legacy signatures under:
// REPOSITORY:sha256-<hex>.sig.
func SigTag(d name.Digest) name.Tag {
	return d.Context().Tag(strings.Replace(d.DigestStr(), ":", "-", 1) + ".sig")
}

// AppendLegacy returns base (the .sig image so far, or nil for none)
// with one more signature layer, as cosign appends: an OCI manifest whose
// layers are payloads.
func AppendLegacy(base v1.Image, payload, sig []byte) (v1.Image, error) {
	return appendLayer(base, static.NewLayer(payload, MediaTypeSimpleSigning),
		map[string]string{AnnotationSignature: base64.StdEncoding.EncodeToString(sig)})
}

// appendLayer adds layer to base (nil: a new empty OCI image).
func appendLayer(base v1.Image, layer v1.Layer, annotations map[string]string) (v1.Image, error) {
	if base == nil {
		base = mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	}
	return mutate.Append(base, mutate.Addendum{Layer: layer, Annotations: annotations})
}

// WriteLegacy adds the signature sig of payload to d's .sig tag with auth
// (the user's push credential). go-containerregistry uploads the blobs
// before the manifest, so a failed write leaves at most unreferenced
// blobs, never a manifest naming a missing one.
func WriteLegacy(ctx context.Context, r *registry.Resolver, auth authn.Authenticator, d name.Digest, payload, sig []byte) *registry.Error {
	return appendToTag(ctx, r, auth, SigTag(d), func(base v1.Image) (v1.Image, error) { return AppendLegacy(base, payload, sig) })
}

// appendToTag reads the image at tag (none yet is fine), adds to it with
// add, and writes it back: blobs first, then the manifest.
func appendToTag(ctx context.Context, r *registry.Resolver, auth authn.Authenticator, tag name.Tag, add func(v1.Image) (v1.Image, error)) *registry.Error {
	opts := r.WriteOptions(ctx, auth)
	base, err := remote.Image(tag, opts...)
	if err != nil {
		if e := r.WriteError(ctx, tag, err); e.Reason != registry.ReasonNotFound {
			return e
		}
		base = nil
	}
	img, err := add(base)
	if err != nil {
		return &registry.Error{Reason: registry.ReasonUnknown, Message: "building the signature manifest: " + err.Error()}
	}
	if err := remote.Write(tag, img, opts...); err != nil {
		return r.WriteError(ctx, tag, err)
	}
	return nil
}
