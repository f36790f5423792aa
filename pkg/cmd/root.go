// Package cmd holds the cobra commands of `kubectl imgtrust`: flags, the
// Complete/Validate/Run flow, and exit codes. Domain logic lives in the other
// packages under pkg/.
package cmd

import (
	"context"
	"errors"
	"flag"
	"fmt"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/klog/v2"

	"github.com/imgtrust/kubectl-imgtrust/pkg/pipeline"
	"github.com/imgtrust/kubectl-imgtrust/pkg/workload"
)

// Exit codes, documented in docs/usage.md.
const (
	ExitOK       = 0 // clean
	ExitFindings = 1 // findings at or above --fail-on, or per-item failures
	ExitError    = 2 // usage or runtime error
)

// exitError makes a command end with a given code. A nil Err means the
// command already said everything on its streams.
type exitError struct {
	Code int
	Err  error
}

func (e *exitError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit status %d", e.Code)
	}
	return e.Err.Error()
}

func (e *exitError) Unwrap() error { return e.Err }

// commandFlow is kubectl's command shape: Complete, Validate, Run.
type commandFlow interface {
	Complete(args []string) error
	Validate() error
	Run(ctx context.Context) error
}

// runFlow runs a command's flow; Complete and Validate errors are usage
// errors (exit 2), Run decides its own exit code.
func runFlow(o commandFlow) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		if err := o.Complete(args); err != nil {
			return &exitError{Code: ExitError, Err: err}
		}
		if err := o.Validate(); err != nil {
			return &exitError{Code: ExitError, Err: err}
		}
		return o.Run(cmd.Context())
	}
}

// NewCmdRoot returns `kubectl imgtrust` with every subcommand.
func NewCmdRoot(streams genericiooptions.IOStreams) *cobra.Command {
	configFlags := genericclioptions.NewConfigFlags(true)
	configFlags.WrapConfigFn = workload.RaiseClientLimits

	root := &cobra.Command{
		Use:   "kubectl-imgtrust",
		Short: "Make every container image in the cluster trustworthy: pinned by digest, pullable, covered by pull secrets",
		Long: `kubectl imgtrust audits the container images a cluster runs.

Tags such as "latest" or "v1.2.3" are mutable: anyone with push rights can move
them, and nodes may keep running an old image under the same tag. Only a digest
(name@sha256:...) names exactly one image. imgtrust finds every image reference,
tells what is mutable or uncovered, and what to do about it.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Annotations: map[string]string{
			cobra.CommandDisplayNameAnnotation: "kubectl imgtrust",
		},
	}
	root.SetIn(streams.In)
	root.SetOut(streams.Out)
	root.SetErr(streams.ErrOut)

	configFlags.AddFlags(root.PersistentFlags())
	addKlogFlags(root.PersistentFlags())

	root.AddCommand(
		NewCmdAudit(configFlags, streams),
		NewCmdSecrets(configFlags, streams),
		NewCmdResolve(configFlags, streams),
		NewCmdPin(configFlags, streams),
		NewCmdPolicy(configFlags, streams),
		NewCmdSign(configFlags, streams),
		NewCmdVersion(streams),
	)
	for _, sub := range root.Commands() {
		switch sub.Name() {
		case "audit", "resolve", "pin", "secrets", "sign":
			sub.ValidArgsFunction = completeResourceArgs(configFlags)
		}
	}
	registerCompletions(root, configFlags)
	return root
}

// Execute runs the root command and turns the result into an exit code. Errors
// are printed as one line on stderr.
func Execute(ctx context.Context, streams genericiooptions.IOStreams, args []string) int {
	routeGoLog()
	root := NewCmdRoot(streams)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return ExitOK
	}
	var exit *exitError
	if errors.As(err, &exit) {
		if exit.Err != nil {
			fmt.Fprintf(streams.ErrOut, "error: %s\n", pipeline.ErrorLine(exit.Err))
		}
		return exit.Code
	}
	fmt.Fprintf(streams.ErrOut, "error: %s\n", pipeline.ErrorLine(err))
	return ExitError
}

// addKlogFlags exposes client-go's logging verbosity as kubectl does (-v).
func addKlogFlags(flags *pflag.FlagSet) {
	goFlags := flag.NewFlagSet("klog", flag.ContinueOnError)
	klog.InitFlags(goFlags)
	for _, name := range []string{"v", "vmodule"} {
		f := pflag.PFlagFromGoFlag(goFlags.Lookup(name))
		if name == "v" {
			f.Shorthand = "v"
		}
		flags.AddFlag(f)
	}
}
