package cmd

import (
	"context"
	"errors"
	"fmt"
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
	"github.com/imgtrust/kubectl-imgtrust/pkg/signature"
	"github.com/imgtrust/kubectl-imgtrust/pkg/trustpolicy"
	"github.com/imgtrust/kubectl-imgtrust/pkg/vulns"
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
	vulnFlags
	reportFlags
	contextFlags
	cacheFlags

	// attestationKinds name the kinds signatures are read with, for the
	// fact cache's key.
	attestationKinds []string
	args             []string
	contexts         []string
	scope            workload.Scope
	allowed          []audit.AllowedRegistry
	failOn           audit.Severity
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
images (the first rule whose images match decides); --trust-policy=cluster
reads the cluster's sigstore policy-controller ClusterImagePolicies and
reports the running images they would reject today:

` + audit.HelpTable(audit.CheckSignatures) + `

With --provenance (and --max-age), for the same digest: OCI annotations,
config labels (org.opencontainers.image.*, org.label-schema.*) and the SLSA
provenance BuildKit attaches, at most 5 registry requests per digest:

` + audit.HelpTable(audit.CheckProvenance) + `

With --updates, for tags that are versions ([v]1.2.3[-suffix]; latest, dates
and hashes are skipped), the repository's tags are listed once:

` + audit.HelpTable(audit.CheckUpdates) + `

With --vulnerabilities, what the Trivy Operator's VulnerabilityReports say of
the digest each container runs (a report of another digest is said as such;
one paged LIST per namespace, no scan); with signatures checked, and without
--provenance, also a cosign vulnerability attestation of that digest:

` + audit.HelpTable(audit.CheckVulnerabilities) + `

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

  # Running images the cluster's sigstore policy-controller policies would reject today
  kubectl imgtrust audit -A --trust-policy=cluster

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
	o.registryFlags.AddArtifactBudgetFlag(cmd)
	cmd.Flags().StringVarP(&o.Output, "output", "o", "", "Output format: wide, json, yaml, sarif (SARIF 2.1.0 for code scanning) or openreports (the Reports --write-reports would write, as a List); default: a table")
	o.tableFlags.AddFlags(cmd)
	cmd.Flags().StringSliceVar(&o.AllowedRegistries, "allowed-registries", nil, "Registries (host, or host/path prefix) images may come from; others get disallowed-registry")
	cmd.Flags().StringVar(&o.FailOn, "fail-on", o.FailOn, "Exit 1 when a finding at or above this severity exists: none, low, medium or high")
	cmd.Flags().BoolVar(&o.IgnoreErrors, "ignore-errors", false, "With -f: report what could be read and do not fail on files that could not be read or parsed (they are still named)")
	cmd.Flags().BoolVar(&o.Offline, "offline", false, "Do not ask registries: skip tag-moved, unresolvable, no-credentials and signatures")
	o.signatureFlags.AddFlags(cmd)
	o.provenanceFlags.AddFlags(cmd)
	o.vulnFlags.AddFlags(cmd)
	o.reportFlags.AddFlags(cmd)
	o.contextFlags.AddFlags(cmd)
	o.cacheFlags.AddFlags(cmd)
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
	if err := o.vulnFlags.Complete(); err != nil {
		return err
	}
	if o.vulnFlags.Enabled() && o.scope.Offline() {
		fmt.Fprintln(o.ErrOut, "warning: vulnerability reports are not read with -f: they live in the cluster")
	}
	if (o.provenanceFlags.Enabled() || o.Updates) && o.Offline {
		fmt.Fprintln(o.ErrOut, "warning: provenance, age and newer releases are not read with --offline or -f: they live in the registry")
	}
	if o.signatureFlags.Enabled() && o.Offline {
		fmt.Fprintln(o.ErrOut, "warning: signatures are not checked with --offline or -f: they live in the registry")
		if o.TrustPolicy != "" && o.TrustPolicy != pipeline.ClusterTrustPolicy {
			_, err := trustpolicy.Load(o.TrustPolicy) // bad input is said all the same
			return err
		}
		return nil
	}
	// cosign's SLSA attestations, imgtrust sign's checks, vulnerability
	// and SBOM attestations are found with the signatures, in the one
	// lookup (the best of each kind).
	var kinds []func(string) bool
	if o.provenanceFlags.Enabled() {
		kinds = append(kinds, provenance.IsRead)
		o.attestationKinds = append(o.attestationKinds, "provenance")
	}
	if o.vulnFlags.Enabled() {
		kinds = append(kinds, vulns.IsCosignVuln, vulns.IsSBOM, vulns.IsOpenVEX)
		o.attestationKinds = append(o.attestationKinds, "vulnerabilities", "sbom", "openvex")
	}
	if len(kinds) > 0 {
		o.signatureFlags.Attestations = signature.AnyAttestation(kinds...)
	}
	o.KeysPerContext = len(o.contexts) > 0 // k8s:// keys: each context's own
	if o.TrustPolicy == pipeline.ClusterTrustPolicy && len(o.contexts) > 0 {
		return errors.New("--trust-policy=cluster reads one cluster's ClusterImagePolicies: audit one context at a time (--context NAME)")
	}
	return o.signatureFlags.CompleteTo(o.configFlags, o.ErrOut)
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
	if err := o.cacheFlags.Validate(); err != nil {
		return err
	}
	return o.registryFlags.Validate()
}

