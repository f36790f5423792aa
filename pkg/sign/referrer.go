package sign

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/imgtrust/kubectl-imgtrust/pkg/registry"
)

func hashOf(d name.Digest) (v1.Hash, error) {
	h, err := v1.NewHash(d.DigestStr())
	if err != nil {
		return v1.Hash{}, fmt.Errorf("%s names no digest: only digests are signed", d)
	}
	return h, nil
}

// rawManifest is a manifest to Put as it is.
type rawManifest struct {
	raw []byte
}

func (m rawManifest) RawManifest() ([]byte, error)        { return m.raw, nil }
func (m rawManifest) MediaType() (types.MediaType, error) { return types.OCIManifestSchema1, nil }

// ReferrerManifest is the OCI manifest that attaches bundle to subject as
// cosign v3 does: artifactType and layer the bundle media type, the empty
// config, annotations naming the predicate type.
func ReferrerManifest(subject v1.Descriptor, bundle []byte, predicateType string, created time.Time) ([]byte, error) {
	layer, _, err := v1.SHA256(bytes.NewReader(bundle))
	if err != nil {
		return nil, err
	}
	empty, _, _ := v1.SHA256(bytes.NewReader([]byte("{}")))
	subject = v1.Descriptor{MediaType: subject.MediaType, Digest: subject.Digest, Size: subject.Size}
	return json.Marshal(v1.Manifest{
		SchemaVersion: 2,
		MediaType:     types.OCIManifestSchema1,
		ArtifactType:  MediaTypeBundle,
		Config:        v1.Descriptor{MediaType: mediaTypeOCIEmpty, Digest: empty, Size: 2},
		Layers:        []v1.Descriptor{{MediaType: MediaTypeBundle, Digest: layer, Size: int64(len(bundle))}},
		Subject:       &subject,
		Annotations: map[string]string{
			annotationContent:    bundleContentDSSE,
			annotationPredicate:  predicateType,
			annotationOCICreated: created.UTC().Format(time.RFC3339),
		},
	})
}

// WriteBundle attaches bundle (of a statement of predicateType) to d as a
// referrer with auth: the blobs first, then the manifest by digest.
// go-containerregistry updates the referrers tag (sha256-<hex>) where the
// registry has no referrers API.
func WriteBundle(ctx context.Context, r *registry.Resolver, auth authn.Authenticator, d name.Digest, bundle []byte, predicateType string, created time.Time) *registry.Error {
	opts := r.WriteOptions(ctx, auth)
	subject, err := remote.Head(d, opts...)
	if err != nil {
		return r.WriteError(ctx, d, err)
	}
	raw, err := ReferrerManifest(*subject, bundle, predicateType, created)
	if err != nil {
		return &registry.Error{Reason: registry.ReasonUnknown, Message: "building the referrer manifest: " + err.Error()}
	}
	for _, l := range []v1.Layer{static.NewLayer([]byte("{}"), mediaTypeOCIEmpty), static.NewLayer(bundle, MediaTypeBundle)} {
		if err := remote.WriteLayer(d.Context(), l, opts...); err != nil {
			return r.WriteError(ctx, d, err)
		}
	}
	h, _, _ := v1.SHA256(bytes.NewReader(raw))
	ref := d.Context().Digest(h.String())
	if err := remote.Put(ref, rawManifest{raw}, opts...); err != nil {
		e := r.WriteError(ctx, ref, err)
		if _, herr := remote.Head(ref, opts...); herr == nil {
			// Stored by digest, but the referrers tag was refused: a
			// registry without the referrers API. Take the manifest
			// back, so that nothing is left half-written.
			left := "it was deleted again"
			if derr := remote.Delete(ref, opts...); derr != nil {
				left = "it could not be deleted: " + r.WriteError(ctx, ref, derr).Message
			}
			e = &registry.Error{Reason: e.Reason, Status: e.Status, Message: fmt.Sprintf("%s the referrers tag %s (%s); the referrer manifest was stored by digest and %s", tagRefused, referrersTag(d).Name(), e.Reason, left)}
		}
		return e
	}
	return nil
}

// tagRefused starts the message of a referrer the registry stored by
// digest but could not list: no referrers API, and the tag refused.
const tagRefused = "the registry has no referrers API and refused"

// TagRefused reports whether e is a referrer write that failed for want
// of the referrers API and of tag write permission.
func TagRefused(e *registry.Error) bool {
	return e != nil && strings.HasPrefix(e.Message, tagRefused)
}

// referrersTag is the tag go-containerregistry lists d's referrers under
// where the registry has no referrers API: sha256-<hex>.
func referrersTag(d name.Digest) name.Tag {
	return d.Context().Tag(strings.Replace(d.DigestStr(), ":", "-", 1))
}
