package pipeline

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/imgtrust/kubectl-imgtrust/internal/testregistry"
	"github.com/imgtrust/kubectl-imgtrust/pkg/audit"
	"github.com/imgtrust/kubectl-imgtrust/pkg/factcache"
	"github.com/imgtrust/kubectl-imgtrust/pkg/imageref"
	"github.com/imgtrust/kubectl-imgtrust/pkg/registry"
	"github.com/imgtrust/kubectl-imgtrust/pkg/signature"
	"github.com/imgtrust/kubectl-imgtrust/pkg/trustpolicy"
	"github.com/imgtrust/kubectl-imgtrust/pkg/workload"
)

// factsFixture is a registry with a single image and an index whose pods
// run a platform manifest, audited with signatures, provenance and updates.
type factsFixture struct {
	reg   *testregistry.Registry
	found *workload.Discovery
}

func newFactsFixture(t *testing.T) factsFixture {
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	reg := testregistry.New(t)
	single := reg.PushImage(t, "app:1.0.0")
	reg.PushImage(t, "app:1.1.0")
	_, kids := reg.PushIndex(t, "multi:2.0.0", types.OCIImageIndex, "linux/amd64", "linux/arm64")
	deploy := func(name, image, repo, run string) workload.Workload {
		return workload.Workload{
			Object: workload.Object{Kind: "Deployment", Namespace: "shop", Name: name},
			Pods:   1,
			Containers: []workload.Usage{{
				ContainerSpec: workload.ContainerSpec{Name: "app", Type: workload.Container, Image: image},
				Running:       []imageref.RunningImage{{ImageID: repo + "@" + run, Digest: run, Kind: imageref.KindManifest, Repository: repo}},
			}},
		}
	}
	app, multi := reg.Host+"/app", reg.Host+"/multi"
	return factsFixture{reg: reg, found: &workload.Discovery{Workloads: []workload.Workload{
		deploy("web", app+":1.0.0", app, single.String()),
		deploy("arm", multi+":2.0.0", multi, kids["linux/arm64"].String()),
	}}}
}

// audit runs the registry stage with a fresh resolver (a new run) and the
// given cache, and returns the items and the registry's requests.
func (f factsFixture) audit(t *testing.T, facts *factcache.Cache) ([]audit.Item, []testregistry.Request) {
	t.Helper()
	checker, err := signature.New(signature.Options{Attestations: func(string) bool { return true }})
	if err != nil {
		t.Fatal(err)
	}
	authorities, ok := SignatureConfig{}.FactsKey("provenance")
	if !ok {
		t.Fatal("no facts key for presence checks")
	}
	r, err := registry.New(registry.Options{Insecure: []string{f.reg.Host}})
	if err != nil {
		t.Fatal(err)
	}
	items := audit.Evaluate(f.found.Workloads, audit.Options{})
	f.reg.Reset()
	stage := AuditStage{Resolver: r, Concurrency: 2, Signatures: signature.ForAll(checker), Provenance: true, Updates: true,
		Facts: facts, FactsAuthorities: authorities}
	stage.Run(context.Background(), fake.NewClientset(), f.found, items)
	return items, f.reg.Hits()
}

