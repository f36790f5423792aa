package cmd

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/imgtrust/kubectl-imgtrust/pkg/pin"
	"github.com/imgtrust/kubectl-imgtrust/pkg/pipeline"
	"github.com/imgtrust/kubectl-imgtrust/pkg/workload"
)

// PinOptions pins workloads (or manifest files) to digests.
type PinOptions struct {
	genericiooptions.IOStreams
	configFlags *genericclioptions.ConfigFlags
	scopeFlags
	registryFlags
	signatureFlags
	mirrorFlags

	All             bool
	Apply           bool
	DryRun          string
	Source          string
	DropTag         bool
	Output          string
	Write           bool
	ResourceVersion string

	scope workload.Scope
}

// NewCmdPin returns `kubectl imgtrust pin`.
func NewCmdPin(configFlags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *cobra.Command {
	o := &PinOptions{IOStreams: streams, configFlags: configFlags, DryRun: "none", Source: string(pin.SourceRunning), Output: string(pipeline.PinPatch)}
	cmd := &cobra.Command{
		Use:   "pin (TYPE/NAME ... | -l SELECTOR | --all | -A | -f FILE|DIR)",
		Short: "Pin workload images (or manifest files) to digests, printing the patch unless --apply",
		Long: `Pin every container, init container and image volume image that has no
digest to repo:tag@sha256:... (the tag stays for humans; --drop-tag removes it).

Which digest (--source): running (default), the digest every pod runs for
that container, so nothing that runs changes (refused when pods disagree or
none runs); registry, what the tag points at now, with the pods' credentials.

Without --apply nothing changes: the patch is printed (-o patch, json-patch,
yaml or diff). --apply patches each object atomically (field manager
kubectl-imgtrust, resourceVersion; a conflict is re-read and recomputed once);
--dry-run=server persists nothing. A template change starts a rollout; objects
Argo CD, Flux or Helm manage are better pinned in their manifests, with -f
(--write rewrites them in place, keeping comments and formatting). Bare Pods
are pinned only when named.

--mirror-to PREFIX pins to a copy in a registry you control, named
PREFIX/HOST/REPOSITORY:TAG (nginx:1.27 -> PREFIX/docker.io/library/nginx:1.27;
--mirror-layout=flat drops HOST). With --apply everything the digest names is
copied (platforms, signatures, attestations, referrers) and the workload is
patched only once the target serves the digest and the pods have a pull
secret the mirror accepts; --sign-key signs the copy first, as kubectl
imgtrust sign does (--signature-format). Details: docs/pin.md.`,
		Example: `  # Show the patch that pins a Deployment to what its pods run
  kubectl imgtrust pin deploy/web -n shop

  # Apply it (starts a rollout; the pods keep running the same image)
  kubectl imgtrust pin deploy/web -n shop --apply

  # Everything labelled app=web, to what the tags point at now, as a diff
  kubectl imgtrust pin -l app=web --source=registry -o diff

  # Check with the API server without changing anything
  kubectl imgtrust pin --all -n shop --dry-run=server

  # Pin manifest files in place
  kubectl imgtrust pin -f k8s/ -R --write

  # Pin only to digests signed by the authority the trust policy names for each image
  kubectl imgtrust pin deploy/web --source=registry --trust-policy trust.yaml

  # Copy what deploy/web runs into our registry, then pin it to the copy
  kubectl imgtrust pin deploy/web --mirror-to registry.acme.dev/mirror          # the plan
  kubectl imgtrust pin deploy/web --mirror-to registry.acme.dev/mirror --apply  # copy, check, patch`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.Complete(cmd, args); err != nil {
				return &exitError{Code: ExitError, Err: err}
			}
			if err := o.Validate(args); err != nil {
				return &exitError{Code: ExitError, Err: err}
			}
			return o.Run(cmd.Context())
		},
	}
	o.scopeFlags.AddFlags(cmd, true)
	o.registryFlags.AddFlags(cmd)
	o.registryFlags.AddArtifactBudgetFlag(cmd)
	cmd.Flags().StringArrayVar(&o.VerifyKeys, "verify-key", nil, "Pin only to digests signed by this PEM public key (cosign.pub), verified offline (repeatable)")
	cmd.Flags().StringArrayVar(&o.TrustCerts, "trust-cert", nil, "Pin only to digests with a Notation signature chaining to this PEM certificate (repeatable)")
	o.addPolicyFlag(cmd)
	cmd.Flags().BoolVar(&o.All, "all", false, "Pin every workload in the namespace")
	cmd.Flags().BoolVar(&o.Apply, "apply", false, "Patch the objects (default: print the patch and change nothing)")
	cmd.Flags().StringVar(&o.DryRun, "dry-run", o.DryRun, `"server" sends the patch with server-side dry run and persists nothing; "none" or "client" as usual`)
	cmd.Flags().StringVar(&o.Source, "source", o.Source, "Where digests come from: running (what the pods run) or registry (what the tag points at now)")
	cmd.Flags().BoolVar(&o.DropTag, "drop-tag", false, "Write repo@sha256:... instead of repo:tag@sha256:...")
	cmd.Flags().StringVarP(&o.Output, "output", "o", o.Output, "What to print: patch (strategic merge), json-patch, yaml (the pinned object) or diff")
	cmd.Flags().BoolVar(&o.Write, "write", false, "With -f: rewrite the files in place instead of printing a diff")
	o.mirrorFlags.AddFlags(cmd)
	cmd.Flags().StringVar(&o.ResourceVersion, "resource-version", "", "With one TYPE/NAME: patch only if the object is still at this resourceVersion (no retry)")
	return cmd
}

