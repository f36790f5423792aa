package sign

import (
	"context"
	"encoding/base64"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/imgtrust/kubectl-imgtrust/pkg/registry"
	"github.com/imgtrust/kubectl-imgtrust/pkg/signature"
)

// The payload is cosign's, byte for byte.
func TestPayload(t *testing.T) {
	d, err := name.NewDigest("registry.example/team/web@sha256:" + strings.Repeat("ab", 32))
	if err != nil {
		t.Fatal(err)
	}
	got, err := Payload(d)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"critical":{"identity":{"docker-reference":"registry.example/team/web"},"image":{"docker-manifest-digest":"sha256:` + strings.Repeat("ab", 32) + `"},"type":"cosign container image signature"},"optional":null}`
	if string(got) != want {
		t.Errorf("payload\n got %s\nwant %s", got, want)
	}
	if tag := SigTag(d).Name(); tag != "registry.example/team/web:sha256-"+strings.Repeat("ab", 32)+".sig" {
		t.Errorf("sig tag %s", tag)
	}
}

func TestAppendLegacy(t *testing.T) {
	img, err := AppendLegacy(nil, []byte(`{"p":1}`), []byte("sig"))
	if err != nil {
		t.Fatal(err)
	}
	img, err = AppendLegacy(img, []byte(`{"p":2}`), []byte("sig2"))
	if err != nil {
		t.Fatal(err)
	}
	mf, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	if mf.MediaType != "application/vnd.oci.image.manifest.v1+json" || mf.Config.MediaType != "application/vnd.oci.image.config.v1+json" || len(mf.Layers) != 2 {
		t.Fatalf("manifest %+v: want an OCI manifest with two layers", mf)
	}
	for i, sig := range []string{"sig", "sig2"} {
		l := mf.Layers[i]
		if l.MediaType != MediaTypeSimpleSigning || l.Annotations[AnnotationSignature] != base64.StdEncoding.EncodeToString([]byte(sig)) {
			t.Errorf("layer %d: %+v", i, l)
		}
	}
}

// writeFixture is a registry holding one image; forbid refuses writes.
type writeFixture struct {
	digest name.Digest
	forbid atomic.Bool
	writes atomic.Int32
}

func newWriteFixture(t *testing.T, referrersAPI bool) (*writeFixture, *registry.Resolver) {
	f := &writeFixture{}
	inner := ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0)), ggcrregistry.WithReferrersSupport(referrersAPI))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			if f.forbid.Load() {
				http.Error(w, `{"errors":[{"code":"DENIED","message":"no push"}]}`, http.StatusForbidden)
				return
			}
			f.writes.Add(1)
		}
		inner.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")
	repo, err := name.NewRepository(host+"/app", name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	img, _ := random.Image(64, 1)
	if err := remote.Write(repo.Tag("1"), img); err != nil {
		t.Fatal(err)
	}
	h, _ := img.Digest()
	f.digest = repo.Digest(h.String())
	f.writes.Store(0)
	r, err := registry.New(registry.Options{Insecure: []string{host}})
	if err != nil {
		t.Fatal(err)
	}
	return f, r
}

// A written signature is what pkg/signature verifies with the key's
// public half; a second one is appended to the same tag.
func TestWriteLegacyVerifies(t *testing.T) {
	ctx := context.Background()
	f, r := newWriteFixture(t, false)
	priv, _ := keyPair(t, "pw")
	k, err := LoadKey("cosign.key", priv, Password{Value: []byte("pw"), Set: true})
	if err != nil {
		t.Fatal(err)
	}
	checker, err := signature.New(signature.Options{Keys: []signature.Key{k.Public}})
	if err != nil {
		t.Fatal(err)
	}
	check := func() signature.Result {
		return checker.Check(ctx, r.Artifacts(registry.Anonymous), f.digest.Context(), f.digest.DigestStr())
	}
	if res := check(); res.Status != signature.StatusUnsigned {
		t.Fatalf("before: %+v, want unsigned", res)
	}
	for i := 1; i <= 2; i++ {
		payload, _ := Payload(f.digest)
		sig, err := k.Sign(payload)
		if err != nil {
			t.Fatal(err)
		}
		if e := WriteLegacy(ctx, r, authn.Anonymous, f.digest, payload, sig); e != nil {
			t.Fatalf("write %d: %v", i, e)
		}
		if res := check(); res.Status != signature.StatusVerified || len(res.Artifacts) != i {
			t.Fatalf("after write %d: %+v, want verified with %d signatures", i, res, i)
		}
	}
}

// A refused write is a forbidden error and writes nothing.
func TestWriteLegacyForbidden(t *testing.T) {
	ctx := context.Background()
	f, r := newWriteFixture(t, false)
	f.forbid.Store(true)
	priv, _ := keyPair(t, "")
	k, err := LoadKey("cosign.key", priv, Password{})
	if err != nil {
		t.Fatal(err)
	}
	payload, _ := Payload(f.digest)
	sig, _ := k.Sign(payload)
	e := WriteLegacy(ctx, r, authn.Anonymous, f.digest, payload, sig)
	if e == nil || e.Reason != registry.ReasonForbidden {
		t.Fatalf("write: %v, want forbidden", e)
	}
	if n := f.writes.Load(); n != 0 {
		t.Errorf("%d writes reached the registry", n)
	}
	if _, err := remote.Head(SigTag(f.digest)); err == nil {
		t.Errorf("a .sig tag exists after a refused write")
	}
}
