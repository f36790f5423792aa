//go:build e2e

package e2e

import (
	"context"
	"crypto/tls"
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/imgtrust/kubectl-imgtrust/hack/bench/load/loader"
	"github.com/imgtrust/kubectl-imgtrust/hack/bench/proxy/proxy"
	"github.com/imgtrust/kubectl-imgtrust/pkg/audit"
	"github.com/imgtrust/kubectl-imgtrust/pkg/provenance"
	"github.com/imgtrust/kubectl-imgtrust/test/fixture"
)

// benchProxy is the bench's latency proxy in front of one stack registry,
// served in-process with the stack's serving certificate (it names
// localhost and 127.0.0.1).
type benchProxy struct {
	*proxy.Proxy
	host string // localhost:PORT, as image references name it
}

func startBenchProxy(t *testing.T, registry string, latency time.Duration) benchProxy {
	t.Helper()
	pki := filepath.Dir(stack.CAFile)
	cert, err := tls.LoadX509KeyPair(filepath.Join(pki, "serving.crt"), filepath.Join(pki, "serving.key"))
	if err != nil {
		t.Fatalf("the stack's serving certificate: %v", err)
	}
	transport, err := stack.Transport()
	if err != nil {
		t.Fatal(err)
	}
	p := proxy.New(&url.URL{Scheme: "https", Host: registry}, latency, transport)
	srv := httptest.NewUnstartedServer(p)
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	u, _ := url.Parse(srv.URL)
	return benchProxy{Proxy: p, host: "localhost:" + u.Port()}
}