// TestFactsSecondRunAsksOnlyTags: a second run with the cache sends only
// the tag HEADs and tag listings, and reports what the first did; without
// the cache it sends what the first run sent.
func TestFactsSecondRunAsksOnlyTags(t *testing.T) {
	f := newFactsFixture(t)
	cache := factcache.Open(t.TempDir(), factcache.Options{Version: "test"})
	first, firstReqs := f.audit(t, cache)
	second, secondReqs := f.audit(t, cache)
	_, uncached := f.audit(t, nil)

	// The fixture's digests are unsigned, a verdict never kept (a
	// signature may be added before the next run): their signature
	// lookups are asked again, and nothing else but the tags.
	sigLookups := 0
	for _, r := range secondReqs {
		tagHead := r.Method == http.MethodHead && strings.Contains(r.Path, "/manifests/") && !strings.Contains(r.Path, "sha256")
		tagList := r.Method == http.MethodGet && strings.HasSuffix(r.Path, "/tags/list")
		// The .sig, .att and referrers tags: a GET off Docker Hub.
		sigLookup := ((r.Method == http.MethodHead || r.Method == http.MethodGet) && strings.Contains(r.Path, "/manifests/sha256-")) ||
			(r.Method == http.MethodGet && strings.Contains(r.Path, "/referrers/"))
		if sigLookup {
			sigLookups++
		}
		if !tagHead && !tagList && !sigLookup {
			t.Errorf("second run sent %s, want only tag HEADs, tag lists and the unsigned digests' signature lookups", r)
		}
	}
	if sigLookups == 0 {
		t.Error("second run: no signature lookup of the unsigned digests: an unsigned verdict was kept between runs")
	}
	if n := f.reg.Count(http.MethodGet, "/tags/list"); n != 2 {
		t.Errorf("second run would not list tags: %d listings seen last (uncached) run, want 2", n)
	}
	count := func(reqs []testregistry.Request, method, path string) int {
		n := 0
		for _, r := range reqs {
			if r.Method == method && strings.Contains(r.Path, path) {
				n++
			}
		}
		return n
	}
	if n := count(secondReqs, http.MethodHead, "/manifests/") - count(secondReqs, http.MethodHead, "/manifests/sha256-"); n != 2 {
		t.Errorf("second run: %d tag HEADs, want one per tag (2)", n)
	}
	if n := count(secondReqs, http.MethodGet, "/tags/list"); n != 2 {
		t.Errorf("second run: %d tag listings, want one per repository (2)", n)
	}
	t.Logf("requests: first run %d, second %d, without the cache %d", len(firstReqs), len(secondReqs), len(uncached))
	if len(firstReqs) <= len(secondReqs) {
		t.Errorf("first run sent %d requests, second %d: nothing was saved", len(firstReqs), len(secondReqs))
	}
	if len(uncached) != len(firstReqs) {
		t.Errorf("without the cache %d requests, the first run %d: want the same", len(uncached), len(firstReqs))
	}
	for i := range first {
		a, b := first[i], second[i]
		if a.Signature == nil || b.Signature == nil || a.Signature.Status != b.Signature.Status {
			t.Errorf("%s: signature %+v, then from the cache %+v", a.Name, a.Signature, b.Signature)
		}
		if a.Provenance == nil || b.Provenance == nil || a.Provenance.Digest != b.Provenance.Digest || a.Provenance.Created != b.Provenance.Created || a.Provenance.Note != b.Provenance.Note {
			t.Errorf("%s: provenance %+v, then from the cache %+v", a.Name, a.Provenance, b.Provenance)
		}
		if b.Provenance != nil && b.Provenance.Requests != 0 {
			t.Errorf("%s: a cached provenance says it cost %d requests", b.Name, b.Provenance.Requests)
		}
		if strings.Join(findingIDs(a), ",") != strings.Join(findingIDs(b), ",") {
			t.Errorf("%s: findings %v, then %v", a.Name, findingIDs(a), findingIDs(b))
		}
	}
}

func findingIDs(it audit.Item) []string {
	var ids []string
	for _, f := range it.Findings {
		ids = append(ids, f.ID)
	}
	return ids
}

// TestFactsFailuresAreNotKept: a lookup that failed is asked again next
// run, and its failure is not reported from the cache.
func TestFactsFailuresAreNotKept(t *testing.T) {
	f := newFactsFixture(t)
	cache := factcache.Open(t.TempDir(), factcache.Options{Version: "test"})
	f.reg.Set(func(h *testregistry.Hooks) {
		h.Fault = func(w http.ResponseWriter, r *http.Request) bool {
			if strings.Contains(r.URL.Path, "/blobs/") || strings.HasSuffix(r.URL.Path, ".sig") {
				http.Error(w, `{"errors":[{"code":"DENIED","message":"no"}]}`, http.StatusForbidden)
				return true
			}
			return false
		}
	})
	failed, _ := f.audit(t, cache)
	for _, it := range failed {
		if it.Signature == nil || it.Signature.Status != signature.StatusLookupFailed {
			t.Fatalf("%s: signature %+v, want lookup-failed under the fault", it.Name, it.Signature)
		}
	}
	f.reg.Set(func(h *testregistry.Hooks) { h.Fault = nil })
	again, reqs := f.audit(t, cache)
	sigs, blobs := 0, 0
	for _, r := range reqs {
		if strings.HasSuffix(r.Path, ".sig") {
			sigs++
		}
		if strings.Contains(r.Path, "/blobs/") {
			blobs++
		}
	}
	if sigs == 0 || blobs == 0 {
		t.Errorf("after failures, the next run read %d .sig tags and %d blobs: a failure was kept", sigs, blobs)
	}
	for _, it := range again {
		if it.Signature == nil || it.Signature.Status != signature.StatusUnsigned {
			t.Errorf("%s: signature %+v, want unsigned once the registry answers", it.Name, it.Signature)
		}
	}
}

