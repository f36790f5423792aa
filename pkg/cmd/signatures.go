package cmd

import (
	"fmt"

	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"

	"github.com/imgtrust/kubectl-imgtrust/pkg/pipeline"
	"github.com/imgtrust/kubectl-imgtrust/pkg/signature"
	"github.com/imgtrust/kubectl-imgtrust/pkg/trustpolicy"
)

// signatureFlags ask for signature checks (audit, pin).
type signatureFlags struct {
	Signatures  bool
	VerifyKeys  []string
	TrustCerts  []string
	TrustPolicy string
	TrustedRoot string
	// One keyless authority for every image, as cosign verify names it.
	CertIdentity, CertIdentityRegExp, CertIssuer, CertIssuerRegExp string
	IgnoreTlog, IgnoreSCT                                          bool
	RequireSignature                                               bool

	// authorities say who must sign each image; nil: no checks.
	authorities *signature.Authorities
	// attestations, when set before Complete, makes the checker also read
	// the cosign attestations it accepts (audit --provenance: SLSA).
	attestations func(predicateType string) bool
}

func (f *signatureFlags) AddFlags(cmd *cobra.Command) {
	cmd.Flags().BoolVar(&f.Signatures, "signatures", false, "Look up cosign and Notation signatures of the running digests and say who signed (implied by --verify-key and --trust-cert)")
	cmd.Flags().StringArrayVar(&f.VerifyKeys, "verify-key", nil, "PEM public key (cosign.pub) whose signatures count, verified offline (repeatable)")
	cmd.Flags().StringArrayVar(&f.TrustCerts, "trust-cert", nil, "PEM certificate of a Notation root or signing authority whose signatures count (repeatable)")
	f.addPolicyFlag(cmd)
}

func (f *signatureFlags) addPolicyFlag(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.TrustPolicy, "trust-policy", "", "TrustPolicy file (imgtrust.dev/v1alpha1): which keys, Notation certificates or keyless identities must sign which images; the first rule whose images match decides")
	cmd.Flags().StringVar(&f.TrustedRoot, "trusted-root", "", "trusted_root.json keyless certificates must chain to (a private Sigstore, GitHub's, an air gap; cosign trusted-root create makes one); default: the public-good root from the local Sigstore TUF cache ($TUF_ROOT or ~/.sigstore/root, as cosign initialize fills it), read offline")
	cmd.Flags().StringVar(&f.CertIdentity, "certificate-identity", "", "Keyless: the certificate's subject (SAN) every image must be signed by, exactly")
	cmd.Flags().StringVar(&f.CertIdentityRegExp, "certificate-identity-regexp", "", "Keyless: the certificate's subject (SAN), as a regular expression")
	cmd.Flags().StringVar(&f.CertIssuer, "certificate-oidc-issuer", "", "Keyless: the OIDC issuer in the certificate, exactly")
	cmd.Flags().StringVar(&f.CertIssuerRegExp, "certificate-oidc-issuer-regexp", "", "Keyless: the OIDC issuer in the certificate, as a regular expression")
	cmd.Flags().BoolVar(&f.IgnoreTlog, "insecure-ignore-tlog", false, "Keyless without a transparency log (a private PKI): check certificates at the current time")
	cmd.Flags().BoolVar(&f.IgnoreSCT, "insecure-ignore-sct", false, "Keyless without certificate transparency (a private PKI): no signed certificate timestamp needed")
}

// keylessFlags reports whether a --certificate-* flag was given.
func (f *signatureFlags) keylessFlags() bool {
	return f.CertIdentity != "" || f.CertIdentityRegExp != "" || f.CertIssuer != "" || f.CertIssuerRegExp != ""
}

// keyless is the one keyless authority of the --certificate-* flags, nil
// without them.
func (f *signatureFlags) keyless() (*signature.Keyless, error) {
	if !f.keylessFlags() {
		if f.IgnoreTlog || f.IgnoreSCT {
			return nil, fmt.Errorf("--insecure-ignore-tlog and --insecure-ignore-sct apply to keyless signatures: give --certificate-identity and --certificate-oidc-issuer (or their -regexp forms)")
		}
		return nil, nil
	}
	id := trustpolicy.Identity{Subject: f.CertIdentity, SubjectRegExp: f.CertIdentityRegExp, Issuer: f.CertIssuer, IssuerRegExp: f.CertIssuerRegExp}
	if (id.Subject == "") == (id.SubjectRegExp == "") || (id.Issuer == "") == (id.IssuerRegExp == "") {
		return nil, fmt.Errorf("keyless needs one of --certificate-identity or --certificate-identity-regexp, and one of --certificate-oidc-issuer or --certificate-oidc-issuer-regexp")
	}
	tr, err := f.trustedRoot()
	if err != nil {
		return nil, err
	}
	return &signature.Keyless{Material: tr, Identities: []trustpolicy.Identity{id}, IgnoreTlog: f.IgnoreTlog, IgnoreSCT: f.IgnoreSCT}, nil
}

// trustedRoot is what keyless certificates must chain to: --trusted-root,
// else the public-good root from the local Sigstore TUF cache (offline).
func (f *signatureFlags) trustedRoot() (root.TrustedMaterial, error) {
	if f.TrustedRoot != "" {
		return signature.LoadTrustedRoot(f.TrustedRoot)
	}
	return signature.DefaultTrustedRoot()
}

// Enabled reports whether any signature flag was given.
func (f *signatureFlags) Enabled() bool {
	return f.Signatures || len(f.VerifyKeys) > 0 || len(f.TrustCerts) > 0 || f.TrustPolicy != "" || f.keylessFlags()
}

// Complete loads the keys and certificates; a trust policy's k8s:// keys
// are read from the cluster of cluster (the command's kubeconfig).
func (f *signatureFlags) Complete(cluster genericclioptions.RESTClientGetter) error {
	if !f.Enabled() {
		return nil
	}
	if f.TrustPolicy != "" {
		if len(f.VerifyKeys) > 0 || len(f.TrustCerts) > 0 || f.keylessFlags() || f.IgnoreTlog || f.IgnoreSCT {
			return fmt.Errorf("--trust-policy cannot be combined with --verify-key, --trust-cert or the keyless flags: put the authorities in the policy's rules (ignoreTlog and ignoreSCT are per rule)")
		}
		p, err := trustpolicy.Load(f.TrustPolicy)
		if err != nil {
			return err
		}
		var trusted root.TrustedMaterial
		for _, r := range p.Rules {
			if len(r.Keyless) > 0 {
				if trusted, err = f.trustedRoot(); err != nil {
					return fmt.Errorf("%s: rules[%d].keyless: %w", p.Source, r.Index, err)
				}
				break
			}
		}
		f.authorities, err = signature.FromPolicy(p, trusted, f.attestations, pipeline.ClusterKeys(cluster))
		return err
	}
	keyless, err := f.keyless()
	if err != nil {
		return err
	}
	keys, err := signature.LoadKeys(f.VerifyKeys)
	if err != nil {
		return err
	}
	certs, err := signature.LoadCerts(f.TrustCerts)
	if err != nil {
		return err
	}
	checker, err := signature.New(signature.Options{Keys: keys, Certs: certs, Keyless: keyless, Attestations: f.attestations})
	f.authorities = signature.ForAll(checker)
	return err
}
