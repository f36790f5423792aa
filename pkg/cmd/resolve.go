package cmd

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/imgtrust/kubectl-imgtrust/pkg/pipeline"
	"github.com/imgtrust/kubectl-imgtrust/pkg/registry"
	"github.com/imgtrust/kubectl-imgtrust/pkg/report"
	"github.com/imgtrust/kubectl-imgtrust/pkg/workload"
)

// ResolveOptions resolves image references to digests.
type ResolveOptions struct {
	genericiooptions.IOStreams
	tableFlags
	configFlags *genericclioptions.ConfigFlags
	scopeFlags
	registryFlags
	contextFlags

	Output       string
	Quiet        bool
	IgnoreErrors bool
	Platform     string

	images   []string // IMAGE arguments
	objects  []string // TYPE/NAME arguments
	contexts []string
	scope    workload.Scope
	// fromCluster is set when workloads are read (no IMAGE-only arguments).
	fromCluster bool
}

// ResolveReport is the -o json|yaml object.
type ResolveReport = report.ResolveReport

// NewCmdResolve returns `kubectl imgtrust resolve`.
func NewCmdResolve(configFlags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *cobra.Command {
	o := &ResolveOptions{IOStreams: streams, configFlags: configFlags}
	cmd := &cobra.Command{
		Use:   "resolve [IMAGE...] [TYPE/NAME...]",
		Short: "Resolve image tags to digests with the cluster's own pull credentials",
		Long: `Resolve image references to the digests their tags point at now.

Images of workloads (TYPE/NAME arguments, -n/-A, -l, or -f manifests) are
resolved with the credentials the kubelet would use, in its order: the pod's
imagePullSecrets (or its service account's), then your docker config, then
anonymous. IMAGE arguments use your docker config, then anonymous. The
SOURCE column says which credential the registry accepted, never the
credential itself.

Only HEAD requests are sent (a manifest GET counts as a pull on Docker Hub),
at most once per unique reference and credential. A multi-arch tag resolves
to its index digest, which is what the kubelet records; --platform picks
one platform's manifest instead.

Exit status: 0 when every image resolved, 1 when some failed (unless
--ignore-errors), 2 for usage errors.`,
		Example: `  # Every image of the current namespace's workloads
  kubectl imgtrust resolve

  # Images of named workloads, across namespaces
  kubectl imgtrust resolve deploy/web sts/db -n shop
  kubectl imgtrust resolve -A -o json

  # Plain references, printed pinned for scripts
  kubectl imgtrust resolve nginx:1.27 ghcr.io/acme/app:2.1 --quiet

  # One platform of a multi-arch image
  kubectl imgtrust resolve nginx:1.27 --platform linux/arm64`,
		RunE: runFlow(o),
	}
	o.scopeFlags.AddFlags(cmd, true)
	o.registryFlags.AddFlags(cmd)
	o.contextFlags.AddFlags(cmd)
	cmd.Flags().StringVarP(&o.Output, "output", "o", "", "Output format: json or yaml (default: a table)")
	o.tableFlags.AddFlags(cmd)
	cmd.Flags().BoolVarP(&o.Quiet, "quiet", "q", false, "Print only the pinned references (repo:tag@sha256:...), one per line")
	cmd.Flags().BoolVar(&o.IgnoreErrors, "ignore-errors", false, "Exit 0 even when some images could not be resolved")
	cmd.Flags().StringVar(&o.Platform, "platform", "", "Resolve multi-arch images to this platform's manifest: os/arch[/variant]")
	return cmd
}

// Complete splits the arguments into images and TYPE/NAME.
func (o *ResolveOptions) Complete(args []string) error {
	var objects []string
	for _, a := range args {
		if workload.IsResourceArg(o.configFlags, a) {
			objects = append(objects, a)
		} else {
			o.images = append(o.images, a)
		}
	}
	o.fromCluster = len(o.images) == 0 || len(objects) > 0 || len(o.Filenames) > 0
	if len(o.images) > 0 && len(objects) == 0 && (o.AllNamespaces || o.Selector != "") {
		return fmt.Errorf("-A and -l select workloads; they cannot be combined with IMAGE arguments alone")
	}
	o.objects = objects
	var err error
	if o.fromCluster {
		if o.scope, err = o.scopeFlags.Scope(o.configFlags, objects); err != nil {
			return err
		}
	}
	if o.contexts, err = o.contextFlags.names(o.configFlags); err != nil {
		return err
	}
	if len(o.contexts) > 0 && (!o.fromCluster || o.scope.Offline()) {
		return fmt.Errorf("--contexts and --all-contexts resolve the images of workloads in clusters: name TYPE/NAME, -l or -A, not only IMAGEs or -f")
	}
	return nil
}

// Validate checks the flags.
func (o *ResolveOptions) Validate() error {
	if err := report.ValidateFormat(o.Output, report.FormatTable, report.FormatJSON, report.FormatYAML); err != nil {
		return err
	}
	if o.Quiet && o.Output != "" {
		return fmt.Errorf("--quiet and --output cannot be combined: pick one")
	}
	if o.Platform != "" {
		if parts := strings.Split(o.Platform, "/"); len(parts) < 2 || len(parts) > 3 || parts[0] == "" || parts[1] == "" {
			return fmt.Errorf("--platform %q is not os/arch[/variant], e.g. linux/arm64", o.Platform)
		}
	}
	return o.registryFlags.Validate()
}

// Run resolves and prints.
func (o *ResolveOptions) Run(ctx context.Context) error {
	opts := o.registryFlags.Options(o.Platform)
	progress := report.NewProgress(o.ErrOut)
	opts.Progress = progress.Func()
	resolver, err := registry.New(opts)
	if err != nil {
		return &exitError{Code: ExitError, Err: err}
	}
	res, err := pipeline.Resolve(ctx, o.config(resolver))
	if err != nil {
		return &exitError{Code: ExitError, Err: err}
	}
	results, failed := res.Results, res.Failed
	progress.Done()

	switch {
	case o.Quiet:
		report.ResolvePinned(o.Out, o.ErrOut, results)
	case o.Output == report.FormatJSON || o.Output == report.FormatYAML:
		if err := report.Encode(o.Out, o.Output, report.NewResolveReport(results, res.Stats)); err != nil {
			return &exitError{Code: ExitError, Err: err}
		}
	default:
		if len(results) == 0 {
			fmt.Fprintln(o.ErrOut, "No images found in scope.")
			break
		}
		if err := report.ResolveTable(o.tableOut(o.Out), results, o.Platform != ""); err != nil {
			return &exitError{Code: ExitError, Err: err}
		}
		fmt.Fprintf(o.ErrOut, "%d images resolved, %d failed, %d registry requests\n", len(results)-failed, failed, res.Stats.Requests)
	}
	if res.ContextFailed {
		return &exitError{Code: ExitError} // said in the warnings, after every other context
	}
	if failed > 0 && !o.IgnoreErrors {
		return &exitError{Code: ExitFindings}
	}
	return nil
}

// config asks for the IMAGE arguments and, unless only those were
// given, the workloads of the cluster or of every context; warnings are
// said as soon as they are known, before the registries are asked.
func (o *ResolveOptions) config(resolver *registry.Resolver) pipeline.ResolveConfig {
	cfg := pipeline.ResolveConfig{Resolver: resolver, Images: o.images, Warn: func(w string) {
		fmt.Fprintf(o.ErrOut, "warning: %s\n", w)
	}}
	if o.fromCluster {
		cfg.Clusters = &pipeline.Clusters{
			Cluster: pipeline.Cluster{Getter: o.configFlags, Scope: o.scope},
			Base:    o.configFlags, Contexts: o.contexts, ScopeFor: o.scopeFlags.scopeFor(o.objects),
		}
	}
	return cfg
}
