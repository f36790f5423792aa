package cmd

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/imgtrust/kubectl-imgtrust/pkg/signature"
	"github.com/imgtrust/kubectl-imgtrust/pkg/trustpolicy"
)

// signatureFlags ask for signature checks (audit, pin).
type signatureFlags struct {
	Signatures       bool
	VerifyKeys       []string
	TrustCerts       []string
	TrustPolicy      string
	RequireSignature bool

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
	cmd.Flags().StringVar(&f.TrustPolicy, "trust-policy", "", "TrustPolicy file (imgtrust.dev/v1alpha1): which keys or Notation certificates must sign which images; the first rule whose images match decides")
}

// Enabled reports whether any signature flag was given.
func (f *signatureFlags) Enabled() bool {
	return f.Signatures || len(f.VerifyKeys) > 0 || len(f.TrustCerts) > 0 || f.TrustPolicy != ""
}

// Complete loads the keys and certificates.
func (f *signatureFlags) Complete() error {
	if !f.Enabled() {
		return nil
	}
	if f.TrustPolicy != "" {
		if len(f.VerifyKeys) > 0 || len(f.TrustCerts) > 0 {
			return fmt.Errorf("--trust-policy cannot be combined with --verify-key or --trust-cert: put the keys and certificates in the policy's rules")
		}
		p, err := trustpolicy.Load(f.TrustPolicy)
		if err != nil {
			return err
		}
		f.authorities, err = signature.FromPolicy(p, f.attestations)
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
	checker, err := signature.New(signature.Options{Keys: keys, Certs: certs, Attestations: f.attestations})
	f.authorities = signature.ForAll(checker)
	return err
}
