package signature

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/imgtrust/kubectl-imgtrust/pkg/registry"
	"github.com/imgtrust/kubectl-imgtrust/pkg/trustpolicy"
)

// A trust policy holds each image to its own rule's key.
func TestAuthoritiesFromPolicy(t *testing.T) {
	f := newFixture(t, false)
	kpA, pubA := keypair(t)
	_, pubB := keypair(t)
	f.legacy(kpA, f.digest.String())
	dir := t.TempDir()
	for name, src := range map[string]string{"a.pub": pubA, "b.pub": pubB} {
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	host := f.repo.RegistryStr()
	policyOf := func(t *testing.T, rules string) *Authorities {
		t.Helper()
		p, err := trustpolicy.Parse([]byte("apiVersion: imgtrust.dev/v1alpha1\nkind: TrustPolicy\nrules:\n"+rules), "trust.yaml", dir)
		if err != nil {
			t.Fatal(err)
		}
		a, err := FromPolicy(p, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	r, err := registry.New(registry.Options{Insecure: []string{host}})
	if err != nil {
		t.Fatal(err)
	}
	check := func(c Choice) Status {
		return c.Checker.Check(t.Context(), r.Artifacts(registry.Anonymous), f.repo, f.digest.String()).Status
	}

	// The first matching rule decides: its key verifies.
	a := policyOf(t, "- images: [\""+host+"/app\"]\n  keys: [a.pub]\n- images: [\"**\"]\n  keys: [b.pub]\n")
	c := a.For(f.repo)
	if c.Rule != "rules[0] ("+host+"/app)" || c.Uncovered || check(c) != StatusVerified {
		t.Errorf("rule a: %+v", c)
	}
	// Another rule's key: signed, by another authority.
	a = policyOf(t, "- images: [\"other.example/**\"]\n  keys: [a.pub]\n- images: [\""+host+"/*\"]\n  keys: [b.pub]\n")
	if c = a.For(f.repo); c.Rule != "rules[1] ("+host+"/*)" || check(c) != StatusOtherKey {
		t.Errorf("rule b: %+v", c)
	}
	// No rule covers it; a rule that ignores it checks nothing.
	if c = policyOf(t, "- images: [\"other.example/**\"]\n  keys: [a.pub]\n").For(f.repo); !c.Uncovered || c.Checker != nil {
		t.Errorf("uncovered: %+v", c)
	}
	if c = policyOf(t, "- images: [\"**\"]\n  action: ignore\n").For(f.repo); c.Uncovered || c.Checker != nil || c.Action != trustpolicy.ActionIgnore {
		t.Errorf("ignored: %+v", c)
	}
	// Presence only: any signature will do.
	if c = policyOf(t, "- images: [\"**\"]\n  action: report-unsigned\n").For(f.repo); check(c) != StatusUnverified {
		t.Errorf("report-unsigned: %+v", c)
	}
	// One checker for all images, without a policy.
	if c = ForAll(nil).For(f.repo); c.Rule != "" || c.Uncovered {
		t.Errorf("ForAll: %+v", c)
	}
}

// Keyless rules need a trusted root: without one they are refused, with
// the rule named, rather than looking met.
func TestKeylessRulesNeedATrustedRoot(t *testing.T) {
	p, err := trustpolicy.Parse([]byte(`apiVersion: imgtrust.dev/v1alpha1
kind: TrustPolicy
rules:
- images: ["registry.k8s.io/**"]
  keyless: [{issuer: https://accounts.google.com, subject: krel-trust@k8s-releng-prod.iam.gserviceaccount.com}]
`), "trust.yaml", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := FromPolicy(p, nil, nil); err == nil || !strings.Contains(err.Error(), "trust.yaml: rules[0].keyless: keyless signatures are checked against a trusted root: pass --trusted-root FILE") {
		t.Errorf("FromPolicy() = %v, want the keyless rule refused by name", err)
	}
}
