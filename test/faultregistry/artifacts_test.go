package faultregistry

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"

	"github.com/imgtrust/kubectl-imgtrust/pkg/provenance"
	"github.com/imgtrust/kubectl-imgtrust/pkg/registry"
	"github.com/imgtrust/kubectl-imgtrust/pkg/signature"
)

// TestArtifactFaults reads each artifact fault's image as an audit with
// --verify-key --provenance --updates does (pkg/signature, pkg/provenance,
// a tag listing, all on one image budget): the e2e test does it through
// kubectl; this is the fast loop.
func TestArtifactFaults(t *testing.T) {
	reg, ca := StartForTest(t)
	const budget = 2 * time.Second
	r, err := registry.New(registry.Options{CAFile: ca, Timeout: 30 * time.Second, LookupTimeout: budget, RetryBackoff: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	cred := registry.Credential{Source: "test", ID: "test", Auth: &authn.Basic{Username: reg.User, Password: reg.Password}}
	checker, err := signature.New(signature.Options{})
	if err != nil {
		t.Fatal(err)
	}
	type outcome struct {
		res   registry.Result
		sig   signature.Result
		prov  provenance.Provenance
		tags  *registry.Error
		wall  time.Duration
		reqs  int
		image string
	}
	got := map[string]outcome{}
	for _, f := range ArtifactFaults {
		image := reg.Image(f)
		before := reg.Requests(f)
		start := time.Now()
		o := outcome{image: image}
		o.res = r.Resolve(t.Context(), registry.Request{Image: image, Credentials: []registry.Credential{cred}})
		if o.res.Err != nil {
			t.Fatalf("%s: resolve: %v", f, o.res.Err)
		}
		repo, _ := r.RepositoryOf(image)
		arts := r.Artifacts(cred).ForImage(image)
		o.sig = checker.Check(t.Context(), arts.ForDigest(repo.Digest(o.res.Digest)), repo, o.res.Digest)
		o.prov = provenance.Read(t.Context(), arts.ForDigest(repo.Digest(o.res.Digest)), repo, o.res.Digest, nil, nil)
		_, _, o.tags = arts.Tags(t.Context(), repo)
		o.wall, o.reqs = time.Since(start), reg.Requests(f)-before
		got[f] = o
		t.Logf("%-17s %5s %3d requests; signature %s: %.300s; provenance: %.300s; tags: %.200v", f, o.wall.Round(10*time.Millisecond), o.reqs, o.sig.Status, o.sig.Error, o.prov.Error, o.tags)
	}

	hang := got[ArtifactsHang]
	if hang.sig.Status != signature.StatusLookupFailed || !strings.Contains(hang.prov.Error, "timeout") || hang.tags == nil || hang.tags.Reason != registry.ReasonTimeout {
		t.Errorf("%s: want every read failed on a timeout, never a verdict", ArtifactsHang)
	}
	if hang.wall > budget+time.Second {
		t.Errorf("%s: the image's reads took %s, want about one budget (%s)", ArtifactsHang, hang.wall, budget)
	}

	// Reading thousands of referrers, untyped or of a kind only their
	// manifest tells, stops at the image's budget of reads: beyond it only
	// the resolution and the tag list.
	for _, f := range []string{UntypedReferrers, ManyAttestations} {
		o := got[f]
		if o.sig.Status != signature.StatusLookupFailed || !strings.Contains(o.sig.Error, "referrers to classify read") || !strings.Contains(o.sig.Error, "--max-artifact-requests") || o.sig.ReadsSkipped == 0 {
			t.Errorf("%s: signature %s (%s), %d reads skipped: want lookup-failed saying how many were skipped", f, o.sig.Status, o.sig.Error, o.sig.ReadsSkipped)
		}
		if o.reqs > registry.DefaultMaxArtifactRequests+4 {
			t.Errorf("%s: %d requests for one image, want at most its %d artifact reads and a few more", f, o.reqs, registry.DefaultMaxArtifactRequests)
		}
	}

	huge := got[HugeError]
	if huge.sig.Status != signature.StatusLookupFailed || !strings.Contains(huge.sig.Error, "forbidden") || !strings.Contains(huge.sig.Error, fmt.Sprintf("and %d more", HugeErrorReferrers-3)) {
		t.Errorf("%s: signature %s (%.300s), want lookup-failed, forbidden, the first 3 problems and a count of the rest", HugeError, huge.sig.Status, huge.sig.Error)
	}
	if b, _ := json.Marshal(huge.sig); len(b) > 8192 {
		t.Errorf("%s: signature result of %d bytes in JSON, want it bounded (each registry message is %d): %.1000s", HugeError, len(b), HugeErrorBytes, b)
	} else {
		t.Logf("%s: signature result in JSON: %s", HugeError, b)
	}

	large := got[LargeIndex]
	if large.res.Digest != LargeIndexDigest() {
		t.Errorf("%s: resolved to %s, want %s", LargeIndex, large.res.Digest, LargeIndexDigest())
	}
	if !strings.Contains(large.prov.Error, "too-large") {
		t.Errorf("%s: provenance error %q, want too-large", LargeIndex, large.prov.Error)
	}
}
