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
	"github.com/imgtrust/kubectl-imgtrust/pkg/trustpolicy"
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

// verified-upstream with --trust-policy=cluster: an image no
// ClusterImagePolicy matches is refused even when policy-controller's
// no-match-policy is allow (nothing verified it), and the policies' globs
// match the image the workload names, tag included, as audit
// --trust-policy=cluster matches them (not REPOSITORY:latest).
func TestSignRunUpstreamGateClusterPolicies(t *testing.T) {
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	ctx := context.Background()
	vendorPEM, pubPEM, err := cryptoutils.GeneratePEMEncodedECDSAKeyPair(elliptic.P256(), cryptoutils.StaticPasswordFunc([]byte{}))
	if err != nil {
		t.Fatal(err)
	}
	vendor, _ := sign.LoadKey("vendor.key", vendorPEM, sign.Password{})
	for _, noMatch := range []string{signature.NoMatchAllow, signature.NoMatchDeny} {
		s, d, _ := newSignRun(t, SignBundle)
		repo := d.Context().Name()
		// Only the 1.x tags of web are the vendor's.
		cip, warnings, ok := trustpolicy.ClusterPolicyFrom("vendor", map[string]any{
			"images":      []any{map[string]any{"glob": repo + ":1*"}},
			"authorities": []any{map[string]any{"key": map[string]any{"data": string(pubPEM)}}},
		})
		if !ok {
			t.Fatalf("the ClusterImagePolicy is not applied: %q", warnings)
		}
		a, err := signature.FromCluster([]trustpolicy.ClusterPolicy{cip}, nil, nil, noMatch)
		if err != nil {
			t.Fatal(err)
		}
		s.cfg.Gates = &SignGates{Require: []string{GateVerifiedUpstream}, Authorities: a}
		s.gates = s.cfg.Gates.list(s.signer.resolver)
		run := func(image string) SignOutcome {
			s.done = map[string]SignOutcome{}
			return s.signOne(ctx, signTarget{image: image, repo: repo, digest: d.DigestStr()})
		}
		stray := repo + ":2.0"
		if o := run(stray); o.Status != SignRefused ||
			!strings.Contains(o.Message, "--require verified-upstream: no ClusterImagePolicy matches "+stray+", so nothing verified it: not signed") {
			t.Errorf("no-match-policy %s, %s matched by no policy: %+v, want refused saying nothing verified it", noMatch, stray, o)
		}
		// The glob names the tag: the policy applies, and its key has not
		// signed yet.
		if o := run(repo + ":1.4"); o.Status != SignRefused || !strings.Contains(o.Message, "an authority of clusterimagepolicy/vendor") {
			t.Errorf("no-match-policy %s, %s:1.4 unsigned upstream: %+v, want refused by clusterimagepolicy/vendor", noMatch, repo, o)
		}
		payload, _ := sign.Payload(d)
		sig, _ := vendor.Sign(payload)
		if e := sign.WriteLegacy(ctx, s.signer.resolver, nil, d, payload, sig); e != nil {
			t.Fatal(e)
		}
		if o := run(stray); o.Status != SignRefused {
			t.Errorf("no-match-policy %s, %s, signed upstream by a key no policy names for it: %+v, want refused", noMatch, stray, o)
		}
		// In one run, the digest refused under a name no policy matches is
		// still judged under the name the policy matches.
		s.done = map[string]SignOutcome{}
		if o := s.signOne(ctx, signTarget{image: stray, repo: repo, digest: d.DigestStr()}); o.Status != SignRefused {
			t.Errorf("no-match-policy %s, %s in one run: %+v, want refused", noMatch, stray, o)
		}
		if o := s.signOne(ctx, signTarget{image: repo + ":1.4", repo: repo, digest: d.DigestStr()}); o.Status != SignSigned {
			t.Errorf("no-match-policy %s, %s:1.4 signed upstream, after %s in the same run: %+v, want signed", noMatch, repo, stray, o)
		}
	}
}
