package cmd

import (
	"context"
	"fmt"

	"github.com/imgtrust/kubectl-imgtrust/pkg/pin"
	"github.com/imgtrust/kubectl-imgtrust/pkg/pipeline"
	"github.com/imgtrust/kubectl-imgtrust/pkg/report"
)

// runLive pins live objects and says the tally; the exit code is 1 when an
// object failed or a pin was refused, 2 when interrupted.
func (o *PinOptions) runLive(ctx context.Context) error {
	tally, err := pipeline.Pin(ctx, pipeline.PinConfig{
		PinSettings:     o.pinSettings(),
		Cluster:         pipeline.Cluster{Getter: o.configFlags, Scope: o.scope},
		Source:          pin.Source(o.Source),
		Apply:           o.Apply,
		ServerDryRun:    o.DryRun == "server",
		ResourceVersion: o.ResourceVersion,
		Output:          pipeline.PinFormat(o.Output),
		Write:           o.writeOutput,
	})
	if err != nil {
		return &exitError{Code: ExitError, Err: err}
	}
	verb := "to pin (nothing changed; --apply patches them)"
	if o.sends() {
		verb = "pinned"
		if o.DryRun == "server" {
			verb = "pinned (server dry run, nothing persisted)"
		}
	}
	fmt.Fprintf(o.ErrOut, "%d objects %s, %d already pinned, %d skipped, %d failed\n", tally.Pinned, verb, tally.AlreadyPinned, tally.Skipped, tally.Failed)
	report.MirrorTotals(o.ErrOut, tally.Mirror, tally.Signed)
	if tally.Interrupted {
		return &exitError{Code: ExitError, Err: fmt.Errorf("interrupted: %d objects patched, %d untouched, %d unknown; run again to pin the rest", tally.Pinned, tally.Untouched, tally.Unknown)}
	}
	if tally.Failed > 0 || tally.Refused > 0 {
		return &exitError{Code: ExitFindings}
	}
	return nil
}

// sends reports whether patches go to the API server.
func (o *PinOptions) sends() bool { return o.Apply || o.DryRun == "server" }

func (o *PinOptions) pinVerb() string {
	if o.sends() {
		return "pinning"
	}
	return "would pin"
}

// writeOutput prints what -o asks for of one object (or one file's diff)
// to stdout, each of several objects after a separator.
func (o *PinOptions) writeOutput(out pipeline.PinOutput) error {
	switch out.Format {
	case pipeline.PinPatch, pipeline.PinJSONPatch:
		if out.Multiple {
			fmt.Fprintf(o.Out, "# %s\n", out.Object.Label())
		}
		_, err := fmt.Fprintf(o.Out, "%s\n", out.Data)
		return err
	case pipeline.PinYAML:
		if out.Multiple {
			fmt.Fprintln(o.Out, "---")
		}
	}
	_, err := o.Out.Write(out.Data)
	return err
}
