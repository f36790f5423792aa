package cmd

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/kubernetes"

	"github.com/imgtrust/kubectl-imgtrust/pkg/coverage"
	"github.com/imgtrust/kubectl-imgtrust/pkg/pipeline"
	"github.com/imgtrust/kubectl-imgtrust/pkg/pullsecret"
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

	Output string
	Verify bool
	FailOn []string

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
  node-provided?          no secret, yet pods run the image: the node has
                          credentials or a cached image, which the API cannot show
  unknown                 cannot tell (secrets unreadable, or no secret and no
                          --verify to learn whether the registry is public)

After the table come namespace findings: unused pull secrets, references to
secrets that exist only in another namespace, and service accounts naming
missing secrets, each with a fix.

--verify checks each distinct credential once against its registry (a token
exchange for pull access, or one authenticated GET /v2/), never pulls and
never retries a credential, since registries lock accounts. Passwords,
tokens and auth values are never printed; usernames are.`,
		Example: `  # Coverage in the current namespace
  kubectl imgtrust secrets

  # Every namespace, asking the registries whether the credentials work
  kubectl imgtrust secrets -A --verify

  # Some workloads only
  kubectl imgtrust secrets deploy/web sts/db -n shop
  kubectl imgtrust secrets -l app=web

  # CI: fail when a pull would break
  kubectl imgtrust secrets -A --fail-on=missing-secret,invalid-secret,credential-rejected -o json`,
		RunE: runFlow(o),
	}
	o.scopeFlags.AddFlags(cmd, false)
	cmd.Flags().StringVarP(&o.Output, "output", "o", "", "Output format: json, yaml or sarif (SARIF 2.1.0 for code scanning; default: a table)")
	o.tableFlags.AddFlags(cmd)
	cmd.Flags().BoolVar(&o.Verify, "verify", false, "Check each matching credential, and anonymous access where none matches, against the registry (no pulls, one try per credential)")
	cmd.Flags().StringSliceVar(&o.FailOn, "fail-on", nil, "Exit 1 when a row has one of these statuses, e.g. missing-secret,invalid-secret")
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
	return nil
}

// Validate checks the flags.
func (o *SecretsOptions) Validate() error {
	if err := report.ValidateFormat(o.Output, report.FormatTable, report.FormatJSON, report.FormatYAML, report.FormatSARIF); err != nil {
		return err
	}
	return o.connectionFlags.Validate()
}

// Run discovers the workloads, reads their namespaces' pull secrets and
// service accounts once, optionally asks the registries, and prints.
func (o *SecretsOptions) Run(ctx context.Context) error {
	var verifier *registry.Verifier
	if o.Verify {
		var err error
		if verifier, err = registry.NewVerifier(o.connectionFlags.Options()); err != nil {
			return &exitError{Code: ExitError, Err: err}
		}
	}
	var rep coverage.Report
	contextFailed := false
	if len(o.contexts) > 0 {
		rep, contextFailed = o.secretsContexts(ctx, verifier)
	} else {
		res, err := o.secretsCluster(ctx, pipeline.Cluster{Getter: o.configFlags, Scope: o.scope}, verifier)
		if err != nil {
			return &exitError{Code: ExitError, Err: err}
		}
		rep = coverage.NewReport(report.APIVersion, res, o.Verify)
	}
	if err := o.print(rep); err != nil {
		return &exitError{Code: ExitError, Err: err}
	}
	if contextFailed {
		return &exitError{Code: ExitError} // said in the warnings, after every other context
	}
	if rep.Has(o.failOn) {
		return &exitError{Code: ExitFindings}
	}
	return nil
}

// secretsCluster computes the coverage of one cluster (one kubeconfig
// context).
func (o *SecretsOptions) secretsCluster(ctx context.Context, c pipeline.Cluster, verifier *registry.Verifier) (coverage.Result, error) {
	scope := c.Scope
	found, err := c.Discover(ctx)
	if err != nil {
		return coverage.Result{}, err
	}
	client, err := c.Client()
	if err != nil {
		return coverage.Result{}, err
	}
	whole := len(scope.Args) == 0 && scope.Selector == ""
	namespaces := namespacesOf(ctx, client, scope, found, whole)
	store := pullsecret.LoadStore(ctx, client, pullsecret.Load{
		Namespaces:  namespaces,
		Referenced:  pipeline.ReferencedSecrets(found.Workloads),
		ClusterWide: found.ClusterWide,
	})
	in := coverage.Input{Workloads: found.Workloads, Store: store, Namespaces: namespaces, WholeNamespaces: whole}
	in.Elsewhere = locateMissing(ctx, client, store, namespaces, coverage.MissingNames(in))
	if verifier != nil {
		in.Verdicts = verifyAll(ctx, verifier, coverage.Checks(in))
	}
	res := coverage.Evaluate(in)
	res.Warnings = append(append([]string(nil), found.Warnings...), res.Warnings...)
	return res, nil
}

// secretsContexts computes every context's coverage at once; a context
// that cannot be read is a warning and the others are reported in full.
func (o *SecretsOptions) secretsContexts(ctx context.Context, verifier *registry.Verifier) (coverage.Report, bool) {
	results, errs := pipeline.EachContext(ctx, o.configFlags, o.contexts, o.scopeFlags.scopeFor(o.args),
		func(ctx context.Context, c pipeline.Cluster) (coverage.Result, error) {
			return o.secretsCluster(ctx, c, verifier)
		})
	var all coverage.Result
	failed := false
	for i, name := range o.contexts {
		if errs[i] != nil {
			failed = true
			all.Warnings = append(all.Warnings, fmt.Sprintf("context %s: %s", name, pipeline.ErrorLine(errs[i])))
			continue
		}
		for _, row := range results[i].Rows {
			row.Context = name
			all.Rows = append(all.Rows, row)
		}
		for _, f := range results[i].Findings {
			f.Context = name
			f.Fix = pipeline.FixInContext(f.Fix, name)
			all.Findings = append(all.Findings, f)
		}
		for _, w := range results[i].Warnings {
			all.Warnings = append(all.Warnings, fmt.Sprintf("context %s: %s", name, w))
		}
	}
	return coverage.NewReport(report.APIVersion, all, o.Verify), failed
}

func (o *SecretsOptions) print(rep coverage.Report) error {
	switch o.Output {
	case report.FormatSARIF:
		if err := report.Encode(o.Out, report.FormatJSON, sarif.FromSecrets(rep, version.Get().Version)); err != nil {
			return err
		}
	case report.FormatJSON, report.FormatYAML:
		if err := report.Encode(o.Out, o.Output, rep); err != nil {
			return err
		}
	default:
		if len(rep.Items) == 0 {
			fmt.Fprintln(o.ErrOut, "No workloads with container images found in scope.")
		} else if err := report.SecretsTable(o.tableOut(o.Out), rep); err != nil {
			return err
		}
		if err := report.SecretsFindings(o.Out, rep); err != nil {
			return err
		}
	}
	for _, w := range rep.Warnings {
		fmt.Fprintf(o.ErrOut, "warning: %s\n", pipeline.OneLine(w))
	}
	return nil
}

// namespaces are those of the workloads found, plus the current namespace
// (it may hold pull secrets but no workload); with -A and no narrowing,
// every namespace the user may list.
func namespacesOf(ctx context.Context, client kubernetes.Interface, scope workload.Scope, found *workload.Discovery, whole bool) []string {
	set := map[string]bool{}
	for _, ns := range found.Namespaces() {
		set[ns] = true
	}
	switch {
	case !scope.AllNamespaces && whole:
		set[scope.Namespace] = true
	case scope.AllNamespaces && whole:
		for _, ns := range listNamespaces(ctx, client) {
			set[ns] = true
		}
	}
	delete(set, "")
	return slices.Sorted(maps.Keys(set))
}
