package cmd

import (
	"context"
	"fmt"

	"github.com/imgtrust/kubectl-imgtrust/pkg/pipeline"
	"github.com/imgtrust/kubectl-imgtrust/pkg/report"
)

// runFiles pins manifest files: a diff on stdout, or --write in place.
// Files that cannot be read or parsed are said as audit -f says them
// (pkg/manifest reads for both), and make the exit code 2.
func (o *PinOptions) runFiles(ctx context.Context) error {
	res, err := pipeline.PinFiles(ctx, pipeline.PinFilesConfig{
		PinSettings: o.pinSettings(),
		Filenames:   o.Filenames,
		Recursive:   o.Recursive,
		Stdin:       o.In,
		Write:       o.Write,
		Output:      o.writeOutput,
		ImagePaths:  o.scope.ImagePaths,
	})
	if err != nil {
		return &exitError{Code: ExitError, Err: err}
	}
	verb := "would be pinned (use --write to rewrite them)"
	if o.Write {
		verb = "rewritten"
	}
	fmt.Fprintf(o.ErrOut, "%d files %s, %d unchanged, %d with failures\n", res.Edited, verb, res.Unchanged, res.Failed)
	report.MirrorTotals(o.ErrOut, res.Mirror, res.Signed)
	if res.Unreadable > 0 {
		return &exitError{Code: ExitError}
	}
	if res.Failed > 0 {
		return &exitError{Code: ExitFindings}
	}
	return nil
}
