package cmd

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"sigs.k8s.io/yaml"

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
enforces itself (admissionregistration.k8s.io/v1, Kubernetes 1.30 and later: no
webhook, nothing to install), and show which workloads it would deny today.

Rules, for every image the kubelet pulls (containers, init and ephemeral
containers, image volumes) of Pods, PodTemplates, Deployments, ReplicaSets,
StatefulSets, DaemonSets, Jobs, CronJobs and ReplicationControllers, and for
kubectl debug (pods/ephemeralcontainers):
  --require-digest        images end in @sha256:<64 hex> (a tag before it is fine)
  --allowed-registries    images start with one of these prefixes. Prefixes
                          end in "/" (registry.acme.example never matches
                          registry.acme.example.evil.com); short names such as
                          nginx are never matched: write docker.io/library/nginx.
  --exempt-images         repositories or prefixes no rule applies to.
Only images a request adds are checked: an update that keeps a workload's
images passes, so nothing running becomes un-updatable.

Without --apply the policy is printed (YAML on stdout) and the preview, what
it would deny today with the fix for each, goes to stderr. Roll out in stages:
--apply --actions Warn,Audit (the default actions) warns whoever applies a
breaking object and records it in the audit log; --apply --actions Deny
refuses them, and is itself refused while the preview is not empty, unless
--force. --apply server-side applies with field manager kubectl-imgtrust;
--delete removes what it made. kube-system is left out unless named with -n.

Signatures cannot be checked by a ValidatingAdmissionPolicy (CEL makes no
registry calls): --trust-policy FILE --for ENGINE prints the trust policy's
rules for an engine that verifies them, one cluster-wide object per rule:
  --for policy-controller  sigstore policy-controller ClusterImagePolicy
                           (policy.sigstore.dev/v1beta1); require is enforced,
                           verify warns, ignore passes. It has no Notation.
  --for kyverno            Kyverno ImageValidatingPolicy (policies.kyverno.io/v1):
                           require is denied (the verified digest pinned),
                           verify warns and audits.
What an engine cannot express is said on stderr, one line per rule and field.
--for only prints (no --apply, --preview or --delete): review, then kubectl apply.`,
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
	var err error
	p := admission.Policy{Name: o.Name, Rules: admission.Rules{RequireDigest: o.RequireDigest}}
	if p.Rules.Allowed, err = admission.ParsePrefixes("--allowed-registries", o.AllowedRegistries); err != nil {
		return err
	}
	if p.Rules.Exempt, err = admission.ParseExempt(o.ExemptImages); err != nil {
		return err
	}
	if p.Actions, err = admission.ParseActions(o.Actions); err != nil {
		return err
	}
	if o.NamespaceSelector != "" {
		if p.Scope.Selector, err = metav1.ParseToLabelSelector(o.NamespaceSelector); err != nil {
			return fmt.Errorf("--namespace-selector %q: %w", o.NamespaceSelector, err)
		}
	}
	if o.AllNamespaces {
		o.scope = workload.Scope{AllNamespaces: true}
		p.Scope.Exclude = o.ExcludeNamespaces
	} else {
		ns, _, err := o.configFlags.ToRawKubeConfigLoader().Namespace()
		if err != nil {
			return fmt.Errorf("reading the namespace from the kubeconfig: %w", err)
		}
		o.scope = workload.Scope{Namespace: ns}
		p.Scope.Namespaces = []string{ns}
	}
	o.policy = p
	return nil
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
	return o.printObjects(objects)
}

// printObjects writes objects as YAML documents or a JSON List.
func (o *PolicyOptions) printObjects(objects []map[string]any) error {
	if o.Output == report.FormatJSON {
		return report.Encode(o.Out, report.FormatJSON, map[string]any{"apiVersion": "v1", "kind": "List", "items": objects})
	}
	for i, obj := range objects {
		b, err := yaml.Marshal(obj)
		if err != nil {
			return err
		}
		if i > 0 {
			fmt.Fprintln(o.Out, "---")
		}
		if _, err := o.Out.Write(b); err != nil {
			return err
		}
	}
	return nil
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
	if err := o.printObjects(r.Objects); err != nil {
		return &exitError{Code: ExitError, Err: err}
	}
	return nil
}