// TestBench100Pods is `make bench` at 100 pods, with the loader and proxy
// code the bench uses, so neither can rot: the synthetic cluster loads on a
// stack whose controller-manager runs, the offline audit sends nothing to the
// registries, and the online audit keeps the registry request budget of
// issue 8 as counted by the proxies, not by the plugin.
func TestBench100Pods(t *testing.T) {
	ctx := testContext(t)
	prefix := "bench-" + randomSuffix()
	priv := startBenchProxy(t, stack.Registry, 20*time.Millisecond)
	pub := startBenchProxy(t, stack.PublicRegistry, 20*time.Millisecond)

	start := time.Now()
	res, err := loader.Load(ctx, stack, kube, loader.Config{
		Pods: 100, PodsPerWorkload: 10, Namespaces: 2, Images: 10, Prefix: prefix,
		PrivateHost: priv.host, PublicHost: pub.host, ControllersRunning: true, Workers: 16, PushWorkers: 8,
	})
	t.Cleanup(func() {
		for i := range 2 {
			ns := loader.NamespaceName(prefix, i)
			_ = kube.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{})
		}
	})
	if err != nil {
		t.Fatalf("loading: %v", err)
	}
	if res.Pods != 100 || res.Workloads["DaemonSet"] != 10 {
		t.Fatalf("loaded %d pods and %v workloads, want 100 pods of 10 DaemonSets", res.Pods, res.Workloads)
	}
	t.Logf("loaded %d pods, %d containers, %d images in %s", res.Pods, res.Containers, len(res.Images), time.Since(start).Round(time.Millisecond))

	// The controllers must have left every pod alone.
	selector := loader.Label + "=" + prefix
	pods, err := kube.CoreV1().Pods("").List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		t.Fatal(err)
	}
	if len(pods.Items) != 100 {
		t.Fatalf("%d pods carry %s, want 100 (a controller created or deleted some)", len(pods.Items), selector)
	}

	digests := map[string]string{}
	for _, im := range res.Images {
		digests[im.Ref] = im.Digest
	}

	rep, r := auditJSON(t, "-A", "-l", selector, "--offline")
	mustSucceed(t, r, "audit --offline")
	if rep.Summary.Workloads != 10 || rep.Summary.Images != len(res.Images) {
		t.Errorf("offline audit: %d workloads, %d images, want 10 and %d", rep.Summary.Workloads, rep.Summary.Images, len(res.Images))
	}
	for _, it := range rep.Items {
		if it.Pods != 10 || len(it.RunningDigests) != 1 || it.RunningDigests[0] != digests[it.Image] {
			t.Errorf("%s/%s %s: %d pods running %v, want 10 running %s", it.Name, it.Container, it.Image, it.Pods, it.RunningDigests, digests[it.Image])
		}
	}
	for _, p := range []benchProxy{priv, pub} {
		if s := p.Snapshot(true); s.Total != 0 {
			t.Errorf("audit --offline sent %d registry requests through %s: %s", s.Total, p.host, s.Summary())
		}
	}

	start = time.Now()
	rep, r = auditJSON(t, "-A", "-l", selector)
	mustSucceed(t, r, "audit")
	t.Logf("online audit through the proxies (20ms a request): %s", time.Since(start).Round(time.Millisecond))
	for _, it := range rep.Items {
		if it.ResolvedDigest != digests[it.Image] {
			t.Errorf("%s/%s %s: resolved %q, want %s", it.Name, it.Container, it.Image, it.ResolvedDigest, digests[it.Image])
		}
	}
	checkRequestBudget(t, priv, res, true)
	checkRequestBudget(t, pub, res, false)

	// Signatures: sign two public images with the real cosign (a bundle and
	// a legacy .sig), then check every running digest with the key.
	dir := t.TempDir()
	key, pubKey, err := stack.CosignKeyPair(ctx, dir, "bench")
	if err != nil {
		t.Fatal(err)
	}
	var public []loader.Image
	for _, im := range res.Images {
		if !im.Private {
			public = append(public, im)
		}
	}
	signed := map[string]bool{}
	for i, im := range public[:2] {
		repo := strings.TrimPrefix(im.Ref[:strings.LastIndex(im.Ref, ":")], pub.host+"/")
		if err := stack.CosignSign(ctx, key, stack.PublicRegistry+"/"+repo+"@"+im.Digest, i == 1); err != nil {
			t.Fatal(err)
		}
		signed[im.Ref] = true
	}
	priv.Snapshot(true)
	pub.Snapshot(true)
	rep, r = auditJSON(t, "-A", "-l", selector, "--verify-key", pubKey)
	mustSucceed(t, r, "audit --verify-key")
	for _, it := range rep.Items {
		want := "unsigned"
		if signed[it.Image] {
			want = "verified"
		}
		if it.Signature == nil || string(it.Signature.Status) != want {
			t.Errorf("%s: signature %+v, want %s", it.Image, it.Signature, want)
		}
	}
	checkSignatureBudget(t, priv, res, true, nil)
	checkSignatureBudget(t, pub, res, false, signed)

	// Keyless: two more public images signed by a private CA's leaf (a
	// bundle and a legacy .sig). Checking every running digest keylessly
	// costs what the keyed check costs, the signature artifacts: no request
	// to a log or a CA, nothing per certificate.
	if len(public) < 4 {
		t.Fatalf("%d public images, want at least 4", len(public))
	}
	const issuer, subject = "https://token.actions.githubusercontent.com", "https://github.com/acme/bench/.github/workflows/release.yaml@refs/heads/main"
	ca, err := fixture.NewKeylessCA(filepath.Join(dir, "ca"))
	if err != nil {
		t.Fatal(err)
	}
	trustedRoot, err := stack.TrustedRoot(ctx, dir, ca)
	if err != nil {
		t.Fatal(err)
	}
	leafKey, leafCert, err := ca.Leaf(filepath.Join(dir, "leaf"), "bench", issuer, subject)
	if err != nil {
		t.Fatal(err)
	}
	keyless := map[string]bool{}
	for i, im := range public[2:4] {
		ref := stack.PublicRegistry + "/" + strings.TrimPrefix(im.Ref[:strings.LastIndex(im.Ref, ":")], pub.host+"/") + "@" + im.Digest
		sign := stack.CosignSignKeyless
		if i == 1 {
			sign = stack.CosignSignKeylessLegacy
		}
		if err := sign(ctx, leafKey, leafCert, ca.CertPath, ref); err != nil {
			t.Fatal(err)
		}
		keyless[im.Ref] = true
	}
	priv.Snapshot(true)
	pub.Snapshot(true)
	rep, r = auditJSON(t, "-A", "-l", selector, "--trusted-root", trustedRoot, "--certificate-identity", subject,
		"--certificate-oidc-issuer", issuer, "--insecure-ignore-tlog", "--insecure-ignore-sct")
	mustSucceed(t, r, "audit --certificate-identity")
	withSignatures := map[string]bool{}
	for _, it := range rep.Items {
		want := "unsigned"
		switch {
		case keyless[it.Image]:
			want = "verified"
		case signed[it.Image]:
			want = "other-key" // the key's signatures, not the identity's
		}
		if it.Signature == nil || string(it.Signature.Status) != want {
			t.Errorf("keyless %s: signature %+v, want %s", it.Image, it.Signature, want)
		}
		if want != "unsigned" {
			withSignatures[it.Image] = true
		}
	}
	checkSignatureBudget(t, priv, res, true, nil)
	checkSignatureBudget(t, pub, res, false, withSignatures)

	checkAttestationBudget(t, priv, pub, res, selector, public, key, pubKey, dir)

	// Provenance and updates: at most 5 requests per unique digest (here a
	// manifest and its config), one tag listing per repository, and the
	// report's cost is what the proxies served.
	rep, r = auditJSON(t, "-A", "-l", selector, "--provenance", "--updates")
	mustSucceed(t, r, "audit --provenance --updates")
	reads, listings := 0, 0
	for _, p := range []benchProxy{priv, pub} {
		private := p == priv
		s := p.Snapshot(true)
		t.Logf("%s with --provenance --updates: %s", p.host, s.Summary())
		digests, repos := 0, map[string]bool{}
		for _, im := range res.Images {
			if im.Private == private {
				digests++
				repos[im.Ref[:strings.LastIndex(im.Ref, ":")]] = true
			}
		}
		gets := s.ByKind[http.MethodGet+" "+proxy.KindManifest] + s.ByKind[http.MethodGet+" "+proxy.KindBlob]
		if gets > 5*digests {
			t.Errorf("%s: %d provenance GETs for %d digests, want at most 5 each", p.host, gets, digests)
		}
		if n := s.Kind(proxy.KindTags); n != len(repos) {
			t.Errorf("%s: %d tag listings for %d repositories, want exactly one each", p.host, n, len(repos))
		}
		reads += gets
		listings += s.Kind(proxy.KindTags)
	}
	if c := rep.Summary.Cost; c == nil || c.Provenance == nil || c.Updates == nil || c.Provenance.Requests != reads || c.Updates.Requests != listings {
		t.Errorf("the report's cost %+v is not what the proxies served (%d reads, %d listings)", rep.Summary.Cost, reads, listings)
	}
	for _, it := range rep.Items {
		if it.Provenance == nil || it.Provenance.Error != "" || it.Updates == nil {
			t.Errorf("%s: provenance %+v, updates %+v", it.Image, it.Provenance, it.Updates)
		}
	}

	checkCachedRunBudget(t, priv, pub, res, selector, pubKey)
}

