package cmd

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/klog/v2"

	"github.com/imgtrust/kubectl-imgtrust/pkg/audit"
	"github.com/imgtrust/kubectl-imgtrust/pkg/pipeline"
	"github.com/imgtrust/kubectl-imgtrust/pkg/provenance"
	"github.com/imgtrust/kubectl-imgtrust/pkg/registry"
	"github.com/imgtrust/kubectl-imgtrust/pkg/report"
	"github.com/imgtrust/kubectl-imgtrust/pkg/sarif"
	"github.com/imgtrust/kubectl-imgtrust/pkg/trustpolicy"
	"github.com/imgtrust/kubectl-imgtrust/pkg/version"
	"github.com/imgtrust/kubectl-imgtrust/pkg/workload"
)

// AuditOptions classifies every image reference in scope.
type AuditOptions struct {
	genericiooptions.IOStreams
	tableFlags
	configFlags *genericclioptions.ConfigFlags
	scopeFlags
	registryFlags

	Output            string
	AllowedRegistries []string
	FailOn            string
	Offline           bool
	IgnoreErrors      bool
	signatureFlags
	provenanceFlags
	reportFlags
	contextFlags

	args     []string
	contexts []string
	shared   *pipeline.Shared // registry reads of all contexts
	scope    workload.Scope
	allowed  []audit.AllowedRegistry
	failOn   audit.Severity
	resolver *registry.Resolver
	progress *progressLine
}

