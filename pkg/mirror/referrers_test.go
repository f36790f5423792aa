package mirror

import (
	"context"
	"fmt"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/imgtrust/kubectl-imgtrust/internal/testregistry"
	"github.com/imgtrust/kubectl-imgtrust/pkg/registry"
)

// pushReferrers attaches n small artifacts to the image at repoTag and
// returns the image's digest.
func pushReferrers(t *testing.T, reg *testregistry.Registry, repoTag string, n int) string {
	t.Helper()
	img := testregistry.RandomImage(t, 1)
	d := reg.Push(t, repoTag, img)
	mt, _ := img.MediaType()
	sz, _ := img.Size()
	repo := reg.Ref(t, repoTag).Context()
	cfg := reg.PutBlob(t, repo, []byte("{}"), "application/vnd.oci.empty.v1+json")
	for i := range n {
		reg.PutReferrer(t, repo, v1.Manifest{
			SchemaVersion: 2, MediaType: types.OCIManifestSchema1, Config: cfg,
			ArtifactType: "application/vnd.example.note",
			Layers:       []v1.Descriptor{},
			Annotations:  map[string]string{"n": fmt.Sprint(i)},
			Subject:      &v1.Descriptor{MediaType: mt, Digest: d, Size: sz},
		})
	}
	return d.String()
}

// Referrers past MaxReferrerCopies are not copied but counted, whether
// the source lists them with its referrers API or in its fallback tag
// index: both are copied one by one.
func TestReferrerCopiesAreBounded(t *testing.T) {
	for _, api := range []bool{true, false} {
		t.Run(fmt.Sprintf("referrers API %v", api), func(t *testing.T) {
			srcReg, dstReg := testregistry.New(t, testregistry.WithReferrers(api)), testregistry.New(t, withReferrers)
			n := MaxReferrerCopies + 3
			digest := pushReferrers(t, srcReg, "team/app:1.0", n)
			s := newTestSession(t, SessionOptions{Prefix: dstReg.Host + "/mirror"}, srcReg.Host, dstReg.Host)
			req := CopyRequest{Image: srcReg.Host + "/team/app:1.0", Digest: digest, Target: dstReg.Host + "/mirror/app:1.0"}
			res, err := s.Copy(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			copied, skipped := MaxReferrerCopies, 3
			if res.Signatures != copied || res.ReferrersSkipped != skipped || s.Totals().ReferrersSkipped != skipped || res.ReferrersOverBudget != 0 {
				t.Errorf("result %+v, totals %+v: want %d referrers copied, %d skipped", res, s.Totals(), copied, skipped)
			}
			// The shared empty config is checked once for them all.
			if res.BlobsChecked != 3 {
				t.Errorf("%d blobs checked, want 3", res.BlobsChecked)
			}
		})
	}
}

// The referrer copies draw from the image's budget of reads, shared with
// what was read of it before (pin's signature check): once it is spent
// the rest are skipped and counted, not failed, and the image itself is
// still copied.
func TestReferrerCopiesDrawFromTheImageBudget(t *testing.T) {
	srcReg, dstReg := testregistry.New(t, withReferrers), testregistry.New(t, withReferrers)
	const budget = 8
	digest := pushReferrers(t, srcReg, "team/app:1.0", 12)
	r, err := registry.New(registry.Options{Insecure: []string{srcReg.Host, dstReg.Host}, MaxArtifactRequests: budget})
	if err != nil {
		t.Fatal(err)
	}
	s := NewSession(SessionOptions{Resolver: r, Prefix: dstReg.Host + "/mirror"})
	srcReg.Reset()
	res, err := s.Copy(context.Background(), CopyRequest{Image: srcReg.Host + "/team/app:1.0", Digest: digest, Target: dstReg.Host + "/mirror/app:1.0"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Err != nil || res.Signatures == 0 || res.ReferrersSkipped == 0 || res.Signatures+res.ReferrersSkipped != 12 {
		t.Errorf("result %+v: want some of the 12 referrers copied, the rest skipped, no error", res)
	}
	// Every skip here is the budget's (12 is under MaxReferrerCopies), and
	// the totals say so, for the line that names the limit.
	if res.ReferrersOverBudget != res.ReferrersSkipped || s.Totals().ReferrersOverBudget != res.ReferrersSkipped {
		t.Errorf("%d skipped, %d of them over budget (totals %+v): want all over budget", res.ReferrersSkipped, res.ReferrersOverBudget, s.Totals())
	}
	// Reads of the source for the referrers (the image's own copy aside):
	// the .sig and .att HEADs, the listing, each referrer copied.
	var reads int
	for _, h := range srcReg.Hits() {
		if !strings.Contains(h.Path, "/blobs/") && !strings.HasSuffix(h.Path, "/manifests/"+digest) {
			reads++
		}
	}
	if reads > budget {
		t.Errorf("%d referrer reads at the source, want at most %d", reads, budget)
	}
}