// checkCachedRunBudget asserts issue 32's budget of a repeated run: the
// second `audit --verify-key --provenance --updates` with the first one's
// --cache-dir sends only a manifest HEAD per tag and a listing per
// repository (and the pings and tokens they need), and reports what the
// first did; with --no-cache it sends what the first (cold) run sent.
func checkCachedRunBudget(t *testing.T, priv, pub benchProxy, res *loader.Result, selector, pubKey string) {
	t.Helper()
	args := []string{"-A", "-l", selector, "--verify-key", pubKey, "--provenance", "--updates"}
	cacheDir := t.TempDir()
	var last result
	run := func(what string, extra ...string) (audit.Report, map[bool]proxy.Stats) {
		priv.Snapshot(true)
		pub.Snapshot(true)
		start := time.Now()
		rep, r := auditJSON(t, append(append([]string{}, args...), extra...)...)
		if r.Code != 0 && r.Code != 1 {
			t.Fatalf("audit %s: %s", what, r)
		}
		last = r
		stats := map[bool]proxy.Stats{true: priv.Snapshot(true), false: pub.Snapshot(true)}
		t.Logf("%s: %s; %s: %s; %s: %s", what, time.Since(start).Round(time.Millisecond),
			priv.host, stats[true].Summary(), pub.host, stats[false].Summary())
		return rep, stats
	}
	first, cold := run("--cache-dir, first run", "--cache-dir", cacheDir)
	second, warm := run("--cache-dir, second run", "--cache-dir", cacheDir)
	_, uncached := run("--no-cache", "--no-cache")
	statusOf, imageDigests := map[string]string{}, map[string]bool{}
	for _, im := range res.Images {
		imageDigests[im.Digest] = true
	}
	for _, it := range first.Items {
		if it.Signature != nil {
			statusOf[it.Image] = string(it.Signature.Status)
		}
	}

	for _, private := range []bool{true, false} {
		p := pub
		if private {
			p = priv
		}
		tags, repos := map[string]bool{}, map[string]bool{}
		for _, im := range res.Images {
			if im.Private == private {
				path := strings.TrimPrefix(im.Ref, p.host+"/")
				tags[path] = true
				repos[path[:strings.LastIndex(path, ":")]] = true
			}
		}
		s := warm[private]
		// A verdict a new signature could change (unsigned, another key)
		// is never kept: those digests' signature lookups (cosign's
		// sha256-HEX tags, the referrers) are asked again, nothing else.
		unvouched, vouchedHere := map[string]bool{}, 0
		for _, im := range res.Images {
			if im.Private != private {
				continue
			}
			if st := statusOf[im.Ref]; st == "verified" || st == "unverified" {
				vouchedHere++
			} else {
				unvouched["sha256-"+strings.TrimPrefix(im.Digest, "sha256:")] = true
			}
		}
		for ref, n := range s.Manifests {
			switch {
			case tags[ref]:
			case strings.Contains(ref, ":sha256-"):
				// cosign's tags of a digest: only an unvouched one's.
				at := strings.LastIndex(ref, ":sha256-")
				if !unvouched[strings.TrimSuffix(strings.TrimSuffix(ref[at+1:], ".sig"), ".att")] {
					t.Errorf("second run %s: %d requests for %s, a signature lookup of a digest whose verdict was kept", p.host, n, ref)
				}
			case strings.Contains(ref, "@sha256:"):
				// A signature manifest of an unvouched digest; never a
				// pod's own manifest (provenance and indexes are kept).
				if imageDigests[ref[strings.LastIndex(ref, "@")+1:]] {
					t.Errorf("second run %s: %d requests for %s, an image's own manifest (its facts were kept)", p.host, n, ref)
				}
			default:
				t.Errorf("second run %s: %d manifest requests for %s, want none but the pods' tags and the unvouched digests' signature lookups", p.host, n, ref)
			}
		}
		for ref := range tags {
			if n := s.Manifests[ref]; n != 1 {
				t.Errorf("second run %s/%s: %d manifest requests, want exactly 1 (its HEAD)", p.host, ref, n)
			}
		}
		if len(unvouched) == 0 {
			if n := s.ByKind[http.MethodGet+" "+proxy.KindManifest]; n != 0 {
				t.Errorf("second run %s: %d manifest GETs, want none", p.host, n)
			}
			if n := s.Kind(proxy.KindBlob) + s.Kind(proxy.KindOther); n != 0 {
				t.Errorf("second run %s: %d blob and referrers requests, want none", p.host, n)
			}
		}
		for _, kind := range []string{proxy.KindBlob, proxy.KindOther} {
			if a, b := cold[private].Kind(kind), s.Kind(kind); b > a {
				t.Errorf("second run %s: %d %s requests, more than the first run's %d", p.host, b, kind, a)
			}
		}
		t.Logf("second run %s: %d digests' verdicts kept, %d asked again (unsigned or another key)", p.host, vouchedHere, len(unvouched))
		if n := s.Kind(proxy.KindTags); n != len(repos) {
			t.Errorf("second run %s: %d tag listings for %d repositories, want exactly one each", p.host, n, len(repos))
		}
		if n := s.Kind(proxy.KindToken); n > len(repos) {
			t.Errorf("second run %s: %d token requests for %d repositories, want at most one each", p.host, n, len(repos))
		}
		// Without the cache: what a cold run sends, kind by kind (pings
		// and tokens aside, which depend on timing).
		for _, kind := range []string{proxy.KindManifest, proxy.KindBlob, proxy.KindTags, proxy.KindOther} {
			if a, b := cold[private].Kind(kind), uncached[private].Kind(kind); a != b {
				t.Errorf("--no-cache %s: %d %s requests, the first run with an empty cache %d: want the same", p.host, b, kind, a)
			}
		}
		if warm[private].Total >= cold[private].Total {
			t.Errorf("%s: the second run sent %d requests, the first %d: the cache saved nothing", p.host, warm[private].Total, cold[private].Total)
		}
	}
	// The cached run reports what the first one read.
	byImage := map[string]audit.Item{}
	for _, it := range first.Items {
		byImage[it.Image] = it
	}
	for _, it := range second.Items {
		was := byImage[it.Image]
		if it.Signature == nil || was.Signature == nil || it.Signature.Status != was.Signature.Status {
			t.Errorf("%s: signature %+v from the cache, %+v read", it.Image, it.Signature, was.Signature)
		}
		if it.Provenance == nil || was.Provenance == nil || it.Provenance.Source != was.Provenance.Source ||
			it.Provenance.Created != was.Provenance.Created || it.Provenance.Verified != was.Provenance.Verified || it.Provenance.Error != "" {
			t.Errorf("%s: provenance %+v from the cache, %+v read", it.Image, it.Provenance, was.Provenance)
		}
		if it.Updates == nil || was.Updates == nil || *it.Updates != *was.Updates {
			t.Errorf("%s: updates %+v, first run %+v", it.Image, it.Updates, was.Updates)
		}
	}
	if c := second.Summary.Cost; c == nil || c.Provenance == nil || c.Provenance.Requests != 0 {
		t.Errorf("second run: provenance cost %+v, want 0 requests (all from the cache)", c)
	}

	// Every entry truncated, as a crash or a full disk would leave it: the
	// run warns once, asks the registry as a cold run does, reports the
	// same, and rewrites the entries, so the next run is warm again.
	entries := 0
	err := filepath.WalkDir(cacheDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".json") {
			return err
		}
		entries++
		return os.Truncate(p, 10)
	})
	if err != nil || entries == 0 {
		t.Fatalf("truncating the %d cache entries: %v", entries, err)
	}
	broken, fromBroken := run("--cache-dir, every entry truncated", "--cache-dir", cacheDir)
	if n := strings.Count(last.Stderr, "warning: cache: ignoring"); n != 1 {
		t.Errorf("%d warnings about the %d truncated entries, want one:\n%s", n, entries, last.Stderr)
	}
	for _, line := range strings.Split(last.Stderr, "\n") {
		if strings.HasPrefix(line, "warning: cache") {
			t.Logf("%d entries truncated: %s", entries, line)
		}
	}
	for _, private := range []bool{true, false} {
		if a, b := cold[private].Kind(proxy.KindManifest), fromBroken[private].Kind(proxy.KindManifest); a != b {
			t.Errorf("with truncated entries: %d manifest requests, a cold run %d", b, a)
		}
	}
	for i, it := range broken.Items {
		if it.Signature == nil || first.Items[i].Signature == nil || it.Signature.Status != first.Items[i].Signature.Status {
			t.Errorf("%s: with truncated entries signature %+v, first run %+v", it.Image, it.Signature, first.Items[i].Signature)
		}
	}
	_, rewarmed := run("--cache-dir, after the rewrite", "--cache-dir", cacheDir)
	for _, private := range []bool{true, false} {
		s, w := rewarmed[private], warm[private]
		if a, b := s.Kind(proxy.KindBlob)+s.ByKind[http.MethodGet+" "+proxy.KindManifest], w.Kind(proxy.KindBlob)+w.ByKind[http.MethodGet+" "+proxy.KindManifest]; a != b {
			t.Errorf("after the rewrite: %s, want what the second run sent (%s)", s.Summary(), w.Summary())
		}
	}
	if strings.Contains(last.Stderr, "warning: cache") {
		t.Errorf("the rewritten cache still warns:\n%s", last.Stderr)
	}
}

