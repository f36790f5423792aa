package pipeline

import (
	"context"
	"crypto/elliptic"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/sigstore/sigstore/pkg/cryptoutils"

	"github.com/imgtrust/kubectl-imgtrust/pkg/registry"
	"github.com/imgtrust/kubectl-imgtrust/pkg/sign"
	"github.com/imgtrust/kubectl-imgtrust/pkg/signature"
	"github.com/imgtrust/kubectl-imgtrust/pkg/workload"
)

// newSignRun is a run against an in-memory registry holding one image;
// forbid makes it refuse writes with 403.
func newSignRun(t *testing.T, format SignFormat) (*signRun, name.Digest, *atomic.Bool) {
	t.Helper()
	forbid := &atomic.Bool{}
	inner := ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0)))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if forbid.Load() && r.Method != http.MethodGet && r.Method != http.MethodHead {
			http.Error(w, `{"errors":[{"code":"DENIED","message":"no"}]}`, http.StatusForbidden)
			return
		}
		inner.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")
	repo, _ := name.NewRepository(host+"/web", name.Insecure)
	img, _ := random.Image(32, 1)
	if err := remote.Write(repo.Tag("1"), img); err != nil {
		t.Fatal(err)
	}
	h, _ := img.Digest()
	priv, _, err := cryptoutils.GeneratePEMEncodedECDSAKeyPair(elliptic.P256(), cryptoutils.StaticPasswordFunc([]byte{}))
	if err != nil {
		t.Fatal(err)
	}
	key, err := sign.LoadKey("cosign.key", priv, sign.Password{})
	if err != nil {
		t.Fatal(err)
	}
	r, _ := registry.New(registry.Options{Insecure: []string{host}})
	checker, _ := ownChecker(key)
	signer := &digestSigner{key: key, format: format, resolver: r, checker: checker}
	s := &signRun{cfg: SignConfig{Format: format}, signer: signer, plan: NewCredentialPlan(nil), done: map[string]SignOutcome{}}
	return s, repo.Digest(h.String()), forbid
}

// Each digest is signed once; a later run finds it signed; a 403 is a
// failure naming docker login, and nothing is written.
func TestSignRunOutcomes(t *testing.T) {
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	for _, format := range []SignFormat{SignBundle, SignLegacy} {
		ctx := context.Background()
		s, d, forbid := newSignRun(t, format)
		target := signTarget{obj: workload.Object{Kind: "Deployment", Name: "web"}, container: "app", repo: d.Context().Name(), digest: d.DigestStr()}

		forbid.Store(true)
		if o := s.signOne(ctx, target); o.Status != SignFailed || !strings.Contains(o.Message, "(forbidden)") || !strings.Contains(o.Message, "docker login "+d.RegistryStr()) {
			t.Errorf("%s, 403: %+v, want failed naming docker login", format, o)
		}
		forbid.Store(false)
		s.done = map[string]SignOutcome{}
		for i, want := range []SignStatus{SignSigned, SignAlreadySigned} {
			if o := s.signOne(ctx, target); o.Status != want || o.Target != d.Name() {
				t.Errorf("%s, call %d: %+v, want %s of %s", format, i, o, want, d.Name())
			}
		}
		s.done = map[string]SignOutcome{} // a new run: the registry says it is signed
		if o := s.signOne(ctx, target); o.Status != SignAlreadySigned || !strings.Contains(o.Message, string(format)+" format") {
			t.Errorf("%s, second run: %+v, want already signed", format, o)
		}
	}
}

// With authorities, a digest their key has not signed is refused and not
// signed; once it is, ours is added.
func TestSignRunUpstreamGate(t *testing.T) {
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	ctx := context.Background()
	s, d, _ := newSignRun(t, SignBundle)
	vendorPEM, _, err := cryptoutils.GeneratePEMEncodedECDSAKeyPair(elliptic.P256(), cryptoutils.StaticPasswordFunc([]byte{}))
	if err != nil {
		t.Fatal(err)
	}
	vendor, _ := sign.LoadKey("vendor.key", vendorPEM, sign.Password{})
	upstream, _ := signature.New(signature.Options{Keys: []signature.Key{vendor.Public}})
	s.gates = (&SignGates{Require: []string{GateVerifiedUpstream}, Authorities: signature.ForAll(upstream)}).list(s.signer.resolver)
	target := signTarget{repo: d.Context().Name(), digest: d.DigestStr()}

	if o := s.signOne(ctx, target); o.Status != SignRefused || !strings.Contains(o.Message, "--require verified-upstream: the upstream signature is not verified") {
		t.Fatalf("unsigned upstream: %+v, want refused", o)
	}
	payload, _ := sign.Payload(d)
	sig, _ := vendor.Sign(payload)
	if e := sign.WriteLegacy(ctx, s.signer.resolver, nil, d, payload, sig); e != nil {
		t.Fatal(e)
	}
	s.done = map[string]SignOutcome{}
	if o := s.signOne(ctx, target); o.Status != SignSigned {
		t.Errorf("signed upstream: %+v, want signed", o)
	}
}
