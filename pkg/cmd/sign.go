package cmd

import (
	"context"
	"fmt"
	"slices"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/imgtrust/kubectl-imgtrust/pkg/audit"
	"github.com/imgtrust/kubectl-imgtrust/pkg/pipeline"
	"github.com/imgtrust/kubectl-imgtrust/pkg/sign"
	"github.com/imgtrust/kubectl-imgtrust/pkg/vulns"
	"github.com/imgtrust/kubectl-imgtrust/pkg/workload"
)

// SignOptions signs the digests workloads run (or manifests name).
type SignOptions struct {
	genericiooptions.IOStreams
	configFlags *genericclioptions.ConfigFlags
	scopeFlags
	registryFlags
	signatureFlags

	Key         string
	Require     []string
	MaxAge      string
	MaxSeverity string
	Platform    string
	Format      string
	All         bool
	TlogUpload  bool
	RekorURL    string

	args     []string
	scope    workload.Scope
	maxAge   time.Duration
	platform *v1.Platform
}

// NewCmdSign returns `kubectl imgtrust sign`.
func NewCmdSign(configFlags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *cobra.Command {
	o := &SignOptions{IOStreams: streams, configFlags: configFlags, Format: string(pipeline.SignBundle)}
	cmd := &cobra.Command{
		Use:   "sign (TYPE/NAME ... | -l SELECTOR | --all | -A | -f FILE|DIR) --key cosign.key|k8s://NAMESPACE/NAME",
		Short: "Sign the exact digests workloads run (or manifests name) with a cosign key",
		Long: `Sign, with your cosign key, the digest every pod of a workload runs for each
container, or with -f the digests manifests name. A tag is never signed (pin
it first: kubectl imgtrust pin -f FILE --write).

--key is cosign's private key: a cosign.key file (COSIGN_PASSWORD decrypts it,
as cosign does) or k8s://NAMESPACE/NAME, the Secret cosign generate-key-pair
k8s://NAMESPACE/NAME makes. No key material or password is ever printed.

--signature-format bundle (default, as cosign v3) attaches a sigstore bundle
v0.3 as an OCI referrer; legacy writes cosign's REPOSITORY:sha256-<hex>.sig
tag for older verifiers. No transparency-log upload happens (--tlog-upload
is not supported yet): verify with cosign verify --key cosign.pub
--insecure-ignore-tlog.

--require gates what is signed; a digest failing a gate is not signed:
  verified-upstream  its upstream signature verified by --verify-key,
                     --trust-cert, the keyless flags or --trust-policy
  provenance         a source or revision named by its OCI annotations,
                     config labels or a SLSA attestation (as audit --provenance)
  no-critical        its own scan lists no critical vulnerability (the same as
                     --max-severity critical)
--max-age DURATION refuses digests built longer ago (as audit --max-age reads
the build time). --max-severity SEVERITY refuses a digest whose scan lists a
vulnerability at or above it (critical, high, medium, low), as audit
--vulnerabilities reads scans: the Trivy Operator's VulnerabilityReports of
that digest (or of the index listing it), else a cosign vuln attestation of
it signed by --key. No scan of the digest itself (none, or only another
digest's) refuses; a gate that cannot be evaluated (a lookup failed) refuses.
A digest our key already signed is not signed again. Digests are read with
the pods' pull credentials, signatures written with your docker config's.

Exit 0 when every digest is signed or already signed, 1 when one was refused
or failed (one line each, naming what to fix), 2 for bad input. Details:
docs/sign.md.`,
		Example: `  # Sign what deploy/web runs
  COSIGN_PASSWORD=... kubectl imgtrust sign deploy/web -n shop --key cosign.key

  # The same in cosign's legacy .sig format, for older verifiers
  kubectl imgtrust sign deploy/web -n shop --key cosign.key --signature-format legacy

  # Sign everything running in the cluster with a key kept in a Secret
  kubectl imgtrust sign -A --key k8s://imgtrust/cosign-key

  # Sign only what the vendor signed, by the trust policy's rule for each image
  kubectl imgtrust sign -A --key cosign.key --require verified-upstream --trust-policy trust.yaml

  # Sign only images with provenance, built within the last 90 days
  kubectl imgtrust sign -A --key cosign.key --require provenance --max-age 90d

  # Sign only digests the Trivy Operator scanned with no critical or high vulnerability
  kubectl imgtrust sign -A --key cosign.key --max-severity high

  # Sign the digests manifests name (tags are refused)
  kubectl imgtrust sign -f k8s/ -R --key cosign.key`,
		RunE: runFlow(o),
	}
	o.scopeFlags.AddFlags(cmd, true)
	o.registryFlags.AddFlags(cmd)
	o.registryFlags.AddArtifactBudgetFlag(cmd)
	cmd.Flags().StringVar(&o.Key, "key", "", "cosign private key: a cosign.key file (password from COSIGN_PASSWORD) or k8s://NAMESPACE/NAME")
	cmd.Flags().StringVar(&o.Format, "signature-format", o.Format, "How the signature is written: bundle (a sigstore bundle referrer, as cosign v3) or legacy (cosign's .sig tag)")
	cmd.Flags().BoolVar(&o.All, "all", false, "Sign what every workload in the namespace runs")
	cmd.Flags().StringSliceVar(&o.Require, "require", nil, "Gates a digest must pass to be signed: verified-upstream (its signature verified by --verify-key, --trust-cert, the keyless flags or --trust-policy), provenance (a source or revision named by annotations, labels or SLSA provenance), no-critical (its scan lists no critical vulnerability)")
	cmd.Flags().StringVar(&o.MaxAge, "max-age", "", "Sign only digests built at most this long ago, e.g. 90d, 12w or 720h (the build time as audit --max-age reads it)")
	cmd.Flags().StringVar(&o.MaxSeverity, "max-severity", "", "Sign only digests whose own vulnerability scan lists none at or above this: critical, high, medium or low (as audit --max-severity)")
	cmd.Flags().StringVar(&o.Platform, "platform", "", "Platform whose manifest --require provenance and --max-age read from multi-arch images: os/arch[/variant]")
	cmd.Flags().BoolVar(&o.TlogUpload, "tlog-upload", false, "Not supported yet: no transparency-log upload happens; sign with cosign for a Rekor entry")
	cmd.Flags().StringVar(&o.RekorURL, "rekor-url", "", "Not supported yet (see --tlog-upload)")
	cmd.Flags().StringArrayVar(&o.VerifyKeys, "verify-key", nil, "Sign only digests signed by this PEM public key (cosign.pub), verified offline (repeatable)")
	cmd.Flags().StringArrayVar(&o.TrustCerts, "trust-cert", nil, "Sign only digests with a Notation signature chaining to this PEM certificate (repeatable)")
	o.addPolicyFlag(cmd)
	return cmd
}

// Complete resolves the scope.
func (o *SignOptions) Complete(args []string) error {
	o.args = args
	var err error
	if o.scope, err = o.scopeFlags.Scope(o.configFlags, args); err != nil {
		return err
	}
	return o.signatureFlags.Complete(o.configFlags)
}

// Validate checks the flags before anything is read.
func (o *SignOptions) Validate() error {
	switch {
	case o.Key == "":
		return fmt.Errorf("--key is required: a cosign.key file or k8s://NAMESPACE/NAME")
	case o.Format != string(pipeline.SignBundle) && o.Format != string(pipeline.SignLegacy):
		return fmt.Errorf("--signature-format %q is not supported: use bundle or legacy", o.Format)
	case o.All && o.scope.Offline():
		return fmt.Errorf("--all selects live objects; it cannot be combined with -f")
	case o.All && len(o.args) > 0:
		return fmt.Errorf("--all cannot be combined with TYPE/NAME arguments: pick one")
	case o.TlogUpload || o.RekorURL != "":
		return fmt.Errorf("--tlog-upload is not supported yet: sign with cosign sign --key cosign.key --tlog-upload=true IMAGE@DIGEST for a transparency-log entry")
	case !o.scope.Offline() && len(o.args) == 0 && o.Selector == "" && !o.All && !o.AllNamespaces:
		return fmt.Errorf("name what to sign: TYPE/NAME (e.g. deploy/web), -l SELECTOR, --all (this namespace), -A or -f FILE")
	}
	if err := pipeline.CheckRequire(o.Require); err != nil {
		return err
	}
	if slices.Contains(o.Require, pipeline.GateVerifiedUpstream) && !o.signatureFlags.Enabled() {
		return fmt.Errorf("--require verified-upstream needs the authorities to check: --verify-key, --trust-cert, --trust-policy or the keyless flags")
	}
	if o.MaxAge != "" {
		d, err := audit.ParseAge(o.MaxAge)
		if err != nil {
			return fmt.Errorf("--max-age %q: %w", o.MaxAge, err)
		}
		o.maxAge = d
	}
	if o.MaxSeverity != "" {
		sev, err := vulns.ParseSeverity(o.MaxSeverity)
		if err != nil {
			return fmt.Errorf("--max-severity: %w", err)
		}
		o.MaxSeverity = sev
	}
	if o.Platform != "" {
		p, err := v1.ParsePlatform(o.Platform)
		if err != nil || p.OS == "" || p.Architecture == "" {
			return fmt.Errorf("--platform %q is not os/arch[/variant], e.g. linux/arm64", o.Platform)
		}
		o.platform = p
	}
	return o.registryFlags.Validate()
}

// Run signs, printing one line per image.
func (o *SignOptions) Run(ctx context.Context) error {
	res, err := pipeline.Sign(ctx, pipeline.SignConfig{
		Cluster:  pipeline.Cluster{Getter: o.configFlags, Scope: o.scope},
		Registry: o.registryFlags.Options(""),
		Key:      o.Key,
		Password: sign.EnvPassword(),
		Format:   pipeline.SignFormat(o.Format),
		Gates: &pipeline.SignGates{
			Require: o.Require, Authorities: o.authorities, PolicyFile: o.TrustPolicy,
			MaxAge: o.maxAge, MaxSeverity: o.MaxSeverity, Platform: o.platform,
		},
		Events: o.printOutcome,
	})
	for _, w := range res.Warnings {
		fmt.Fprintf(o.ErrOut, "warning: %s\n", w)
	}
	if err != nil {
		return &exitError{Code: ExitError, Err: err}
	}
	fmt.Fprintf(o.ErrOut, "%d signed, %d already signed, %d refused, %d failed\n", res.Signed, res.AlreadySigned, res.Refused, res.Failed)
	if res.Refused+res.Failed > 0 {
		return &exitError{Code: ExitFindings}
	}
	return nil
}

// printOutcome prints one image: signed and already signed to stdout,
// refusals and failures to stderr.
func (o *SignOptions) printOutcome(e pipeline.SignOutcome) {
	label := e.Object.Label()
	if e.Object.Source != "" {
		label = fmt.Sprintf("%s/%s (%s:%d)", e.Object.Kind, e.Object.Name, e.Object.Source, e.Object.SourceLine)
	}
	what := fmt.Sprintf("%s container %q", label, e.Container)
	switch e.Status {
	case pipeline.SignSigned:
		fmt.Fprintf(o.Out, "signed %s: %s (%s)\n", what, e.Target, e.Message)
	case pipeline.SignAlreadySigned:
		fmt.Fprintf(o.Out, "already signed %s: %s (%s)\n", what, e.Target, e.Message)
	default:
		if e.Target != "" { // which digest, when pods run several
			what += ": " + e.Target
		}
		fmt.Fprintf(o.ErrOut, "%s %s: %s\n", e.Status, what, e.Message)
	}
}
