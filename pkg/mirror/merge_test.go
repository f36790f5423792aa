package mirror

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/imgtrust/kubectl-imgtrust/internal/testregistry"
	"github.com/imgtrust/kubectl-imgtrust/pkg/registry"
)

const cosignSigAnnotation = "dev.cosignproject.cosign/signature"

// payloadOf is a cosign simple-signing payload for subject: the same for
// every signer of a digest, as cosign's is.
func payloadOf(subject v1.Hash) string {
	return fmt.Sprintf(`{"critical":{"image":{"docker-manifest-digest":%q},"type":"cosign container image signature"}}`, subject)
}

// cosignTagImage is a cosign .sig or .att image as cosign writes it: one
// layer of payload per signature, the signature in the layer's
// annotation.
func cosignTagImage(t *testing.T, payload string, sigs ...string) v1.Image {
	t.Helper()
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	for _, s := range sigs {
		var err error
		img, err = mutate.Append(img, mutate.Addendum{
			Layer:       static.NewLayer([]byte(payload), "application/vnd.dev.cosign.simplesigning.v1+json"),
			Annotations: map[string]string{cosignSigAnnotation: s},
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return img
}

// attach writes a referrer of subject in repo, told apart by who.
func attach(t *testing.T, reg *testregistry.Registry, repo name.Repository, subject v1.Descriptor, who string) {
	t.Helper()
	cfg := reg.PutBlob(t, repo, []byte("{}"), "application/vnd.oci.empty.v1+json")
	reg.PutReferrer(t, repo, v1.Manifest{
		SchemaVersion: 2, MediaType: types.OCIManifestSchema1, Config: cfg,
		ArtifactType: "application/vnd.dev.sigstore.bundle.v0.3+json",
		Layers:       []v1.Descriptor{},
		Annotations:  map[string]string{"who": who},
		Subject:      &subject,
	})
}

// referrersAt are the "who" of subject's referrers in repo, as a verifier
// finds them (the API, or the fallback tag).
func referrersAt(t *testing.T, repo name.Repository, subject v1.Hash) []string {
	t.Helper()
	idx, err := remote.Referrers(repo.Digest(subject.String()))
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	var who []string
	for _, d := range im.Manifests {
		who = append(who, d.Annotations["who"])
	}
	slices.Sort(who)
	return who
}

// signaturesAt are the signatures in repo's cosign tag, each checked
// readable whole at repo (its payload is there for a verifier).
func signaturesAt(t *testing.T, repo name.Repository, tag string) []string {
	t.Helper()
	img, err := remote.Image(repo.Tag(tag))
	if err != nil {
		t.Fatal(err)
	}
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	var sigs []string
	for _, l := range m.Layers {
		blob, err := remote.Layer(repo.Digest(l.Digest.String()))
		if err != nil {
			t.Fatal(err)
		}
		rc, err := blob.Compressed()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(io.Discard, rc); err != nil {
			t.Fatalf("layer %s of %s: %v", l.Digest, tag, err)
		}
		rc.Close()
		sigs = append(sigs, l.Annotations[cosignSigAnnotation])
	}
	slices.Sort(sigs)
	return sigs
}

// The mirror already holds signatures and attestations of its own for
// the digest (pin --sign-key, kubectl imgtrust sign); a copy from a
// source without the referrers API adds the source's to them and never
// replaces them: the referrers tag index gains the source's referrers
// once, and the cosign tags gain the source's layers. A second copy
// changes nothing.
func TestCopyKeepsTheTargetsSignatures(t *testing.T) {
	for _, api := range []bool{false, true} {
		t.Run(fmt.Sprintf("target referrers API %v", api), func(t *testing.T) {
			srcReg, dstReg := testregistry.New(t, testregistry.WithReferrers(false)), testregistry.New(t, testregistry.WithReferrers(api))
			img := testregistry.RandomImage(t, 1)
			d := srcReg.Push(t, "team/app:1.0", img)
			dstReg.Push(t, "mirror/app:1.0", img)
			mt, _ := img.MediaType()
			sz, _ := img.Size()
			subject := v1.Descriptor{MediaType: mt, Digest: d, Size: sz}
			src, dst := srcReg.Repo(t, "team/app"), dstReg.Repo(t, "mirror/app")
			hex := strings.Replace(d.String(), ":", "-", 1)

			attach(t, srcReg, src, subject, "upstream")
			attach(t, dstReg, dst, subject, "mirror")
			for _, suffix := range []string{".sig", ".att"} {
				srcReg.Push(t, "team/app:"+hex+suffix, cosignTagImage(t, payloadOf(d), "upstream"+suffix))
				// The mirror's own, and the upstream one it already has.
				dstReg.Push(t, "mirror/app:"+hex+suffix, cosignTagImage(t, payloadOf(d), "mirror"+suffix))
			}
			dstReg.Push(t, "mirror/app:"+hex+".att", cosignTagImage(t, payloadOf(d), "mirror.att", "upstream.att"))

			r, err := registry.New(registry.Options{Insecure: []string{srcReg.Host, dstReg.Host}})
			if err != nil {
				t.Fatal(err)
			}
			m := &Mirror{Resolver: r}
			copyOnce := func() Result {
				t.Helper()
				res := m.Copy(context.Background(), src.Tag("1.0").Name(), d.String(), dst.Tag("1.0").Name(), registry.Anonymous)
				if res.Err != nil {
					t.Fatal(res.Err)
				}
				return res
			}
			check := func(when string) {
				t.Helper()
				if got, want := referrersAt(t, dst, d), []string{"mirror", "upstream"}; !slices.Equal(got, want) {
					t.Errorf("%s: the target's referrers are %q, want %q", when, got, want)
				}
				if got, want := signaturesAt(t, dst, hex+".sig"), []string{"mirror.sig", "upstream.sig"}; !slices.Equal(got, want) {
					t.Errorf("%s: the target's .sig holds %q, want %q", when, got, want)
				}
				if got, want := signaturesAt(t, dst, hex+".att"), []string{"mirror.att", "upstream.att"}; !slices.Equal(got, want) {
					t.Errorf("%s: the target's .att holds %q, want %q", when, got, want)
				}
			}

			res := copyOnce()
			check("after the copy")
			// The upstream referrer and the .sig merge were written; the
			// .att already held the upstream layer.
			if !res.AlreadyPresent || res.Signatures != 2 || res.ReferrersSkipped != 0 {
				t.Errorf("result %+v: want the image present, 2 signatures copied", res)
			}
			if res = copyOnce(); res.Signatures != 0 {
				t.Errorf("second copy: %d signatures copied, want none", res.Signatures)
			}
			check("after a second copy")
		})
	}
}

// signedPair is an image in src (team/app) and dst (mirror/app), and
// their cosign .sig tags: src's signed "upstream", dst's "mirror", over
// different payloads, so that merging uploads a blob.
func signedPair(t *testing.T) (srcReg, dstReg *testregistry.Registry, d v1.Hash, sigTag string) {
	t.Helper()
	srcReg, dstReg = testregistry.New(t, withReferrers), testregistry.New(t, withReferrers)
	img := testregistry.RandomImage(t, 1)
	d = srcReg.Push(t, "team/app:1.0", img)
	dstReg.Push(t, "mirror/app:1.0", img)
	sigTag = strings.Replace(d.String(), ":", "-", 1) + ".sig"
	srcReg.Push(t, "team/app:"+sigTag, cosignTagImage(t, payloadOf(d)+" ", "upstream"))
	dstReg.Push(t, "mirror/app:"+sigTag, cosignTagImage(t, payloadOf(d), "mirror"))
	return srcReg, dstReg, d, sigTag
}

func copyPair(t *testing.T, srcReg, dstReg *testregistry.Registry, d v1.Hash) Result {
	t.Helper()
	r, err := registry.New(registry.Options{Insecure: []string{srcReg.Host, dstReg.Host}})
	if err != nil {
		t.Fatal(err)
	}
	return (&Mirror{Resolver: r}).Copy(context.Background(), srcReg.Host+"/team/app:1.0", d.String(), dstReg.Host+"/mirror/app:1.0", registry.Anonymous)
}

// A target that refuses the merged .sig is that image's error, forbidden,
// and its .sig is left as it was.
func TestCopyMergeRefused(t *testing.T) {
	srcReg, dstReg, d, sigTag := signedPair(t)
	dstReg.Set(func(h *testregistry.Hooks) {
		h.Fault = func(w http.ResponseWriter, r *http.Request) bool {
			return r.Method == http.MethodPut && testregistry.Refuse(http.StatusForbidden, "/manifests/"+sigTag)(w, r)
		}
	})
	res := copyPair(t, srcReg, dstReg, d)
	if res.Err == nil || res.Err.Reason != registry.ReasonForbidden {
		t.Fatalf("want forbidden, got %+v", res)
	}
	if !strings.Contains(res.Err.Message, sigTag) {
		t.Errorf("the error %q does not name the .sig tag", res.Err.Message)
	}
	dstReg.Set(nil)
	if got := signaturesAt(t, dstReg.Repo(t, "mirror/app"), sigTag); !slices.Equal(got, []string{"mirror"}) {
		t.Errorf("the target's .sig holds %q after a refused merge, want it untouched", got)
	}
}

// The merged .sig is checked as every copy is: a target that loses the
// uploaded signature blob fails the copy, incomplete-copy, naming it.
func TestCopyMergeIsChecked(t *testing.T) {
	srcReg, dstReg, d, _ := signedPair(t)
	lost, _, _ := v1.SHA256(strings.NewReader(payloadOf(d) + " "))
	dstReg.Set(func(h *testregistry.Hooks) {
		h.Fault = func(w http.ResponseWriter, r *http.Request) bool {
			return r.URL.Query().Get("digest") == lost.String() && loseUploads(w, r)
		}
	})
	res := copyPair(t, srcReg, dstReg, d)
	if res.Err == nil || res.Err.Reason != registry.ReasonIncompleteCopy {
		t.Fatalf("want incomplete-copy, got %+v", res)
	}
	if !strings.Contains(res.Err.Message, lost.String()) {
		t.Errorf("the error %q does not name the lost signature blob %s", res.Err.Message, lost)
	}
}
