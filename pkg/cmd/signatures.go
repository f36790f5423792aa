package cmd

import (
	"github.com/spf13/cobra"

	"github.com/imgtrust/kubectl-imgtrust/pkg/signature"
)

// signatureFlags ask for signature checks (audit, pin).
type signatureFlags struct {
	Signatures       bool
	VerifyKeys       []string
	TrustCerts       []string
	RequireSignature bool

	checker *signature.Checker
	// attestations, when set before Complete, makes the checker also read
	// the cosign attestations it accepts (audit --provenance: SLSA).
	attestations func(predicateType string) bool
}

func (f *signatureFlags) AddFlags(cmd *cobra.Command) {
	cmd.Flags().BoolVar(&f.Signatures, "signatures", false, "Look up cosign and Notation signatures of the running digests and say who signed (implied by --verify-key and --trust-cert)")
	cmd.Flags().StringArrayVar(&f.VerifyKeys, "verify-key", nil, "PEM public key (cosign.pub) whose signatures count, verified offline (repeatable)")
	cmd.Flags().StringArrayVar(&f.TrustCerts, "trust-cert", nil, "PEM certificate of a Notation root or signing authority whose signatures count (repeatable)")
}

// Enabled reports whether any signature flag was given.
func (f *signatureFlags) Enabled() bool {
	return f.Signatures || len(f.VerifyKeys) > 0 || len(f.TrustCerts) > 0
}

// Complete loads the keys and certificates.
func (f *signatureFlags) Complete() error {
	if !f.Enabled() {
		return nil
	}
	keys, err := signature.LoadKeys(f.VerifyKeys)
	if err != nil {
		return err
	}
	certs, err := signature.LoadCerts(f.TrustCerts)
	if err != nil {
		return err
	}
	f.checker, err = signature.New(signature.Options{Keys: keys, Certs: certs, Attestations: f.attestations})
	return err
}
