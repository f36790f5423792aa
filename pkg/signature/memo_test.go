package signature

import (
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/imgtrust/kubectl-imgtrust/internal/testregistry"
	"github.com/imgtrust/kubectl-imgtrust/pkg/registry"
	"github.com/imgtrust/kubectl-imgtrust/pkg/trustpolicy"
)

// checkPolicies checks f's digest against ClusterImagePolicies with a
// fresh resolver, as one audit job does, and returns the result and the
// requests it sent (pings aside).
func checkPolicies(t *testing.T, f *fixture, ps []trustpolicy.ClusterPolicy) (Result, int) {
	t.Helper()
	a, err := FromCluster(ps, nil, nil, NoMatchDeny)
	if err != nil {
		t.Fatal(err)
	}
	choice := a.ForImage(f.repo.Tag("v1").Name(), f.repo)
	r, err := registry.New(registry.Options{Insecure: []string{f.repo.RegistryStr()}})
	if err != nil {
		t.Fatal(err)
	}
	f.reg.Reset()
	res := choice.Checker.Check(t.Context(), r.Artifacts(registry.Anonymous), f.repo, f.digest.String())
	return res, len(f.reg.Hits())
}

// Each authority of a trust policy checks the same digest: the reads of
// one check are remembered, so eight authorities (of one policy, or eight
// policies) send what one sends and draw it from the image's budget once;
// without that they would spend its 64 reads and turn this verifiable
// image into signature-lookup-failed.
func TestAuthoritiesShareTheDigestsReads(t *testing.T) {
	ours, pub := keypair(t)
	f := newFixture(t, true)
	f.legacy(ours, f.digest.String())
	var strangers [][]string // authorities whose keys signed nothing here
	for i := range 7 {
		kp, _ := keypair(t)
		f.bundle(kp, f.digest.Hex, predicateCosignSignV1)
		if i < 3 {
			f.legacy(kp, f.digest.String()) // the .sig tag moves: ours is overwritten…
		}
		_, p := keypair(t)
		strangers = append(strangers, []string{p})
	}
	f.legacy(ours, f.digest.String()) // …and written last
	f.bundle(ours, f.digest.Hex, predicateCosignSignV1)

	one, oneReads := checkPolicies(t, f, []trustpolicy.ClusterPolicy{clusterPolicyOf(t, "one", []string{pub})})
	if one.Status != StatusVerified {
		t.Fatalf("one authority: %s %q, want verified", one.Status, one.Error)
	}
	if oneReads*8 <= registry.DefaultMaxArtifactRequests {
		t.Fatalf("one authority sends %d requests: too few for eight to spend %d reads without sharing them", oneReads, registry.DefaultMaxArtifactRequests)
	}

	var eight []trustpolicy.ClusterPolicy
	for i := range 8 {
		eight = append(eight, clusterPolicyOf(t, fmt.Sprintf("p%d", i), []string{pub}))
	}
	for _, tt := range []struct {
		name     string
		policies []trustpolicy.ClusterPolicy
	}{
		{"one policy, ours the last of 8 authorities", []trustpolicy.ClusterPolicy{clusterPolicyOf(t, "any", append(strangers, []string{pub})...)}},
		{"8 policies matching, each must pass", eight},
	} {
		t.Run(tt.name, func(t *testing.T) {
			res, reads := checkPolicies(t, f, tt.policies)
			if res.Status != StatusVerified || res.ReadsSkipped != 0 {
				t.Errorf("%s %q, %d reads skipped; want verified with none skipped", res.Status, res.Error, res.ReadsSkipped)
			}
			if reads != oneReads {
				t.Errorf("%d requests, want %d (what one authority sends)", reads, oneReads)
			}
		})
	}

	// The memo is the check's, not the resolver's: another check of the
	// digest reads again.
	a, err := FromCluster([]trustpolicy.ClusterPolicy{clusterPolicyOf(t, "one", []string{pub})}, nil, nil, NoMatchDeny)
	if err != nil {
		t.Fatal(err)
	}
	choice := a.ForImage(f.repo.Tag("v1").Name(), f.repo)
	r, err := registry.New(registry.Options{Insecure: []string{f.repo.RegistryStr()}, MaxArtifactRequests: 1000})
	if err != nil {
		t.Fatal(err)
	}
	f.reg.Reset()
	for range 2 {
		if res := choice.Checker.Check(t.Context(), r.Artifacts(registry.Anonymous), f.repo, f.digest.String()); res.Status != StatusVerified {
			t.Fatalf("%s %q, want verified", res.Status, res.Error)
		}
	}
	if got := len(f.reg.Hits()); got != 2*oneReads {
		t.Errorf("two checks sent %d requests, want %d: each check reads for itself", got, 2*oneReads)
	}
}

// A failed read is not remembered: the next authority asks again (its
// read drawn from the budget), and a 403 that cleared does not keep the
// image from verifying.
func TestAuthoritiesRetryAFailedRead(t *testing.T) {
	ours, pub := keypair(t)
	_, other := keypair(t)
	f := newFixture(t, true)
	f.legacy(ours, f.digest.String())
	var refused atomic.Int32
	f.reg.Set(func(h *testregistry.Hooks) {
		refuse := testregistry.Refuse(http.StatusForbidden, "/blobs/")
		h.Fault = func(w http.ResponseWriter, r *http.Request) bool {
			return strings.Contains(r.URL.Path, "/blobs/") && refused.Add(1) == 1 && refuse(w, r)
		}
	})
	res, _ := checkPolicies(t, f, []trustpolicy.ClusterPolicy{clusterPolicyOf(t, "any", []string{other}, []string{pub})})
	if res.Status != StatusVerified {
		t.Errorf("%s %q, want verified: the first authority's refused blob read is asked again by the second", res.Status, res.Error)
	}
	if n := refused.Load(); n < 2 {
		t.Errorf("%d blob reads, want the refused one read again", n)
	}
}
