package signature

import (
	"fmt"
	"slices"
	"sync"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/sigstore/sigstore-go/pkg/root"

	"github.com/imgtrust/kubectl-imgtrust/pkg/trustpolicy"
)

// Authorities say, per image, who must have signed it: one checker for
// every image (--signatures, --verify-key, --trust-cert), or one per rule
// of a trust policy (--trust-policy).
type Authorities struct {
	all      *Checker
	policy   *trustpolicy.Policy
	checkers []*Checker // per rule; nil for action ignore

	// What a policy's checkers were built with, to build them again with
	// another cluster's k8s:// keys (WithClusterKeys); keySets[i] tells
	// rule i's cluster keys apart (its results are cached per key set);
	// deferred: the k8s:// keys are still to be read.
	trusted      root.TrustedMaterial
	attestations func(string) bool
	keySets      []string
	deferred     bool

	// cluster are the cluster's ClusterImagePolicies (--trust-policy=
	// cluster); combined caches a checker per set of policies matching an
	// image; noMatch is policy-controller's no-match-policy.
	cluster  []clusterPolicy
	noMatch  string
	mu       sync.Mutex
	combined map[string]*Checker

	// Warnings name what of the cluster's policies is not applied, one
	// line each, for the command to print.
	Warnings []string
}

// Choice is what the authorities ask of one image.
type Choice struct {
	// Checker checks its signatures; nil when none are checked (a rule
	// that ignores the image, or no rule covers it).
	Checker *Checker
	// Rule names the trust-policy rule that matched ("" without a policy).
	Rule   string
	Action trustpolicy.Action
	// Uncovered is set when a policy has no rule for the image.
	Uncovered bool
	// KeySet tells apart the k8s:// keys the rule's checker was built with
	// in different clusters ("" without any): results are shared per Rule
	// and KeySet.
	KeySet string
	// NoMatch, for an image no ClusterImagePolicy matches, is
	// policy-controller's no-match-policy (deny or warn).
	NoMatch string
}

// ForAll checks every image with one checker.
func ForAll(c *Checker) *Authorities { return &Authorities{all: c} }

// KeySource reads a key that lives in the cluster: the PEM public key of
// a k8s://NAMESPACE/NAME reference (trustpolicy.K8sKey). Its errors are
// one line that says what to do, and never hold key material.
type KeySource func(ref string) ([]byte, error)

// FromPolicy builds a checker per rule of p: its keys, Notation
// certificates and keyless identities (verified against trusted, the
// trusted root), or presence only for report-unsigned. attestations is
// passed on to each (Options.Attestations). k8s:// keys are read with
// cluster, needed only when a rule names one.
func FromPolicy(p *trustpolicy.Policy, trusted root.TrustedMaterial, attestations func(string) bool, cluster KeySource) (*Authorities, error) {
	return fromPolicy(p, trusted, attestations, cluster, false)
}

// FromPolicyPerCluster is FromPolicy for several clusters at once: the
// k8s:// keys are not read here but by WithClusterKeys, once per cluster,
// which must be called before For.
func FromPolicyPerCluster(p *trustpolicy.Policy, trusted root.TrustedMaterial, attestations func(string) bool) (*Authorities, error) {
	return fromPolicy(p, trusted, attestations, nil, true)
}

// WithClusterKeys is a with the k8s:// keys read from one cluster; a
// without any k8s:// key.
func (a *Authorities) WithClusterKeys(cluster KeySource) (*Authorities, error) {
	if a == nil || a.policy == nil || !a.deferred {
		return a, nil
	}
	return fromPolicy(a.policy, a.trusted, a.attestations, cluster, false)
}