// Run audits through the pipeline, prints the report, writes the Reports
// and turns the result into the exit code.
func (o *AuditOptions) Run(ctx context.Context) error {
	if err := o.reportFlags.prepare(o.configFlags); err != nil {
		return &exitError{Code: ExitError, Err: err}
	}
	cfg, err := o.auditConfig()
	if err != nil {
		return &exitError{Code: ExitError, Err: err}
	}
	res, err := pipeline.Audit(ctx, cfg)
	if err != nil {
		return &exitError{Code: ExitError, Err: err}
	}
	if c := cfg.Stage.Facts; c != nil && klog.V(1).Enabled() {
		s := c.Stats()
		fmt.Fprintf(o.ErrOut, "cache %s: %d digest facts read from it, %d asked of the registry, %d kept\n", c.Dir(), s.Hits, s.Misses, s.Puts)
	}
	if err := o.print(res); err != nil {
		return &exitError{Code: ExitError, Err: err}
	}
	if o.WriteReports {
		if err := o.reportFlags.write(ctx, o.ErrOut, res.Report, o.scope, res.ListingComplete); err != nil {
			return err
		}
	}
	return o.exit(res)
}

// auditConfig is the pipeline's view of the flags; online, it holds the
// resolver every context shares.
func (o *AuditOptions) auditConfig() (pipeline.AuditConfig, error) {
	cfg := pipeline.AuditConfig{
		Cluster:           pipeline.Cluster{Getter: o.configFlags, Scope: o.scope},
		AllowedRegistries: o.allowed,
		Offline:           o.Offline,
		SkippedListed:     klog.V(1).Enabled(),
		Events:            o.event,
		Vulnerabilities:   o.vulnFlags.Options(time.Now()),
	}
	if len(o.contexts) > 0 {
		cfg.Base, cfg.Contexts, cfg.ScopeFor = o.configFlags, o.contexts, o.scopeFlags.scopeFor(o.args)
	}
	if o.Offline {
		return cfg, nil
	}
	opts := o.registryFlags.Options("")
	progress := report.NewProgress(o.ErrOut)
	opts.Progress = progress.Func()
	resolver, err := registry.New(opts)
	if err != nil {
		return cfg, err
	}
	cfg.Stage = pipeline.AuditStage{
		Resolver: resolver, Signatures: o.authorities, RequireSignature: o.RequireSignature,
		Concurrency: o.Concurrency, Done: progress.Done,
		Provenance: o.provenanceFlags.Enabled(), ProvenanceOptions: o.provenanceFlags.Options(time.Now(), o.authorities != nil),
		Platform: o.provenanceFlags.platform, Updates: o.provenanceFlags.Updates,
		Facts: o.cacheFlags.open(o.ErrOut),
	}
	if o.authorities != nil {
		cfg.Stage.FactsAuthorities, _ = o.SignatureConfig.FactsKey(o.attestationKinds...)
	}
	return cfg, nil
}
