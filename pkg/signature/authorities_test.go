package signature

import (
	"errors"
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
		a, err := FromPolicy(p, nil, nil, nil)
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
	if _, err := FromPolicy(p, nil, nil, nil); err == nil || !strings.Contains(err.Error(), "trust.yaml: rules[0].keyless: keyless signatures are checked against a trusted root: pass --trusted-root FILE") {
		t.Errorf("FromPolicy() = %v, want the keyless rule refused by name", err)
	}
}

// A k8s:// key is read with the KeySource and named by its reference;
// a source that fails, a PEM that does not parse and no source at all
// each refuse the policy with the rule, the key and the reference named.
func TestAuthoritiesK8sKeys(t *testing.T) {
	f := newFixture(t, false)
	kpA, pubA := keypair(t)
	f.legacy(kpA, f.digest.String())
	pemA, err := os.ReadFile(pubA)
	if err != nil {
		t.Fatal(err)
	}
	host := f.repo.RegistryStr()
	p, err := trustpolicy.Parse([]byte("apiVersion: imgtrust.dev/v1alpha1\nkind: TrustPolicy\nrules:\n- images: [\"other.example/**\"]\n  action: ignore\n- images: [\"**\"]\n  keys: [\"k8s://imgtrust/vendor-key\"]\n"), "trust.yaml", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	var asked []string
	a, err := FromPolicy(p, nil, nil, func(ref string) ([]byte, error) {
		asked = append(asked, ref)
		return pemA, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(asked) != 1 || asked[0] != "k8s://imgtrust/vendor-key" {
		t.Errorf("KeySource asked for %q, want the reference once", asked)
	}
	r, err := registry.New(registry.Options{Insecure: []string{host}})
	if err != nil {
		t.Fatal(err)
	}
	c := a.For(f.repo)
	res := c.Checker.Check(t.Context(), r.Artifacts(registry.Anonymous), f.repo, f.digest.String())
	if res.Status != StatusVerified || len(res.VerifiedBy) != 1 || res.VerifiedBy[0].File != "k8s://imgtrust/vendor-key" {
		t.Errorf("k8s key: %s %+v, want verified by the reference", res.Status, res.VerifiedBy)
	}

	for _, tt := range []struct {
		name   string
		source KeySource
		want   string
	}{
		{"source fails", func(string) ([]byte, error) {
			return nil, errors.New(`secret "vendor-key" not found in namespace "imgtrust"; create it`)
		}, `trust.yaml: rules[1].keys[0]: k8s://imgtrust/vendor-key: secret "vendor-key" not found in namespace "imgtrust"; create it`},
		{"not a key", func(string) ([]byte, error) {
			return []byte("-----BEGIN PRIVATE KEY-----\nc2VjcmV0\n-----END PRIVATE KEY-----\n"), nil
		},
			"trust.yaml: rules[1].keys[0]: k8s://imgtrust/vendor-key: cosign.pub: not a PEM public key (want the cosign.pub of `cosign generate-key-pair`)"},
		{"no source", nil, "trust.yaml: rules[1].keys[0]: k8s://imgtrust/vendor-key: keys in the cluster are not read here; export the key to a file and name the file"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := FromPolicy(p, nil, nil, tt.source)
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Fatalf("FromPolicy() = %v, want %s…", err, tt.want)
			}
			if strings.Contains(err.Error(), "c2VjcmV0") || strings.Contains(err.Error(), "\n") {
				t.Errorf("error shows key material or is not one line: %q", err)
			}
		})
	}
}

// Built per cluster, a policy's k8s:// keys are read from each cluster's
// own KeySource: the same reference is another key in another cluster,
// and the choices tell them apart (KeySet) so results are not shared.
func TestAuthoritiesPerClusterKeys(t *testing.T) {
	f := newFixture(t, false)
	kpA, pubA := keypair(t)
	_, pubB := keypair(t)
	f.legacy(kpA, f.digest.String())
	p, err := trustpolicy.Parse([]byte("apiVersion: imgtrust.dev/v1alpha1\nkind: TrustPolicy\nrules:\n- images: [\"**\"]\n  keys: [\"k8s://imgtrust/vendor-key\"]\n"), "trust.yaml", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	base, err := FromPolicyPerCluster(p, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	r, err := registry.New(registry.Options{Insecure: []string{f.repo.RegistryStr()}})
	if err != nil {
		t.Fatal(err)
	}
	from := func(file string) KeySource {
		return func(string) ([]byte, error) { return os.ReadFile(file) }
	}
	// Before its keys are read, the rule proves nothing either way.
	if res := base.For(f.repo).Checker.Check(t.Context(), r.Artifacts(registry.Anonymous), f.repo, f.digest.String()); res.Status != StatusLookupFailed {
		t.Errorf("unread keys: %s, want lookup-failed", res.Status)
	}
	var sets []string
	for _, c := range []struct {
		pub  string
		want Status
	}{{pubA, StatusVerified}, {pubB, StatusOtherKey}} {
		a, err := base.WithClusterKeys(from(c.pub))
		if err != nil {
			t.Fatal(err)
		}
		choice := a.For(f.repo)
		if res := choice.Checker.Check(t.Context(), r.Artifacts(registry.Anonymous), f.repo, f.digest.String()); res.Status != c.want {
			t.Errorf("key %s: %s, want %s", filepath.Base(c.pub), res.Status, c.want)
		}
		sets = append(sets, choice.KeySet)
	}
	if sets[0] == "" || sets[0] == sets[1] {
		t.Errorf("KeySets %q: want two different ones", sets)
	}
	if _, err := base.WithClusterKeys(func(string) ([]byte, error) { return nil, errors.New("no Secret") }); err == nil || !strings.Contains(err.Error(), "rules[0].keys[0]: k8s://imgtrust/vendor-key: no Secret") {
		t.Errorf("unreadable key in one cluster: %v", err)
	}
	// Without k8s:// keys there is nothing to read per cluster.
	q, err := trustpolicy.Parse([]byte("apiVersion: imgtrust.dev/v1alpha1\nkind: TrustPolicy\nrules:\n- images: [\"**\"]\n  action: report-unsigned\n"), "trust.yaml", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	plain, _ := FromPolicyPerCluster(q, nil, nil)
	if got, _ := plain.WithClusterKeys(nil); got != plain {
		t.Errorf("a policy without k8s:// keys was rebuilt")
	}
}