func fromPolicy(p *trustpolicy.Policy, trusted root.TrustedMaterial, attestations func(string) bool, cluster KeySource, deferKeys bool) (*Authorities, error) {
	a := &Authorities{policy: p, checkers: make([]*Checker, len(p.Rules)), keySets: make([]string, len(p.Rules)), trusted: trusted, attestations: attestations}
	for i, r := range p.Rules {
		var keyless *Keyless
		if len(r.Keyless) > 0 {
			if trusted == nil {
				return nil, fmt.Errorf("%s: rules[%d].keyless: keyless signatures are checked against a trusted root: pass --trusted-root FILE (a trusted_root.json, as cosign trusted-root create makes)", p.Source, r.Index)
			}
			keyless = &Keyless{Material: trusted, Identities: r.Keyless, IgnoreTlog: r.IgnoreTlog, IgnoreSCT: r.IgnoreSCT}
		}
		if r.Action == trustpolicy.ActionIgnore {
			continue
		}
		if deferKeys && slices.ContainsFunc(r.Keys, isClusterKey) {
			// Built per cluster (WithClusterKeys); until then nothing is
			// proven either way.
			a.deferred = true
			a.checkers[i] = &Checker{unread: fmt.Sprintf("%s: rules[%d].keys: the cluster's k8s:// keys were not read", p.Source, r.Index)}
			continue
		}
		keys, err := policyKeys(p, r, cluster)
		if err != nil {
			return nil, err
		}
		for _, k := range keys {
			if isClusterKey(k.File) {
				a.keySets[i] += k.File + "=" + k.ID + ";"
			}
		}
		certs, err := LoadCerts(r.Notation)
		if err != nil {
			return nil, fmt.Errorf("%s: rules[%d].notation: %w", p.Source, r.Index, err)
		}
		if a.checkers[i], err = New(Options{Keys: keys, Certs: certs, Keyless: keyless, Attestations: attestations, Require: r.Attestations}); err != nil {
			return nil, fmt.Errorf("%s: rules[%d]: %w", p.Source, r.Index, err)
		}
	}
	return a, nil
}

func isClusterKey(ref string) bool {
	_, _, ok := trustpolicy.K8sKey(ref)
	return ok
}

// ForImage is the choice for image (as the spec writes it) of repo:
// ClusterImagePolicies match the image itself, tag or digest included, as
// policy-controller does; everything else matches repo.
func (a *Authorities) ForImage(image string, repo name.Repository) Choice {
	if a.cluster != nil || a.combined != nil {
		return a.forImage(image)
	}
	return a.For(repo)
}

// For is the choice for an image of repo.
func (a *Authorities) For(repo name.Repository) Choice {
	if a.combined != nil {
		return a.forImage(repo.Name())
	}
	if a.policy == nil {
		return Choice{Checker: a.all}
	}
	rule, ok := a.policy.Match(trustpolicy.Normalize(repo.RegistryStr(), repo.RepositoryStr()))
	if !ok {
		return Choice{Uncovered: true}
	}
	return Choice{Checker: a.checkers[rule.Index], Rule: rule.Name(), Action: rule.Action, KeySet: a.keySets[rule.Index]}
}

// PolicySource is the policy file's name, or "" without one.
func (a *Authorities) PolicySource() string {
	if a.combined != nil {
		return ClusterSource
	}
	if a.policy == nil {
		return ""
	}
	return a.policy.Source
}

// policyKeys loads the keys of rule r: files, and k8s:// references read
// with cluster.
func policyKeys(p *trustpolicy.Policy, r trustpolicy.Rule, cluster KeySource) ([]Key, error) {
	var keys []Key
	for j, ref := range r.Keys {
		if _, _, ok := trustpolicy.K8sKey(ref); !ok {
			k, err := LoadKeys([]string{ref})
			if err != nil {
				return nil, fmt.Errorf("%s: rules[%d].keys: %w", p.Source, r.Index, err)
			}
			keys = append(keys, k...)
			continue
		}
		at := fmt.Sprintf("%s: rules[%d].keys[%d]: %s", p.Source, r.Index, j, ref)
		if cluster == nil {
			return nil, fmt.Errorf("%s: keys in the cluster are not read here; export the key to a file and name the file", at)
		}
		b, err := cluster(ref)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", at, err)
		}
		k, err := LoadKeyPEM(ref, b)
		if err != nil {
			return nil, fmt.Errorf("%s: %s: %w; put the cosign.pub of `cosign generate-key-pair` there", at, trustpolicy.K8sKeyData, err)
		}
		keys = append(keys, k)
	}
	return keys, nil
}
