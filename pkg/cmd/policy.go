package cmd

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/imgtrust/kubectl-imgtrust/pkg/admission"
	"github.com/imgtrust/kubectl-imgtrust/pkg/pipeline"
	"github.com/imgtrust/kubectl-imgtrust/pkg/report"
	"github.com/imgtrust/kubectl-imgtrust/pkg/trustpolicy"
	"github.com/imgtrust/kubectl-imgtrust/pkg/workload"
)

// PolicyOptions generate, preview and roll out the admission policy.
type PolicyOptions struct {
	genericiooptions.IOStreams
	tableFlags
	configFlags *genericclioptions.ConfigFlags

	Name              string
	RequireDigest     bool
	AllowedRegistries []string
	ExemptImages      []string
	Actions           []string
	AllNamespaces     bool
	ExcludeNamespaces []string
	NamespaceSelector string
	Preview           bool
	Output            string
	Apply             bool
	Delete            bool
	Force             bool
	TrustPolicy       string
	For               string

	policy admission.Policy
	trust  *trustpolicy.Policy
	scope  workload.Scope
}

// NewCmdPolicy returns `kubectl imgtrust policy`.
func NewCmdPolicy(configFlags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *cobra.Command {
	o := &PolicyOptions{IOStreams: streams, configFlags: configFlags, Name: admission.DefaultName, Actions: []string{"Warn", "Audit"}}
	cmd := &cobra.Command{
		Use:   "policy (--require-digest | --allowed-registries PREFIX,...) [-n NS | -A] [--preview | --apply | --delete] | policy --trust-policy FILE --for ENGINE",
		Short: "Keep unpinned or foreign images out: generate, preview and roll out a ValidatingAdmissionPolicy",
		Long: `Generate a ValidatingAdmissionPolicy and its binding that the API server
enforces itself (Kubernetes 1.30 and later: no webhook, nothing to install), and
show which workloads it would deny today, with the fix for each.

Rules apply to every image the kubelet pulls (containers, init and ephemeral
containers, image volumes) of every kind holding a pod spec, and to kubectl
debug: --require-digest (name[:tag]@sha256:<64 hex>), --allowed-registries
(prefixes, host first, ending in "/"; short names such as nginx never match:
write docker.io/library/nginx), --exempt-images. Only images a request adds
are checked, so nothing running becomes un-updatable.

Without --apply the policy is printed (YAML on stdout), the preview on stderr.
Roll out in stages: --apply --actions Warn,Audit (the default), then --apply
--actions Deny, refused while the preview is not empty unless --force.
--delete removes what it made. kube-system is left out unless named with -n.

A ValidatingAdmissionPolicy cannot verify signatures: --trust-policy FILE
--for policy-controller|kyverno prints the trust policy's rules for an engine
that does (print only; what it cannot express is said on stderr).
Details: docs/policy.md.`,
		Example: `  # What would requiring digests from our registries deny in this namespace?
  kubectl imgtrust policy --require-digest --allowed-registries registry.acme.example/ --preview

  # Stage 1, every namespace: warn and record, refuse nothing
  kubectl imgtrust policy -A --require-digest --apply --actions Warn,Audit

  # Stage 2, once the preview is empty: refuse
  kubectl imgtrust policy -A --require-digest --apply --actions Deny

  # Print the policy for review or GitOps
  kubectl imgtrust policy -A --require-digest --exempt-images registry.k8s.io/pause > policy.yaml

  # Remove it
  kubectl imgtrust policy --delete

  # Signature rules for the sigstore policy-controller or Kyverno
  kubectl imgtrust policy --trust-policy trust.yaml --for kyverno > verify-images.yaml`,
		RunE: runFlow(o),
	}
	f := cmd.Flags()
	f.StringVar(&o.Name, "name", o.Name, "Name of the ValidatingAdmissionPolicy and its binding")
	f.BoolVar(&o.RequireDigest, "require-digest", false, "Require every image to be pinned by digest (name@sha256:...)")
	f.StringSliceVar(&o.AllowedRegistries, "allowed-registries", nil, "Registry prefixes images must start with, host first (e.g. registry.acme.example/,docker.io/library/)")
	f.StringSliceVar(&o.ExemptImages, "exempt-images", nil, "Repositories or prefixes no rule applies to (e.g. registry.k8s.io/pause)")
	f.StringSliceVar(&o.Actions, "actions", o.Actions, "What the binding does with a breaking request: Warn,Audit (stage 1) or Deny")
	f.BoolVarP(&o.AllNamespaces, "all-namespaces", "A", false, "Bind in every namespace but kube-system and --exclude-namespaces")
	f.StringSliceVar(&o.ExcludeNamespaces, "exclude-namespaces", nil, "With -A: namespaces the policy leaves alone (kube-system always is)")
	f.StringVar(&o.NamespaceSelector, "namespace-selector", "", "Only namespaces with these labels (e.g. env=prod)")
	f.BoolVar(&o.Preview, "preview", false, "Only print what the policy would deny today (-o json|yaml for machines)")
	f.StringVarP(&o.Output, "output", "o", "", "With --preview: json or yaml; else the policy as yaml (default) or json")
	f.BoolVar(&o.Apply, "apply", false, "Server-side apply the policy and its binding (field manager kubectl-imgtrust)")
	f.BoolVar(&o.Delete, "delete", false, "Delete the policy and binding kubectl-imgtrust made")
	f.BoolVar(&o.Force, "force", false, "Apply Deny although the preview is not empty; take over fields of another manager; delete what we did not make")
	f.StringVar(&o.TrustPolicy, "trust-policy", "", "TrustPolicy file whose rules --for renders for a signature-verifying engine")
	f.StringVar(&o.For, "for", "", "With --trust-policy: print its rules for "+strings.Join(admission.Engines, " or ")+" (print only)")
	o.tableFlags.AddFlags(cmd)
	return cmd
}

// Complete parses the rules and the scope.
func (o *PolicyOptions) Complete(args []string) error {
	if len(args) > 0 {
		return fmt.Errorf("policy takes no arguments (got %q): the scope is -n NAMESPACE or -A", strings.Join(args, " "))
	}
	if o.For != "" || o.TrustPolicy != "" {
		return o.completeEngine()
	}
	req := admission.Request{Name: o.Name, RequireDigest: o.RequireDigest, Allowed: o.AllowedRegistries, Exempt: o.ExemptImages,
		Actions: o.Actions, NamespaceSelector: o.NamespaceSelector, AllNamespaces: o.AllNamespaces, Exclude: o.ExcludeNamespaces}
	o.scope = workload.Scope{AllNamespaces: true}
	if !o.AllNamespaces {
		ns, _, err := o.configFlags.ToRawKubeConfigLoader().Namespace()
		if err != nil {
			return fmt.Errorf("reading the namespace from the kubeconfig: %w", err)
		}
		o.scope, req.Namespace = workload.Scope{Namespace: ns}, ns
	}
	var err error
	o.policy, err = req.Policy()
	return err
}

// Validate checks the flag combinations before anything is read.
func (o *PolicyOptions) Validate() error {
	if o.trust != nil {
		return report.ValidateFormat(o.Output, "", report.FormatJSON, report.FormatYAML)
	}
	switch {
	case o.Delete && (o.Apply || o.Preview):
		return errors.New("--delete removes the policy: it cannot be combined with --apply or --preview")
	case o.Delete:
		return nil
	case o.policy.Rules.Empty():
		return errors.New("no rule asked for: give --require-digest and/or --allowed-registries PREFIX,...")
	case o.Apply && o.Preview:
		return errors.New("--preview changes nothing and --apply applies: pick one")
	case len(o.ExcludeNamespaces) > 0 && !o.AllNamespaces:
		return errors.New("--exclude-namespaces applies with -A: with -n only that namespace is bound")
	}
	return report.ValidateFormat(o.Output, "", report.FormatJSON, report.FormatYAML)
}

// Run previews, prints or applies, and deletes.
func (o *PolicyOptions) Run(ctx context.Context) error {
	if o.trust != nil {
		return o.runEngine()
	}
	res, err := pipeline.Policy(ctx, pipeline.PolicyConfig{
		Cluster: pipeline.Cluster{Getter: o.configFlags, Scope: o.scope},
		Policy:  o.policy, Apply: o.Apply, Delete: o.Delete, Force: o.Force,
	})
	for _, w := range res.Warnings {
		fmt.Fprintf(o.ErrOut, "warning: %s\n", w)
	}
	var refused *pipeline.DenyRefused
	if err != nil && !errors.As(err, &refused) {
		return &exitError{Code: ExitError, Err: err}
	}
	if o.Delete {
		for _, d := range res.Done {
			fmt.Fprintln(o.ErrOut, d)
		}
		return nil
	}
	if err := o.print(res); err != nil {
		return &exitError{Code: ExitError, Err: err}
	}
	if err != nil {
		return &exitError{Code: ExitFindings, Err: err}
	}
	for _, d := range res.Done {
		fmt.Fprintln(o.ErrOut, d)
	}
	return nil
}

// print writes the preview, and the policy unless --preview or --apply.
func (o *PolicyOptions) print(res pipeline.PolicyResult) error {
	denies := o.policy.Denies()
	if o.Preview && o.Output != "" {
		return report.Encode(o.Out, o.Output, res.Impact)
	}
	if o.Preview {
		return report.PolicyPreview(o.Out, o.tableOut(o.Out), res.Impact, denies)
	}
	if err := report.PolicyPreview(o.ErrOut, o.ErrOut, res.Impact, denies); err != nil {
		return err
	}
	if o.Apply {
		return nil
	}
	return o.printPolicy()
}

// printPolicy writes the policy and its binding, as YAML documents or a
// JSON List, ready for kubectl apply -f.
func (o *PolicyOptions) printPolicy() error {
	objects, err := o.policy.Manifests()
	if err != nil {
		return err
	}
	return report.Objects(o.Out, o.Output, objects)
}

// completeEngine reads --trust-policy for --for. The engines verify
// signatures; the ValidatingAdmissionPolicy flags do not mix with them.
func (o *PolicyOptions) completeEngine() error {
	switch {
	case o.TrustPolicy == "":
		return fmt.Errorf("--for %s renders a trust policy: give --trust-policy FILE", o.For)
	case o.For == "":
		return fmt.Errorf("a ValidatingAdmissionPolicy cannot verify signatures (CEL makes no registry calls): add --for %s to render --trust-policy for an engine that does",
			strings.Join(admission.Engines, " or --for "))
	case !slices.Contains(admission.Engines, o.For):
		return fmt.Errorf("--for %q is not an engine: use %s", o.For, strings.Join(admission.Engines, " or "))
	case o.Apply || o.Delete || o.Preview:
		return errors.New("--for only prints the engine's policy (no --apply, --delete or --preview): review it, then kubectl apply -f")
	case o.RequireDigest || len(o.AllowedRegistries) > 0 || len(o.ExemptImages) > 0:
		return errors.New("--for renders the trust policy's signature rules; --require-digest, --allowed-registries and --exempt-images make the ValidatingAdmissionPolicy: run them apart")
	}
	p, err := trustpolicy.Load(o.TrustPolicy)
	if err != nil {
		return err
	}
	o.trust = p
	return nil
}

// runEngine prints the trust policy as the engine's objects, and on stderr
// what the engine cannot express.
func (o *PolicyOptions) runEngine() error {
	r, err := admission.RenderEngine(o.For, o.trust, o.Name)
	if err != nil {
		return &exitError{Code: ExitError, Err: err}
	}
	for _, w := range r.Warnings {
		fmt.Fprintf(o.ErrOut, "warning: %s\n", w)
	}
	if len(r.Objects) == 0 {
		return &exitError{Code: ExitError, Err: fmt.Errorf("%s: no rule can be expressed for %s", o.TrustPolicy, o.For)}
	}
	if err := report.Objects(o.Out, o.Output, r.Objects); err != nil {
		return &exitError{Code: ExitError, Err: err}
	}
	return nil
}