// Complete resolves the scope.
func (o *PinOptions) Complete(cmd *cobra.Command, args []string) error {
	var err error
	o.scope, err = o.scopeFlags.Scope(o.configFlags, args)
	if err != nil {
		return err
	}
	if o.scope.Offline() && !cmd.Flags().Changed("source") {
		o.Source = string(pin.SourceRegistry) // manifests have no running pods
	}
	return o.signatureFlags.CompleteTo(o.configFlags, o.ErrOut)
}

// Validate checks the flag combinations before anything is read or sent.
func (o *PinOptions) Validate(args []string) error {
	switch o.Source {
	case string(pin.SourceRunning), string(pin.SourceRegistry):
	default:
		return fmt.Errorf("--source %q is not supported: use running or registry", o.Source)
	}
	if err := o.mirrorFlags.Validate(); err != nil {
		return err
	}
	switch o.DryRun {
	case "none", "client", "server":
	default:
		return fmt.Errorf("--dry-run %q is not supported: use none, client or server", o.DryRun)
	}
	if o.scope.Offline() {
		switch {
		case o.Source == string(pin.SourceRunning):
			return fmt.Errorf("--source=running needs live pods; manifests given with -f are pinned from the registry")
		case o.Apply || o.DryRun == "server":
			return fmt.Errorf("--apply and --dry-run=server patch live objects; for files given with -f use --write")
		case o.All:
			return fmt.Errorf("--all selects live objects; it cannot be combined with -f")
		case o.ResourceVersion != "":
			return fmt.Errorf("--resource-version applies to live objects, not to -f")
		}
		return o.registryFlags.Validate()
	}
	if o.Write {
		return fmt.Errorf("--write only applies to manifest files given with -f; use --apply for live objects")
	}
	switch pipeline.PinFormat(o.Output) {
	case pipeline.PinPatch, pipeline.PinJSONPatch, pipeline.PinYAML, pipeline.PinDiff:
	default:
		return fmt.Errorf("--output %q is not supported: use patch, json-patch, yaml or diff", o.Output)
	}
	if len(args) == 0 && o.Selector == "" && !o.All && !o.AllNamespaces {
		return fmt.Errorf("name what to pin: TYPE/NAME (e.g. deploy/web), -l SELECTOR, --all (this namespace) or -A")
	}
	if o.All && len(args) > 0 {
		return fmt.Errorf("--all cannot be combined with TYPE/NAME arguments: pick one")
	}
	if o.ResourceVersion != "" && len(args) != 1 {
		return fmt.Errorf("--resource-version needs exactly one TYPE/NAME argument")
	}
	if o.Source == string(pin.SourceRegistry) || o.signatureFlags.Enabled() || o.mirroring() {
		return o.registryFlags.Validate()
	}
	return nil
}

// Run pins manifests or live objects.
func (o *PinOptions) Run(ctx context.Context) error {
	if o.scope.Offline() {
		return o.runFiles(ctx)
	}
	return o.runLive(ctx)
}

// pinSettings are the flags live and file pins share; the events become
// stderr's lines.
func (o *PinOptions) pinSettings() pipeline.PinSettings {
	return pipeline.PinSettings{
		Registry:    o.registryFlags.Options(""),
		Authorities: o.authorities,
		DropTag:     o.DropTag,
		Mirror:      o.mirrorConfig(),
		Events:      o.printEvent,
	}
}
