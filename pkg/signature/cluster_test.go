package signature

import (
	"os"
	"testing"

	"github.com/imgtrust/kubectl-imgtrust/pkg/registry"
	"github.com/imgtrust/kubectl-imgtrust/pkg/trustpolicy"
)

// clusterPolicy is a ClusterImagePolicy matching every image, each
// authority a list of key files (and predicate types required of it).
func clusterPolicyOf(t *testing.T, name string, authorities ...[]string) trustpolicy.ClusterPolicy {
	t.Helper()
	var auths []any
	for _, files := range authorities {
		var atts []any
		key := ""
		for _, f := range files {
			if pt, ok := trustpolicy.PredicateType(f); ok && f != "" && f[0] != '/' {
				atts = append(atts, map[string]any{"predicateType": pt})
				continue
			}
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			key = string(b)
		}
		auths = append(auths, map[string]any{"key": map[string]any{"data": key}, "attestations": atts})
	}
	p, ws, ok := trustpolicy.ClusterPolicyFrom(name, map[string]any{"images": []any{map[string]any{"glob": "**"}}, "authorities": auths})
	if !ok {
		t.Fatal(ws)
	}
	return p
}

// TestClusterPolicies: every ClusterImagePolicy matching an image must
// pass, and one passes when any of its authorities does; an authority
// with attestations is met by them alone; the result names the policy
// that rejects, or all that pass.
func TestClusterPolicies(t *testing.T) {
	k1, pub1 := keypair(t)
	k2, pub2 := keypair(t)
	_, pub3 := keypair(t)
	tests := []struct {
		name     string
		sign     func(f *fixture)
		policies []trustpolicy.ClusterPolicy
		status   Status
		rule     string
	}{
		{"any authority", func(f *fixture) { f.legacy(k2, f.digest.String()) },
			[]trustpolicy.ClusterPolicy{clusterPolicyOf(t, "a", []string{pub1}, []string{pub2})}, StatusVerified, "clusterimagepolicy/a"},
		{"no authority", func(f *fixture) { f.legacy(k2, f.digest.String()) },
			[]trustpolicy.ClusterPolicy{clusterPolicyOf(t, "a", []string{pub1}, []string{pub3})}, StatusOtherKey, "clusterimagepolicy/a"},
		{"all policies", func(f *fixture) { f.legacy(k1, f.digest.String()); f.bundle(k2, f.digest.Hex, predicateCosignSignV1) },
			[]trustpolicy.ClusterPolicy{clusterPolicyOf(t, "a", []string{pub1}), clusterPolicyOf(t, "b", []string{pub2})}, StatusVerified, "clusterimagepolicy/a,clusterimagepolicy/b"},
		{"one policy rejects", func(f *fixture) { f.legacy(k1, f.digest.String()) },
			[]trustpolicy.ClusterPolicy{clusterPolicyOf(t, "a", []string{pub1}), clusterPolicyOf(t, "b", []string{pub2})}, StatusOtherKey, "clusterimagepolicy/b"},
		{"attestation alone", func(f *fixture) { f.bundle(k1, f.digest.Hex, predicateSLSAv1) },
			[]trustpolicy.ClusterPolicy{clusterPolicyOf(t, "a", []string{pub1, "slsaprovenance1"})}, StatusVerified, "clusterimagepolicy/a"},
		{"attestation by another key", func(f *fixture) { f.legacy(k1, f.digest.String()); f.bundle(k2, f.digest.Hex, predicateSLSAv1) },
			[]trustpolicy.ClusterPolicy{clusterPolicyOf(t, "a", []string{pub1, "slsaprovenance1"})}, StatusVerified, "clusterimagepolicy/a"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, true)
			tt.sign(f)
			a, err := FromCluster(tt.policies, nil, nil, NoMatchDeny)
			if err != nil {
				t.Fatal(err)
			}
			choice := a.ForImage(f.repo.Tag("v1").Name(), f.repo)
			if choice.Checker == nil || choice.Uncovered {
				t.Fatalf("choice %+v", choice)
			}
			r, err := registry.New(registry.Options{Insecure: []string{f.repo.RegistryStr()}})
			if err != nil {
				t.Fatal(err)
			}
			res := choice.Checker.Check(t.Context(), r.Artifacts(registry.Anonymous), f.repo, f.digest.String())
			if res.Status != tt.status || res.Rule != tt.rule {
				t.Errorf("status %s rule %q, want %s %q (%+v)", res.Status, res.Rule, tt.status, tt.rule, res)
			}
			if tt.name == "attestation by another key" && (len(res.Required) != 1 || res.Required[0].Status != RequiredUnverified) {
				// The signature verifies, the attestation the authority
				// asks for does not: the policy rejects it, and says why.
				t.Errorf("required %+v, want the attestation unverified", res.Required)
			}
		})
	}
	// No policy matches: policy-controller's no-match-policy.
	p := clusterPolicyOf(t, "a", []string{pub1})
	p2, _, _ := trustpolicy.ClusterPolicyFrom("ghcr", map[string]any{"images": []any{map[string]any{"glob": "ghcr.io/**"}},
		"authorities": []any{map[string]any{"key": map[string]any{"data": string(p.Authorities[0].Keys[0].PEM)}}}})
	f := newFixture(t, true)
	for noMatch, want := range map[string]Choice{NoMatchDeny: {Uncovered: true, NoMatch: NoMatchDeny}, NoMatchWarn: {Uncovered: true, NoMatch: NoMatchWarn}, NoMatchAllow: {}} {
		a, err := FromCluster([]trustpolicy.ClusterPolicy{p2}, nil, nil, noMatch)
		if err != nil {
			t.Fatal(err)
		}
		if got := a.ForImage(f.repo.Tag("v1").Name(), f.repo); got != want {
			t.Errorf("no-match-policy %s: %+v, want %+v", noMatch, got, want)
		}
	}
}