// NewAuditOptions returns options with kubectl's defaults.
func NewAuditOptions(configFlags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *AuditOptions {
	return &AuditOptions{IOStreams: streams, configFlags: configFlags, FailOn: string(audit.SeverityNone)}
}

// NewCmdAudit returns `kubectl imgtrust audit`.
func NewCmdAudit(configFlags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *cobra.Command {
	o := NewAuditOptions(configFlags, streams)
	cmd := &cobra.Command{
		Use:   "audit [TYPE[.VERSION][.GROUP] [NAME] | TYPE[.VERSION][.GROUP]/NAME ...]",
		Short: "Classify every container image in use: mutable tags, stale pods, disallowed registries",
		Long: `Audit every container image reference in scope, as the kubelet sees it.

Each image usage is reported once, at its top owner (Pod -> ReplicaSet ->
Deployment, Pod -> Job -> CronJob), with the digests its pods run. Findings:

` + audit.HelpTable(audit.CheckSpec) + "\n" + audit.HelpTable(audit.CheckRegistry) + `

With --signatures (implied by --verify-key, --trust-cert and --trust-policy),
for the digest the pods run (else the spec's, else what the tag points at
now). --trust-policy FILE says which keys or certificates must sign which
images (the first rule whose images match decides):

` + audit.HelpTable(audit.CheckSignatures) + `

With --provenance (and --max-age), for the same digest: OCI annotations,
config labels (org.opencontainers.image.*, org.label-schema.*) and the SLSA
provenance BuildKit attaches, at most 5 registry requests per digest:

` + audit.HelpTable(audit.CheckProvenance) + `

With --updates, for tags that are versions ([v]1.2.3[-suffix]; latest, dates
and hashes are skipped), the repository's tags are listed once:

` + audit.HelpTable(audit.CheckUpdates) + `

The registry findings use the pods' own pull secrets (then your docker
config standing in for the node's; anonymous only when none matched);
--offline skips them. With -f the manifests are read locally and the
registry is not asked.

--write-reports writes one OpenReports Report (openreports.io/v1alpha1,
read by Kyverno and Policy Reporter) per namespace: a result per finding
(fail, warn for low, error where the registry could not answer) and a pass
per clean container. It is server-side applied by field manager
kubectl-imgtrust; results that no longer hold go, and so do our Reports in
audited namespaces without workloads. -o openreports prints them instead.`,
		Example: `  # Audit every namespace
  kubectl imgtrust audit -A

  # One namespace, with registry, pod count and running digests
  kubectl imgtrust audit -n shop -o wide

  # Named workloads, and workloads selected by label
  kubectl imgtrust audit deploy/web sts/db
  kubectl imgtrust audit -l app=web

  # Manifests on disk, for CI: fail on medium or worse
  kubectl imgtrust audit -f manifests/ -R --fail-on=medium

  # Is every running image signed by our cosign key, or our Notation CA?
  kubectl imgtrust audit -A --verify-key cosign.pub --trust-cert notation-ca.pem

  # Each image held to the authority that signs it (a TrustPolicy file)
  kubectl imgtrust audit -A --trust-policy trust.yaml -o wide

  # Keyless: every image signed by our release workflow, against a trusted root
  kubectl imgtrust audit -A --trusted-root trusted_root.json \
    --certificate-identity-regexp '^https://github.com/acme/' \
    --certificate-oidc-issuer https://token.actions.githubusercontent.com

  # Where each running image came from, and which are older than half a year
  kubectl imgtrust audit -A --provenance --max-age 180d -o wide

  # Which workloads run an old release of their image?
  kubectl imgtrust audit -A --updates

  # Results where Kyverno's Policy Reporter shows them: one OpenReports
  # Report per namespace (kubectl get reports -A)
  kubectl imgtrust audit -A --write-reports

  # Only allow images from our registry
  kubectl imgtrust audit -A --allowed-registries=ghcr.io/acme,registry.acme.dev -o json`,
		RunE: runFlow(o),
	}
	o.scopeFlags.AddFlags(cmd, true)
	o.registryFlags.AddFlags(cmd)
	cmd.Flags().StringVarP(&o.Output, "output", "o", "", "Output format: wide, json, yaml, sarif (SARIF 2.1.0 for code scanning) or openreports (the Reports --write-reports would write, as a List); default: a table")
	o.tableFlags.AddFlags(cmd)
	cmd.Flags().StringSliceVar(&o.AllowedRegistries, "allowed-registries", nil, "Registries (host, or host/path prefix) images may come from; others get disallowed-registry")
	cmd.Flags().StringVar(&o.FailOn, "fail-on", o.FailOn, "Exit 1 when a finding at or above this severity exists: none, low, medium or high")
	cmd.Flags().BoolVar(&o.IgnoreErrors, "ignore-errors", false, "With -f: report what could be read and do not fail on files that could not be read or parsed (they are still named)")
	cmd.Flags().BoolVar(&o.Offline, "offline", false, "Do not ask registries: skip tag-moved, unresolvable, no-credentials and signatures")
	o.signatureFlags.AddFlags(cmd)
	o.provenanceFlags.AddFlags(cmd)
	o.reportFlags.AddFlags(cmd)
	o.contextFlags.AddFlags(cmd)
	cmd.Flags().BoolVar(&o.RequireSignature, "require-signature", false, "Make unsigned a high finding")
	return cmd
}

// Complete reads the namespace and parses list flags.
func (o *AuditOptions) Complete(args []string) error {
	var err error
	o.args = args
	if o.scope, err = o.scopeFlags.Scope(o.configFlags, args); err != nil {
		return err
	}
	if o.contexts, err = o.contextFlags.names(o.configFlags); err != nil {
		return err
	}
	if o.allowed, err = audit.ParseAllowedRegistries(o.AllowedRegistries); err != nil {
		return err
	}
	if o.failOn, err = audit.ParseSeverity(o.FailOn); err != nil {
		return fmt.Errorf("--fail-on: %w", err)
	}
	if o.scope.Offline() {
		o.Offline = true // manifests name no running pods or readable secrets
	}
	if err := o.provenanceFlags.Complete(); err != nil {
		return err
	}
	if (o.provenanceFlags.Enabled() || o.Updates) && o.Offline {
		fmt.Fprintln(o.ErrOut, "warning: provenance, age and newer releases are not read with --offline or -f: they live in the registry")
	}
	if o.signatureFlags.Enabled() && o.Offline {
		fmt.Fprintln(o.ErrOut, "warning: signatures are not checked with --offline or -f: they live in the registry")
		if o.TrustPolicy != "" {
			_, err := trustpolicy.Load(o.TrustPolicy) // bad input is said all the same
			return err
		}
		return nil
	}
	if o.provenanceFlags.Enabled() {
		// cosign's SLSA attestations are found with the signatures.
		o.signatureFlags.attestations = provenance.IsSLSA
	}
	return o.signatureFlags.Complete(o.configFlags)
}

// Validate checks the flags.
func (o *AuditOptions) Validate() error {
	if err := report.ValidateFormat(o.Output, report.FormatTable, report.FormatWide, report.FormatJSON, report.FormatYAML, report.FormatSARIF, report.FormatOpenReports); err != nil {
		return err
	}
	if len(o.contexts) > 0 && o.scope.Offline() {
		return errors.New("--contexts and --all-contexts read clusters and cannot be combined with -f")
	}
	if err := o.reportFlags.validate(o.scope, o.Output, len(o.contexts)); err != nil {
		return err
	}
	if o.Offline {
		return nil
	}
	return o.registryFlags.Validate()
}

// Run discovers, evaluates, optionally asks the registries, and prints.
func (o *AuditOptions) Run(ctx context.Context) error {
	if err := o.reportFlags.prepare(o.configFlags); err != nil {
		return &exitError{Code: ExitError, Err: err}
	}
	if !o.Offline {
		var err error
		opts := o.registryFlags.Options("")
		o.progress = newProgress(o.ErrOut)
		opts.Progress = o.progress.Func()
		if o.resolver, err = registry.New(opts); err != nil {
			return &exitError{Code: ExitError, Err: err}
		}
	}
	var rep audit.Report
	var listingComplete, contextFailed bool
	var skipped int
	if len(o.contexts) > 0 {
		rep, contextFailed = o.auditContexts(ctx)
	} else {
		one, err := o.auditCluster(ctx, pipeline.Cluster{Getter: o.configFlags, Scope: o.scope})
		if err != nil {
			return &exitError{Code: ExitError, Err: err}
		}
		rep = audit.NewReport(report.APIVersion, one.items, !o.Offline, one.warnings)
		rep.Summary.Cost = one.cost
		rep.Summary.InputErrors = one.inputErrors
		skipped = one.skipped
		listingComplete = one.listingComplete
	}
	warnings := rep.Summary.Warnings

	switch o.Output {
	case report.FormatOpenReports:
		if err := printReports(o.Out, rep); err != nil {
			return &exitError{Code: ExitError, Err: err}
		}
		for _, w := range warnings {
			fmt.Fprintf(o.ErrOut, "warning: %s\n", w)
		}
	case report.FormatSARIF:
		if err := report.Encode(o.Out, report.FormatJSON, sarif.FromAudit(rep, version.Get().Version, workingDir())); err != nil {
			return &exitError{Code: ExitError, Err: err}
		}
		for _, w := range warnings {
			fmt.Fprintf(o.ErrOut, "warning: %s\n", w)
		}
	case report.FormatJSON, report.FormatYAML:
		if err := report.Encode(o.Out, o.Output, rep); err != nil {
			return &exitError{Code: ExitError, Err: err}
		}
		for _, w := range warnings {
			fmt.Fprintf(o.ErrOut, "warning: %s\n", w)
		}
	default:
		if len(rep.Items) == 0 {
			for _, w := range warnings {
				fmt.Fprintf(o.ErrOut, "warning: %s\n", w)
			}
			switch {
			case len(rep.Summary.InputErrors) > 0: // the error says it
			case skipped > 0:
				fmt.Fprintln(o.ErrOut, "No workloads with a pod template found in scope; the skipped objects above were not audited.")
			default:
				fmt.Fprintln(o.ErrOut, "No workloads with container images found in scope.")
			}
			break
		}
		if err := report.AuditTable(o.tableOut(o.Out), rep, o.Output == report.FormatWide); err != nil {
			return &exitError{Code: ExitError, Err: err}
		}
		report.AuditSummary(o.ErrOut, rep)
	}
	if o.WriteReports {
		if err := o.reportFlags.write(ctx, o.ErrOut, rep, o.scope, listingComplete); err != nil {
			return err
		}
	}
	if contextFailed {
		return &exitError{Code: ExitError} // said in the warnings, after every other context
	}
	if len(rep.Summary.InputErrors) > 0 && !o.IgnoreErrors {
		// Fail closed: a gate must not pass on a file it never read.
		return &exitError{Code: ExitError, Err: fmt.Errorf("%s could not be read (see the warnings): fix it, or pass --ignore-errors to report the rest", inputCount(len(rep.Summary.InputErrors)))}
	}
	if rep.Exceeds(o.failOn) {
		return &exitError{Code: ExitFindings}
	}
	return nil
}

// clusterAudit is what one cluster's audit found.
type clusterAudit struct {
	items    []audit.Item
	warnings []string
	cost     *audit.Cost
	// listingComplete is false when RBAC hid some kinds or namespaces.
	listingComplete bool
	// inputErrors are -f inputs that could not be read.
	inputErrors []workload.InputError
	// skipped counts -f objects of kinds without a pod template.
	skipped int
}

// auditCluster audits one cluster (one kubeconfig context): discovery,
// the rules, and the registry stage on the shared resolver.
func (o *AuditOptions) auditCluster(ctx context.Context, c pipeline.Cluster) (clusterAudit, error) {
	found, err := c.Discover(ctx)
	if err != nil {
		return clusterAudit{}, err
	}
	out := clusterAudit{
		items:           audit.Evaluate(found.Workloads, audit.Options{AllowedRegistries: o.allowed, FromFiles: c.Scope.Offline()}),
		warnings:        found.Warnings,
		listingComplete: len(found.Warnings) == 0,
		inputErrors:     found.InputErrors,
	}
	for _, e := range found.InputErrors {
		out.warnings = append(out.warnings, "cannot read "+e.Error())
	}
	out.skipped = len(found.Skipped)
	if line := skippedSummary(found.Skipped, klog.V(1).Enabled()); line != "" {
		out.warnings = append(out.warnings, line)
		if klog.V(1).Enabled() {
			for _, s := range found.Skipped {
				fmt.Fprintf(o.ErrOut, "skipped %s %s (%s:%d): no pod template\n", s.Kind, s.Name, s.Source, s.Line)
			}
		}
	}
	if !o.Offline {
		var more []string
		more, out.cost = o.resolve(ctx, c, found, out.items)
		out.warnings = append(out.warnings, more...)
	}
	return out, nil
}

// auditContexts audits every context of --contexts at once with one
// resolver, so an image that runs in many clusters is asked for once per
// credential. A context that cannot be read is a warning; the others are
// reported in full. It reports whether any context failed.
func (o *AuditOptions) auditContexts(ctx context.Context) (audit.Report, bool) {
	o.shared = &pipeline.Shared{}
	results, errs := pipeline.EachContext(ctx, o.configFlags, o.contexts, o.scopeFlags.scopeFor(o.args), o.auditCluster)
	var items []audit.Item
	var warnings []string
	var cost *audit.Cost
	failed := map[string]string{}
	for i, name := range o.contexts {
		if errs[i] != nil {
			failed[name] = pipeline.ErrorLine(errs[i])
			warnings = append(warnings, fmt.Sprintf("context %s: %s", name, failed[name]))
			continue
		}
		for _, it := range results[i].items {
			it.Context = name
			for k := range it.Findings {
				it.Findings[k].Fix = pipeline.FixInContext(it.Findings[k].Fix, name)
			}
			items = append(items, it)
		}
		for _, w := range results[i].warnings {
			warnings = append(warnings, fmt.Sprintf("context %s: %s", name, w))
		}
		cost = cost.Add(results[i].cost)
	}
	rep := audit.NewReport(report.APIVersion, items, !o.Offline, warnings)
	rep.Summary.Cost = cost
	rep.Summary.Contexts = audit.SummarizeContexts(rep.Items, o.contexts, failed)
	return rep, len(failed) > 0
}

// resolve runs the registry stage of the audit: resolutions, credentials
// and, when asked, signatures (pkg/pipeline).
func (o *AuditOptions) resolve(ctx context.Context, c pipeline.Cluster, found *workload.Discovery, items []audit.Item) ([]string, *audit.Cost) {
	client, err := c.Client()
	if err != nil {
		return []string{"registry checks skipped: " + err.Error()}, nil
	}
	stage := pipeline.AuditStage{
		Resolver: o.resolver, Signatures: o.authorities, RequireSignature: o.RequireSignature,
		Concurrency: o.Concurrency, Done: o.progress.Done,
		Provenance: o.provenanceFlags.Enabled(), ProvenanceOptions: o.provenanceFlags.Options(time.Now(), o.authorities != nil),
		Platform: o.provenanceFlags.platform, Updates: o.provenanceFlags.Updates,
		Shared: o.shared,
	}
	if stage.Provenance || stage.Updates {
		stage.Cost = &audit.Cost{}
	}
	return stage.Run(ctx, client, found, items), stage.Cost
}

// skippedSummary is one line for the -f objects without a pod template,
// however many; -v=1 lists them (listed says it does).
func skippedSummary(skipped []workload.Skipped, listed bool) string {
	if len(skipped) == 0 {
		return ""
	}
	kinds := map[string]bool{}
	for _, s := range skipped {
		kinds[s.Kind] = true
	}
	line := fmt.Sprintf("skipped %s of %s without a pod template (%s): images they may hold are not audited",
		count(len(skipped), "object"), count(len(kinds), "kind"), strings.Join(slices.Sorted(maps.Keys(kinds)), ", "))
	if !listed {
		line += "; -v=1 lists them"
	}
	return line
}

func count(n int, thing string) string {
	if n == 1 {
		return "1 " + thing
	}
	return fmt.Sprintf("%d %ss", n, thing)
}

// workingDir is where SARIF's %SRCROOT% points: relative URIs of -f
// results are relative to it.
func workingDir() string {
	wd, err := os.Getwd()
	if err != nil {
		return ""
	}
	return wd
}

func inputCount(n int) string {
	if n == 1 {
		return "1 -f input"
	}
	return fmt.Sprintf("%d -f inputs", n)
}