// TestFactsKey: the authorities' key changes with a key file's content and
// the attestations asked for; in-cluster authorities are not cached.
func TestFactsKey(t *testing.T) {
	dir := t.TempDir()
	key := filepath.Join(dir, "cosign.pub")
	if err := os.WriteFile(key, []byte("one"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := SignatureConfig{VerifyKeys: []string{key}}
	a, ok := cfg.FactsKey("provenance")
	if !ok {
		t.Fatal("no key for a key file")
	}
	if b, _ := cfg.FactsKey("provenance"); a != b {
		t.Error("the same authorities give another key")
	}
	if b, _ := cfg.FactsKey("provenance", "vulnerabilities"); a == b {
		t.Error("asking for more attestation kinds keeps the key")
	}
	if err := os.WriteFile(key, []byte("two"), 0o600); err != nil {
		t.Fatal(err)
	}
	if b, _ := cfg.FactsKey("provenance"); a == b {
		t.Error("a key file's new content keeps the key")
	}
	if _, ok := (SignatureConfig{VerifyKeys: []string{filepath.Join(dir, "missing.pub")}}).FactsKey(); ok {
		t.Error("an unreadable key file has a key")
	}
	if _, ok := (SignatureConfig{TrustPolicy: ClusterTrustPolicy}).FactsKey(); ok {
		t.Error("--trust-policy=cluster has a key: the cluster's policies change without us")
	}
	policy := filepath.Join(dir, "policy.yaml")
	if err := os.WriteFile(policy, []byte("apiVersion: imgtrust.dev/v1alpha1\nkind: TrustPolicy\nrules:\n- images: [\"**\"]\n  keys: [\"k8s://imgtrust/key\"]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := trustpolicy.Load(policy); err != nil {
		t.Fatal(err)
	}
	if _, ok := (SignatureConfig{TrustPolicy: policy}).FactsKey(); ok {
		t.Error("a policy with k8s:// keys has a key: the Secret changes without us")
	}
}

// TestCredIdentity: the cache's identity of a credential follows its
// content, not the secret that holds it, and never holds the password.
func TestCredIdentity(t *testing.T) {
	s := AuditStage{Facts: factcache.Open(t.TempDir(), factcache.Options{Version: "test"})}
	basic := func(source, id, pass string) registry.Credential {
		return registry.Credential{Source: source, ID: id, Auth: &authn.Basic{Username: "u", Password: pass}}
	}
	a, okA := s.credIdentity(basic("pod-secret shop/a", "id-1", "hunter2"))
	b, okB := s.credIdentity(basic("pod-secret web/b", "id-2", "hunter2"))
	c, _ := s.credIdentity(basic("pod-secret shop/a", "id-1", "rotated"))
	anon, _ := s.credIdentity(registry.Anonymous)
	if !okA || !okB || a != b {
		t.Errorf("one login in two secrets: identities %q and %q, want one", a, b)
	}
	if a == c {
		t.Error("a rotated password keeps the identity: a verdict read with the old one would be reused")
	}
	if anon != "anonymous" || a == anon || strings.Contains(a, "hunter2") {
		t.Errorf("identities %q (anonymous %q)", a, anon)
	}
}

// TestOnlyVouchedVerdictsAreKept: a verdict that a new signature or
// attestation could change (unsigned, another key, a required attestation
// missing) is never kept between runs; verified and present ones are.
func TestOnlyVouchedVerdictsAreKept(t *testing.T) {
	missing := []signature.Required{{Status: signature.RequiredMissing}}
	attested := []signature.Required{{Status: signature.RequiredVerified}}
	for _, c := range []struct {
		res  signature.Result
		keep bool
	}{
		{signature.Result{Status: signature.StatusVerified}, true},
		{signature.Result{Status: signature.StatusVerified, Required: attested}, true},
		{signature.Result{Status: signature.StatusUnverified}, true},
		{signature.Result{Status: signature.StatusVerified, Required: missing}, false},
		{signature.Result{Status: signature.StatusUnsigned}, false},
		{signature.Result{Status: signature.StatusOtherKey}, false},
		{signature.Result{Status: signature.StatusInvalid}, false},
		{signature.Result{Status: signature.StatusLookupFailed}, false},
	} {
		if got := vouched(c.res); got != c.keep {
			t.Errorf("%s with %+v: kept %v, want %v", c.res.Status, c.res.Required, got, c.keep)
		}
	}
}
