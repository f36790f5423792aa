package cmd

import (
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"

	"github.com/imgtrust/kubectl-imgtrust/pkg/pipeline"
	"github.com/imgtrust/kubectl-imgtrust/pkg/signature"
)

// signatureFlags ask for signature checks (audit, pin).
type signatureFlags struct {
	Signatures bool
	pipeline.SignatureConfig
	RequireSignature bool

	// authorities say who must sign each image; nil: no checks.
	authorities *signature.Authorities
}

func (f *signatureFlags) AddFlags(cmd *cobra.Command) {
	cmd.Flags().BoolVar(&f.Signatures, "signatures", false, "Look up cosign and Notation signatures of the running digests and say who signed (implied by --verify-key and --trust-cert)")
	cmd.Flags().StringArrayVar(&f.VerifyKeys, "verify-key", nil, "PEM public key (cosign.pub) whose signatures count, verified offline (repeatable)")
	cmd.Flags().StringArrayVar(&f.TrustCerts, "trust-cert", nil, "PEM certificate of a Notation root or signing authority whose signatures count (repeatable)")
	f.addPolicyFlag(cmd)
}

func (f *signatureFlags) addPolicyFlag(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.TrustPolicy, "trust-policy", "", "TrustPolicy file (imgtrust.dev/v1alpha1): which keys, Notation certificates or keyless identities must sign which images; the first rule whose images match decides. \"cluster\": the cluster's sigstore policy-controller ClusterImagePolicies, as it applies them (every policy matching an image must pass)")
	cmd.Flags().StringVar(&f.PolicyControllerNamespace, "policy-controller-namespace", pipeline.DefaultPolicyControllerNamespace, "With --trust-policy=cluster: the namespace policy-controller runs in, where it reads key.secretRef Secrets and its config-policy-controller ConfigMap (no-match-policy)")
	cmd.Flags().StringVar(&f.TrustedRoot, "trusted-root", "", "trusted_root.json keyless certificates must chain to (a private Sigstore, GitHub's, an air gap; cosign trusted-root create makes one); default: the public-good root from the local Sigstore TUF cache ($TUF_ROOT or ~/.sigstore/root, as cosign initialize fills it), read offline")
	cmd.Flags().StringVar(&f.Keyless.Subject, "certificate-identity", "", "Keyless: the certificate's subject (SAN) every image must be signed by, exactly")
	cmd.Flags().StringVar(&f.Keyless.SubjectRegExp, "certificate-identity-regexp", "", "Keyless: the certificate's subject (SAN), as a regular expression")
	cmd.Flags().StringVar(&f.Keyless.Issuer, "certificate-oidc-issuer", "", "Keyless: the OIDC issuer in the certificate, exactly")
	cmd.Flags().StringVar(&f.Keyless.IssuerRegExp, "certificate-oidc-issuer-regexp", "", "Keyless: the OIDC issuer in the certificate, as a regular expression")
	cmd.Flags().BoolVar(&f.IgnoreTlog, "insecure-ignore-tlog", false, "Keyless without a transparency log (a private PKI): check certificates at the current time")
	cmd.Flags().BoolVar(&f.IgnoreSCT, "insecure-ignore-sct", false, "Keyless without certificate transparency (a private PKI): no signed certificate timestamp needed")
}

// Enabled reports whether any signature flag was given.
func (f *signatureFlags) Enabled() bool {
	return f.Signatures || len(f.VerifyKeys) > 0 || len(f.TrustCerts) > 0 || f.TrustPolicy != "" || f.HasKeyless()
}

// Complete is CompleteTo with warnings on stderr.
func (f *signatureFlags) Complete(cluster genericclioptions.RESTClientGetter) error {
	return f.CompleteTo(cluster, os.Stderr)
}

// CompleteTo loads the keys and certificates (pipeline.Authorities); a
// trust policy's k8s:// keys, or --trust-policy=cluster's policies, are
// read from the command's cluster, and what of those policies is not
// applied is a warning on errOut.
func (f *signatureFlags) CompleteTo(cluster genericclioptions.RESTClientGetter, errOut io.Writer) error {
	if !f.Enabled() {
		return nil
	}
	var err error
	f.authorities, err = pipeline.Authorities(f.SignatureConfig, cluster)
	if err == nil {
		for _, w := range f.authorities.Warnings {
			fmt.Fprintln(errOut, "warning: "+w)
		}
	}
	return err
}