// checkSignatureBudget asserts the signatures issue's budget on one
// registry, on top of one manifest HEAD per reference for the resolution:
// presence costs the .sig tag and one referrers lookup per digest (the
// fallback tag on a registry without the API, plus the requests that
// learn it has none), and each signature read a manifest and a blob. The
// .sig and fallback tags are read with a GET, whose 404 says absent as a
// HEAD's does: one request where a HEAD and a GET were two. (On Docker Hub,
// which counts a manifest GET as a pull, they are HEADed first.)
func checkSignatureBudget(t *testing.T, p benchProxy, res *loader.Result, private bool, signed map[string]bool) {
	t.Helper()
	s := p.Snapshot(true)
	t.Logf("%s with --verify-key: %s", p.host, s.Summary())
	digests := 0
	for _, im := range res.Images {
		if im.Private == private {
			digests++
		}
	}
	manifestGETs := s.ByKind[http.MethodGet+" "+proxy.KindManifest]
	// Per digest the .sig tag and the fallback index (a 404 where absent);
	// per signed digest the bundle manifest, i.e. at most 2 manifest GETs
	// per digest and 1 more per signed one.
	if manifestGETs > 2*digests+len(signed) {
		t.Errorf("%s: %d manifest GETs for %d digests, %d signed, want at most 2 each and 1 more per signed one", p.host, manifestGETs, digests, len(signed))
	}
	// Resolution HEADs only (1 per reference); one referrers API request
	// per host learns it has none.
	heads := s.ByKind[http.MethodHead+" "+proxy.KindManifest]
	if heads > digests {
		t.Errorf("%s: %d manifest HEADs for %d digests, want at most 1 each (the resolution)", p.host, heads, digests)
	}
	// Manifest requests in all: at most 3 per digest and 1 per signed one
	// (3 per digest and 2 per signed one while the tags were HEADed first).
	if n := heads + manifestGETs; n > 3*digests+len(signed) {
		t.Errorf("%s: %d manifest requests for %d digests, %d signed, want at most 3 each and 1 more per signed one", p.host, n, digests, len(signed))
	}
	if n := s.Kind(proxy.KindOther); n > 1 {
		t.Errorf("%s: %d referrers API requests, want the host's lack of it learned once", p.host, n)
	}
	if n := s.Kind(proxy.KindBlob); n > 2*len(signed) {
		t.Errorf("%s: %d blob requests for %d signed digests, want at most 2 each", p.host, n, len(signed))
	}
}

