package mirror

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/imgtrust/kubectl-imgtrust/internal/testregistry"
	"github.com/imgtrust/kubectl-imgtrust/pkg/pullsecret"
	"github.com/imgtrust/kubectl-imgtrust/pkg/registry"
)

// withReferrers gives the test registries the referrers API, as mirror
// targets usually have.
var withReferrers = testregistry.WithReferrers(true)

// pushRandom writes a random two-layer image (three blobs with its config)
// to repoTag and returns its digest.
func pushRandom(t *testing.T, reg *testregistry.Registry, repoTag string) string {
	t.Helper()
	return reg.Push(t, repoTag, testregistry.RandomImage(t, 2)).String()
}

func newTestSession(t *testing.T, o SessionOptions, hosts ...string) *Session {
	t.Helper()
	r, err := registry.New(registry.Options{Insecure: hosts})
	if err != nil {
		t.Fatal(err)
	}
	o.Resolver = r
	return NewSession(o)
}

// A second copy of the same digest to the same target is the first one's
// answer: no request, counted once in the totals.
func TestSessionCopiesOncePerRun(t *testing.T) {
	srcReg, dstReg := testregistry.New(t, withReferrers), testregistry.New(t, withReferrers)
	src, dst := srcReg.Host, dstReg.Host
	digest := pushRandom(t, srcReg, "team/app:1.0")
	s := newTestSession(t, SessionOptions{Prefix: dst + "/mirror"}, src, dst)
	target, ok, err := s.Target(src + "/team/app:1.0")
	if err != nil || !ok {
		t.Fatalf("Target: %q, %v, %v", target, ok, err)
	}
	req := CopyRequest{Image: src + "/team/app:1.0", Digest: digest, Target: target}
	first, err := s.Copy(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if first.Cached || first.AlreadyPresent || first.Blobs != 3 || first.PullCredential != registry.Anonymous.Source {
		t.Errorf("first copy: %+v", first)
	}
	before, totals := len(dstReg.Requests()), s.Totals()
	second, err := s.Copy(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if !second.Cached || second.Target != first.Target || second.Blobs != first.Blobs {
		t.Errorf("second copy: %+v, want the first one's answer, cached", second)
	}
	if n := len(dstReg.Requests()) - before; n != 0 {
		t.Errorf("the second copy sent %d requests to the mirror", n)
	}
	if s.Totals() != totals || totals.Copied != 1 || totals.Blobs != first.Blobs || totals.Bytes != first.Bytes {
		t.Errorf("totals %+v after the second copy, %+v after the first; want one copy", s.Totals(), totals)
	}
}

// Totals add up the copies of a run; a new run finds them in the mirror.
func TestSessionTotals(t *testing.T) {
	srcReg, dstReg := testregistry.New(t, withReferrers), testregistry.New(t, withReferrers)
	src, dst := srcReg.Host, dstReg.Host
	a := pushRandom(t, srcReg, "team/a:1")
	b := pushRandom(t, srcReg, "team/b:2")
	reqs := []CopyRequest{
		{Image: src + "/team/a:1", Digest: a, Target: dst + "/mirror/a:1"},
		{Image: src + "/team/b:2", Digest: b, Target: dst + "/mirror/b:2"},
	}
	run := func() (Totals, Totals) {
		s := newTestSession(t, SessionOptions{Prefix: dst + "/mirror", Layout: LayoutFlat}, src, dst)
		var sum Totals
		for _, req := range reqs {
			res, err := s.Copy(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			if res.AlreadyPresent {
				sum.Present++
			} else {
				sum.Copied++
			}
			sum.Blobs += res.Blobs
			sum.Bytes += res.Bytes
			sum.Signatures += res.Signatures
			sum.BlobsChecked += res.BlobsChecked
		}
		return s.Totals(), sum
	}
	if got, sum := run(); got != sum || got.Copied != 2 || got.Present != 0 || got.Blobs != 6 || got.Bytes == 0 || got.BlobsChecked != 6 {
		t.Errorf("first run: totals %+v, results sum to %+v", got, sum)
	}
	// A new run finds the copies and checks their blobs again: a mirror
	// half written before is not taken for whole.
	if got, sum := run(); got != sum || got != (Totals{Present: 2, BlobsChecked: 6}) {
		t.Errorf("second run: totals %+v, results sum to %+v; want both present, nothing sent, six blobs checked", got, sum)
	}
}

// A target tag that names another digest is refused (and not counted)
// unless the session may overwrite tags.
func TestSessionRefusesAMovedTag(t *testing.T) {
	reg := testregistry.New(t, withReferrers)
	host := reg.Host
	digest := pushRandom(t, reg, "app:src")
	pushRandom(t, reg, "mirror/app:taken")
	req := CopyRequest{Image: host + "/app:src", Digest: digest, Target: host + "/mirror/app:taken"}

	s := newTestSession(t, SessionOptions{Prefix: host + "/mirror"}, host)
	_, err := s.Copy(context.Background(), req)
	var ce *CopyError
	if !errors.As(err, &ce) || ce.Err.Reason != registry.ReasonTagConflict || !strings.HasPrefix(err.Error(), "copying "+host+"/app@"+digest+" to "+req.Target+": ") {
		t.Fatalf("want a tag conflict, got %v", err)
	}
	if _, again := s.Copy(context.Background(), req); again == nil || again.Error() != err.Error() {
		t.Errorf("the cached answer: %v, want %v", again, err)
	}
	if s.Totals() != (Totals{}) {
		t.Errorf("totals %+v after a refusal", s.Totals())
	}

	s = newTestSession(t, SessionOptions{Prefix: host + "/mirror", OverwriteTags: true}, host)
	if _, err := s.Copy(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	tag, _ := name.NewTag(req.Target, name.Insecure)
	if got, _ := remote.Head(tag); got.Digest.String() != digest {
		t.Errorf("the tag points at %s, want %s", got.Digest, digest)
	}
}

// A dry run plans: nothing is sent, nothing counted.
func TestSessionDryRun(t *testing.T) {
	reg := testregistry.New(t, withReferrers)
	host := reg.Host
	s := newTestSession(t, SessionOptions{Prefix: host + "/mirror", DryRun: true}, host)
	res, err := s.Copy(context.Background(), CopyRequest{Image: "nginx:1.27", Digest: "sha256:" + sixtyFour, Target: host + "/mirror/docker.io/library/nginx:1.27"})
	if err != nil || !res.Planned {
		t.Fatalf("%+v, %v", res, err)
	}
	if res.Source != "index.docker.io/library/nginx@sha256:"+sixtyFour || res.Target != host+"/mirror/docker.io/library/nginx:1.27@sha256:"+sixtyFour {
		t.Errorf("planned %s -> %s", res.Source, res.Target)
	}
	if n := len(reg.Requests()); n != 0 || s.Totals() != (Totals{}) || !s.DryRun() {
		t.Errorf("a dry run sent %d requests, totals %+v", n, s.Totals())
	}
}

// The pods' pull check uses their credentials, or anonymous access, and
// never the local docker config.
func TestSessionCheckPull(t *testing.T) {
	open := testregistry.New(t, withReferrers)
	host := open.Host
	digest := pushRandom(t, open, "mirror/app:1")
	locked := testregistry.New(t, withReferrers, testregistry.WithBasicAuth("user", "secret")).Host
	image := locked + "/mirror/app:1@" + digest
	cred := func(source, password string) registry.Credential {
		return registry.Credential{Source: source, ID: source, Auth: authn.FromConfig(authn.AuthConfig{Username: "user", Password: password})}
	}
	s := newTestSession(t, SessionOptions{Prefix: locked + "/mirror"}, host, locked)
	if c := s.CheckPull(context.Background(), host+"/mirror/app:1@"+digest, nil); c.Err != nil {
		t.Errorf("anonymous pull from an open mirror: %v", c.Err)
	}
	// Present the digest in the locked mirror, written past its lock.
	dst, _ := name.NewTag(locked+"/mirror/app:1", name.Insecure)
	src, _ := name.NewDigest(host+"/mirror/app@"+digest, name.Insecure)
	img, err := remote.Image(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(dst, img, remote.WithAuth(&authn.Basic{Username: "user", Password: "secret"})); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		creds  []registry.Credential
		denied bool
	}{
		{[]registry.Credential{cred("pod-secret ns/mirror-pull", "secret")}, false},
		{[]registry.Credential{cred("pod-secret ns/old", "wrong"), cred("service-account-secret ns/pull", "secret")}, false},
		{[]registry.Credential{cred(pullsecret.SourceLocalDockerConfig, "secret")}, true}, // a node has no docker config
		{nil, true},
	} {
		check := s.CheckPull(context.Background(), image, c.creds)
		if check.Denied() != c.denied || (c.denied == (check.Err == nil)) || check.Registry != locked || check.Image != image {
			t.Errorf("%d credentials: %+v, want denied %v", len(c.creds), check, c.denied)
		}
	}
}
