package pipeline

import (
	"errors"
	"fmt"

	"github.com/sigstore/sigstore-go/pkg/root"
	"k8s.io/cli-runtime/pkg/genericclioptions"

	"github.com/imgtrust/kubectl-imgtrust/pkg/signature"
	"github.com/imgtrust/kubectl-imgtrust/pkg/trustpolicy"
)

// SignatureConfig says who must sign (audit, pin): a TrustPolicy file, or
// keys, Notation certificates and one keyless identity for every image.
type SignatureConfig struct {
	VerifyKeys  []string
	TrustCerts  []string
	TrustPolicy string
	TrustedRoot string
	// Keyless is one keyless authority for every image, as cosign verify
	// names it.
	Keyless               trustpolicy.Identity
	IgnoreTlog, IgnoreSCT bool
	// Attestations makes the checker also read the cosign attestations it
	// accepts (audit --provenance: SLSA).
	Attestations func(predicateType string) bool
	// KeysPerContext: several contexts are audited, and a trust policy's
	// k8s:// keys are read from each context's own cluster
	// (WithContextKeys), not from the current one.
	KeysPerContext bool
	// PolicyControllerNamespace is where policy-controller reads
	// key.secretRef Secrets and its configuration (--trust-policy=cluster).
	PolicyControllerNamespace string
}

// HasKeyless reports whether a keyless identity was given.
func (c SignatureConfig) HasKeyless() bool { return c.Keyless != trustpolicy.Identity{} }

// Authorities loads the keys, certificates and trust policy; a policy's
// k8s:// keys are read from cluster (the command's kubeconfig).
func Authorities(c SignatureConfig, cluster genericclioptions.RESTClientGetter) (*signature.Authorities, error) {
	if c.TrustPolicy == ClusterTrustPolicy {
		return clusterAuthorities(c, cluster)
	}
	if c.TrustPolicy != "" {
		return policyAuthorities(c, cluster)
	}
	keyless, err := c.keyless()
	if err != nil {
		return nil, err
	}
	keys, err := signature.LoadKeys(c.VerifyKeys)
	if err != nil {
		return nil, err
	}
	certs, err := signature.LoadCerts(c.TrustCerts)
	if err != nil {
		return nil, err
	}
	checker, err := signature.New(signature.Options{Keys: keys, Certs: certs, Keyless: keyless, Attestations: c.Attestations})
	return signature.ForAll(checker), err
}

// policyAuthorities are a TrustPolicy's; the trusted root is read only
// when a rule is keyless.
func policyAuthorities(c SignatureConfig, cluster genericclioptions.RESTClientGetter) (*signature.Authorities, error) {
	if len(c.VerifyKeys) > 0 || len(c.TrustCerts) > 0 || c.HasKeyless() || c.IgnoreTlog || c.IgnoreSCT {
		return nil, errors.New("--trust-policy cannot be combined with --verify-key, --trust-cert or the keyless flags: put the authorities in the policy's rules (ignoreTlog and ignoreSCT are per rule)")
	}
	p, err := trustpolicy.Load(c.TrustPolicy)
	if err != nil {
		return nil, err
	}
	var trusted root.TrustedMaterial
	for _, r := range p.Rules {
		if len(r.Keyless) > 0 {
			if trusted, err = c.trustedRoot(); err != nil {
				return nil, fmt.Errorf("%s: rules[%d].keyless: %w", p.Source, r.Index, err)
			}
			break
		}
	}
	if c.KeysPerContext {
		return signature.FromPolicyPerCluster(p, trusted, c.Attestations)
	}
	return signature.FromPolicy(p, trusted, c.Attestations, ClusterKeys(cluster))
}

// keyless is the one keyless authority, nil without an identity.
func (c SignatureConfig) keyless() (*signature.Keyless, error) {
	if !c.HasKeyless() {
		if c.IgnoreTlog || c.IgnoreSCT {
			return nil, errors.New("--insecure-ignore-tlog and --insecure-ignore-sct apply to keyless signatures: give --certificate-identity and --certificate-oidc-issuer (or their -regexp forms)")
		}
		return nil, nil
	}
	id := c.Keyless
	if (id.Subject == "") == (id.SubjectRegExp == "") || (id.Issuer == "") == (id.IssuerRegExp == "") {
		return nil, errors.New("keyless needs one of --certificate-identity or --certificate-identity-regexp, and one of --certificate-oidc-issuer or --certificate-oidc-issuer-regexp")
	}
	tr, err := c.trustedRoot()
	if err != nil {
		return nil, err
	}
	return &signature.Keyless{Material: tr, Identities: []trustpolicy.Identity{id}, IgnoreTlog: c.IgnoreTlog, IgnoreSCT: c.IgnoreSCT}, nil
}

// trustedRoot is what keyless certificates must chain to: TrustedRoot,
// else the public-good root from the local Sigstore TUF cache (offline).
func (c SignatureConfig) trustedRoot() (root.TrustedMaterial, error) {
	if c.TrustedRoot != "" {
		return signature.LoadTrustedRoot(c.TrustedRoot)
	}
	return signature.DefaultTrustedRoot()
}