// checkRequestBudget asserts issue 8's targets on one registry: exactly one
// manifest request per unique reference (every namespace's pull secret holds
// the same credential, and the public images have only the anonymous one),
// and at most one token request per repository.
func checkRequestBudget(t *testing.T, p benchProxy, res *loader.Result, private bool) {
	t.Helper()
	s := p.Snapshot(true)
	t.Logf("%s: %s", p.host, s.Summary())
	want := map[string]bool{}
	repos := map[string]bool{}
	for _, im := range res.Images {
		if im.Private != private {
			continue
		}
		path := strings.TrimPrefix(im.Ref, p.host+"/")
		want[path] = true
		repos[path[:strings.LastIndex(path, ":")]] = true
	}
	for ref := range want {
		if n := s.Manifests[ref]; n != 1 {
			t.Errorf("%s/%s: %d manifest requests, want exactly 1", p.host, ref, n)
		}
	}
	for ref, n := range s.Manifests {
		if !want[ref] {
			t.Errorf("%s/%s: %d manifest requests for a reference no pod uses", p.host, ref, n)
		}
	}
	if n := s.Kind(proxy.KindManifest); n != len(want) {
		t.Errorf("%s: %d manifest requests, want %d", p.host, n, len(want))
	}
	if n := s.Kind(proxy.KindToken); n > len(repos) {
		t.Errorf("%s: %d token requests for %d repositories, want at most one each", p.host, n, len(repos))
	}
	if n := s.Kind(proxy.KindBlob); n != 0 {
		t.Errorf("%s: %d blob requests, want none (a digest needs only the manifest)", p.host, n)
	}
	// The ping's answer depends on neither repository nor credential.
	if n := s.Kind(proxy.KindPing); n != 1 {
		t.Errorf("%s: %d pings for %d repositories, want 1 per registry", p.host, n, len(repos))
	}
	if got := s.ByKind[http.MethodGet+" "+proxy.KindManifest]; got != 0 {
		t.Errorf("%s: %d manifest GETs, want HEADs only", p.host, got)
	}
}

