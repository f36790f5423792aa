package cmd

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/imgtrust/kubectl-imgtrust/pkg/coverage"
	"github.com/imgtrust/kubectl-imgtrust/pkg/pipeline"
	"github.com/imgtrust/kubectl-imgtrust/pkg/registry"
	"github.com/imgtrust/kubectl-imgtrust/pkg/report"
	"github.com/imgtrust/kubectl-imgtrust/pkg/sarif"
	"github.com/imgtrust/kubectl-imgtrust/pkg/version"
	"github.com/imgtrust/kubectl-imgtrust/pkg/workload"
)

// SecretsOptions reports pull-secret coverage per workload and registry.
type SecretsOptions struct {
	genericiooptions.IOStreams
	tableFlags
	configFlags *genericclioptions.ConfigFlags
	scopeFlags
	connectionFlags
	contextFlags

	Output                   string
	Verify                   bool
	FailOn                   []string
	ReadKubeletConfig        bool
	NodeCredentialRegistries []string

	args     []string
	contexts []string
	scope    workload.Scope
	failOn   map[coverage.Status]bool
}

// NewSecretsOptions returns options with kubectl's defaults.
func NewSecretsOptions(configFlags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *SecretsOptions {
	return &SecretsOptions{IOStreams: streams, configFlags: configFlags}
}

// NewCmdSecrets returns `kubectl imgtrust secrets`.
func NewCmdSecrets(configFlags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *cobra.Command {
	o := NewSecretsOptions(configFlags, streams)
	cmd := &cobra.Command{
		Use:   "secrets [TYPE[.VERSION][.GROUP] [NAME] | TYPE[.VERSION][.GROUP]/NAME ...]",
		Short: "Tell, per workload and registry, which pull secret the kubelet would use and whether it is any good",
		Long: `Report image pull-secret coverage exactly as the kubelet decides it.

For each workload (pods rolled up to their top owner) and each registry it
pulls from, the pull secrets of the pod template (or else of its service
account) are matched to the images with the kubelet's rules. Statuses:

  covered                 a secret holds a credential for the registry
  not-needed              the registry serves the image anonymously (--verify)
  missing-secret          a referenced secret does not exist
  no-matching-credential  the workload has secrets, none covers the registry
  invalid-secret          a referenced secret is unusable (wrong type, bad
                          base64 or JSON, no auths, no username)
  credential-rejected     the registry refused every matching credential (--verify)
  runs-on-cached-pull     (--verify) a pod without a credential runs a private
                          image another pod's credential pulled onto its node, whose
                          kubelet (1.35+: KubeletEnsureSecretPulledImages) re-checks
                          credentials: its next start there fails
  shares-cached-pull      (--verify) the same on a kubelet that does not re-check
                          (before 1.35, or NeverVerify): a pod without access runs
                          a private image
  node-provided?          no secret, yet pods run the image: the node has
                          credentials or a cached image, which the API cannot show;
                          or a node credential provider serves the registry (ECR,
                          GCR, ACR, --node-credential-registries), possibly with
                          the pod's service-account token
  unknown                 cannot tell (secrets unreadable, or no secret and no
                          --verify to learn whether the registry is public, or
                          the node deciding a cached pull cannot be read)

After the table come namespace findings: unused pull secrets, references to
secrets that exist only in another namespace, and service accounts naming
missing secrets, each with a fix.

--verify checks each distinct credential once against its registry (a token
exchange for pull access, or one authenticated GET /v2/), never pulls and
never retries a credential, since registries lock accounts. Passwords,
tokens and auth values are never printed; usernames are.

The cached-pull statuses read the kubelet version of the nodes concerned
(get nodes; a node it forbids is unknown, said once). The kubelet's
imagePullCredentialsVerificationPolicy is assumed to be the default unless
--read-kubelet-config reads it through nodes/proxy (configz), a permission
that reaches the kubelet's API: grant it only where that is acceptable.`,
		Example: `  # Coverage in the current namespace
  kubectl imgtrust secrets

  # Every namespace, asking the registries whether the credentials work
  kubectl imgtrust secrets -A --verify

  # Some workloads only
  kubectl imgtrust secrets deploy/web sts/db -n shop
  kubectl imgtrust secrets -l app=web

  # Pods that run a private image only because another pod pulled it
  kubectl imgtrust secrets -A --verify --fail-on=runs-on-cached-pull

  # Registries the nodes' credential provider serves (its matchImages)
  kubectl imgtrust secrets -A --node-credential-registries='*.dkr.ecr.*.amazonaws.com,registry.example.com/team'

  # CI: fail when a pull would break
  kubectl imgtrust secrets -A --fail-on=missing-secret,invalid-secret,credential-rejected -o json`,
		RunE: runFlow(o),
	}
	o.scopeFlags.AddFlags(cmd, false)
	cmd.Flags().StringVarP(&o.Output, "output", "o", "", "Output format: json, yaml or sarif (SARIF 2.1.0 for code scanning; default: a table)")
	o.tableFlags.AddFlags(cmd)
	cmd.Flags().BoolVar(&o.Verify, "verify", false, "Check each matching credential, and anonymous access where none matches, against the registry (no pulls, one try per credential)")
	cmd.Flags().StringSliceVar(&o.FailOn, "fail-on", nil, "Exit 1 when a row has one of these statuses, e.g. missing-secret,invalid-secret")
	cmd.Flags().BoolVar(&o.ReadKubeletConfig, "read-kubelet-config", false, "With --verify, read the imagePullCredentialsVerificationPolicy of the kubelets that decide a cached-pull status (GET nodes/NAME/proxy/configz: needs nodes/proxy, a sensitive permission); otherwise the default is assumed")
	cmd.Flags().StringSliceVar(&o.NodeCredentialRegistries, "node-credential-registries", nil, "Registries the nodes' kubelet credential provider serves, as its matchImages patterns (HOST[:PORT][/PATH], globs in host labels): images there are node-provided? without a pull secret")
	o.connectionFlags.AddFlags(cmd)
	o.contextFlags.AddFlags(cmd)
	return cmd
}

// Complete reads the namespace and the statuses of --fail-on.
func (o *SecretsOptions) Complete(args []string) error {
	var err error
	o.args = args
	if o.scope, err = o.scopeFlags.Scope(o.configFlags, args); err != nil {
		return err
	}
	if o.contexts, err = o.contextFlags.names(o.configFlags); err != nil {
		return err
	}
	if o.failOn, err = coverage.ParseStatuses(o.FailOn); err != nil {
		return fmt.Errorf("--fail-on: %w", err)
	}
	for _, p := range o.NodeCredentialRegistries {
		if err := coverage.ValidateNodeCredentialPattern(p); err != nil {
			return fmt.Errorf("--node-credential-registries: %w", err)
		}
	}
	return nil
}

// Validate checks the flags.
func (o *SecretsOptions) Validate() error {
	if err := report.ValidateFormat(o.Output, report.FormatTable, report.FormatJSON, report.FormatYAML, report.FormatSARIF); err != nil {
		return err
	}
	if o.ReadKubeletConfig && !o.Verify {
		return fmt.Errorf("--read-kubelet-config needs --verify: the cached-pull statuses it decides need the registry's answer that an image is private")
	}
	return o.connectionFlags.Validate()
}

// Run reads the coverage of the cluster (or of every context), asking
// the registries with --verify, and prints.
func (o *SecretsOptions) Run(ctx context.Context) error {
	cfg := pipeline.SecretsConfig{Clusters: pipeline.Clusters{
		Cluster: pipeline.Cluster{Getter: o.configFlags, Scope: o.scope},
		Base:    o.configFlags, Contexts: o.contexts, ScopeFor: o.scopeFlags.scopeFor(o.args),
	}, ReadKubeletConfig: o.ReadKubeletConfig, NodeCredentialRegistries: o.NodeCredentialRegistries}
	if o.Verify {
		var err error
		if cfg.Verifier, err = registry.NewVerifier(o.connectionFlags.Options()); err != nil {
			return &exitError{Code: ExitError, Err: err}
		}
	}
	res, err := pipeline.Secrets(ctx, cfg)
	if err != nil {
		return &exitError{Code: ExitError, Err: err}
	}
	if err := o.print(res.Report); err != nil {
		return &exitError{Code: ExitError, Err: err}
	}
	if res.ContextFailed {
		return &exitError{Code: ExitError} // said in the warnings, after every other context
	}
	if res.Report.Has(o.failOn) {
		return &exitError{Code: ExitFindings}
	}
	return nil
}

func (o *SecretsOptions) print(rep coverage.Report) error {
	var err error
	switch o.Output {
	case report.FormatSARIF:
		err = report.Encode(o.Out, report.FormatJSON, sarif.FromSecrets(rep, version.Get().Version))
	case report.FormatJSON, report.FormatYAML:
		err = report.Encode(o.Out, o.Output, rep)
	default:
		err = report.SecretsText(o.Out, o.tableOut(o.Out), o.ErrOut, rep)
	}
	if err != nil {
		return err
	}
	for _, w := range rep.Warnings {
		fmt.Fprintf(o.ErrOut, "warning: %s\n", pipeline.OneLine(w))
	}
	return nil
}