// checkAttestationBudget attaches attestations with the real cosign to
// three public images (a vulnerability scan and SLSA provenance as bundles
// to one, as a legacy .att with an OpenVEX document to another, a
// vulnerability scan, an SPDX SBOM and an OpenVEX document to a third) and asserts issue 27's budget against a --verify-key run of the
// same state: reading attestations adds, per unique digest, the .att tag
// (a GET, whose 404 says absent; HEADed first only on Docker Hub),
// and at most one manifest and one blob per attestation kind asked for and
// attached; with --provenance too, on top of what the provenance stage
// reports it read.
func checkAttestationBudget(t *testing.T, priv, pub benchProxy, res *loader.Result, selector string, public []loader.Image, key, pubKey, dir string) {
	t.Helper()
	ctx := testContext(t)
	if len(public) < 5 {
		t.Fatalf("%d public images, want at least 5", len(public))
	}
	vulnFile, slsaFile := filepath.Join(dir, "vuln.json"), filepath.Join(dir, "slsa.json")
	writeFile(t, vulnFile, vulnPredicate(trivyJSON))
	writeFile(t, slsaFile, slsaPredicate)
	kinds := map[string][]string{} // image reference: the cosign --type of each attached
	spdxFile := filepath.Join(dir, "spdx.json")
	writeFile(t, spdxFile, `{"spdxVersion":"SPDX-2.3","SPDXID":"SPDXRef-DOCUMENT","name":"bench","packages":[]}`)
	for i, types := range map[int][]string{0: {"vuln", "slsaprovenance1"}, 1: {"vuln", "slsaprovenance1", "openvex"}, 4: {"vuln", "spdxjson", "openvex"}} {
		im := public[i]
		ref := stack.PublicRegistry + "/" + strings.TrimPrefix(im.Ref[:strings.LastIndex(im.Ref, ":")], pub.host+"/") + "@" + im.Digest
		vexFile := filepath.Join(dir, fmt.Sprintf("vex-%d.json", i))
		writeFile(t, vexFile, vexPredicate(ref, "CVE-2026-0003"))
		for _, typ := range types {
			predicate := map[string]string{"vuln": vulnFile, "slsaprovenance1": slsaFile, "spdxjson": spdxFile, "openvex": vexFile}[typ]
			if err := stack.CosignAttest(ctx, key, ref, predicate, typ, i == 1); err != nil {
				t.Fatal(err)
			}
		}
		kinds[im.Ref] = types
	}
	digests := func(private bool) int {
		n := 0
		for _, im := range res.Images {
			if im.Private == private {
				n++
			}
		}
		return n
	}
	// attached counts the attestations asked for and attached, per registry.
	attached := func(private bool, asked ...string) int {
		n := 0
		for _, im := range res.Images {
			if im.Private == private {
				for _, k := range kinds[im.Ref] {
					n += len(slices.DeleteFunc(slices.Clone(asked), func(a string) bool { return a != k }))
				}
			}
		}
		return n
	}
	type counts struct{ heads, manifestGETs, blobs int }
	measure := func(p benchProxy, what string) counts {
		s := p.Snapshot(true)
		t.Logf("%s with %s: %s", p.host, what, s.Summary())
		return counts{s.ByKind[http.MethodHead+" "+proxy.KindManifest], s.ByKind[http.MethodGet+" "+proxy.KindManifest], s.Kind(proxy.KindBlob)}
	}
	priv.Snapshot(true)
	pub.Snapshot(true)
	_, r := auditJSON(t, "-A", "-l", selector, "--verify-key", pubKey)
	mustSucceed(t, r, "audit --verify-key")
	base := map[bool]counts{true: measure(priv, "--verify-key"), false: measure(pub, "--verify-key")}

	for _, run := range []struct {
		args  []string
		asked []string
	}{
		{[]string{"--vulnerabilities"}, []string{"vuln", "spdxjson", "openvex"}},
		{[]string{"--provenance", "--vulnerabilities"}, []string{"vuln", "spdxjson", "slsaprovenance1", "openvex"}},
	} {
		what := strings.Join(run.args, " ") + " --verify-key"
		rep, r := auditJSON(t, append([]string{"-A", "-l", selector, "--verify-key", pubKey}, run.args...)...)
		if r.Code != 0 && r.Code != 1 {
			t.Fatalf("audit %s: %s", what, r)
		}
		extraGETs := 0
		for _, private := range []bool{true, false} {
			p := pub
			if private {
				p = priv
			}
			got, b := measure(p, what), base[private]
			n, k := digests(private), attached(private, run.asked...)
			if d := got.heads - b.heads; d > 0 {
				t.Errorf("%s %s: %d more manifest HEADs than --verify-key, want none (the .att tag is read with a GET off Docker Hub)", what, p.host, d)
			}
			withProvenance := slices.Contains(run.args, "--provenance") // its reads are checked below, with both registries'
			if d := got.blobs - b.blobs; !withProvenance && d > k {
				t.Errorf("%s %s: %d more blob GETs than --verify-key, want at most %d (1 per attestation asked for and attached)", what, p.host, d, k)
			}
			if d := got.manifestGETs - b.manifestGETs; !withProvenance && d > n+k {
				t.Errorf("%s %s: %d more manifest GETs than --verify-key for %d digests, want at most %d (the .att tag and 1 per attestation asked for and attached)", what, p.host, d, n, n+k)
			}
			// The .att tags' GETs are presence, not the attestations' reads.
			extraGETs += got.manifestGETs - b.manifestGETs + got.blobs - b.blobs - n
			t.Logf("%s %s: +%d HEADs, +%d manifest GETs, +%d blobs over --verify-key; %d digests, %d attestations asked for and attached",
				what, p.host, got.heads-b.heads, got.manifestGETs-b.manifestGETs, got.blobs-b.blobs, n, k)
		}
		if slices.Contains(run.args, "--provenance") {
			// The provenance stage's own reads are in the report's cost;
			// what is left is the attestations'.
			c := rep.Summary.Cost
			if c == nil || c.Provenance == nil {
				t.Fatalf("%s: no provenance cost in the report", what)
			}
			k := attached(false, run.asked...) + attached(true, run.asked...)
			if extraGETs-c.Provenance.Requests > 2*k {
				t.Errorf("%s: %d more GETs than --verify-key, %d of them provenance's: want at most %d for the attestations (a manifest and a blob each)", what, extraGETs, c.Provenance.Requests, 2*k)
			}
			t.Logf("%s: %d more GETs than --verify-key on both registries, %d of them the provenance stage's; %d attestations asked for and attached", what, extraGETs, c.Provenance.Requests, k)
		}
		for _, it := range rep.Items {
			v := it.Vulnerabilities
			if len(kinds[it.Image]) == 0 {
				continue
			}
			// A verified VEX marks one high (CVE-2026-0003) not_affected.
			high := 2
			if slices.Contains(kinds[it.Image], "openvex") {
				high = 1
			}
			if v == nil || v.Verified == nil || !*v.Verified || v.Counts == nil || v.Counts.Critical != 1 || v.Counts.High != high {
				t.Errorf("%s %s: vulnerabilities %+v, want the verified attestation's 1 critical, %d high", what, it.Image, v, high)
			}
			if slices.Contains(kinds[it.Image], "openvex") && (v == nil || v.VEX == nil || !v.VEX.Verified || strings.Join(v.VEX.Excluded, ",") != "CVE-2026-0003") {
				t.Errorf("%s %s: vex %+v, want the verified VEX excluding CVE-2026-0003", what, it.Image, v)
			}
			if slices.Contains(run.args, "--provenance") && slices.Contains(kinds[it.Image], "slsaprovenance1") &&
				(it.Provenance == nil || !it.Provenance.Verified || it.Provenance.From != provenance.FromCosign) {
				t.Errorf("%s %s: provenance %+v, want the verified cosign SLSA attestation", what, it.Image, it.Provenance)
			}
		}
	}
}
