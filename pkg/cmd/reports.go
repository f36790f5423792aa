package cmd

import (
	"context"
	"errors"
	"io"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"

	"github.com/imgtrust/kubectl-imgtrust/pkg/audit"
	"github.com/imgtrust/kubectl-imgtrust/pkg/openreports"
	"github.com/imgtrust/kubectl-imgtrust/pkg/pipeline"
	"github.com/imgtrust/kubectl-imgtrust/pkg/report"
	"github.com/imgtrust/kubectl-imgtrust/pkg/workload"
)

// reportFlags are audit's OpenReports flags: --write-reports, and the
// -o openreports format that prints the same objects.
type reportFlags struct {
	WriteReports bool

	writer *openreports.Writer
}

func (f *reportFlags) AddFlags(cmd *cobra.Command) {
	cmd.Flags().BoolVar(&f.WriteReports, "write-reports", false, "Write one OpenReports Report (openreports.io/v1alpha1) per namespace into the cluster, server-side applied; stale ones in scope are removed")
}

// validate rejects what would write a partial or unreal view: a Report
// covers a whole namespace of a live cluster.
func (f *reportFlags) validate(scope workload.Scope, output string, contexts int) error {
	if contexts > 0 && (f.WriteReports || output == report.FormatOpenReports) {
		return errors.New("OpenReports live in one cluster: run --write-reports or -o openreports once per context (deploy/cronjob runs it in each cluster)")
	}
	if !f.WriteReports {
		return nil
	}
	switch {
	case scope.Offline():
		return errors.New("--write-reports writes what runs in the cluster and cannot be used with -f: use -o openreports to print the reports of manifests")
	case len(scope.Args) > 0 || scope.Selector != "":
		return errors.New("--write-reports covers whole namespaces: drop TYPE/NAME and -l, or a Report would lose the other workloads' results")
	case output == report.FormatOpenReports:
		return errors.New("--write-reports and -o openreports exclude each other: -o openreports prints the Reports instead of writing them")
	}
	return nil
}

// prepare checks, before anything is audited, that the cluster serves
// Reports (pipeline.ReportWriter).
func (f *reportFlags) prepare(configFlags *genericclioptions.ConfigFlags) error {
	if !f.WriteReports {
		return nil
	}
	var err error
	f.writer, err = pipeline.ReportWriter(configFlags)
	return err
}

// write applies the audit's Reports and says on errOut what it did.
// Pruning is skipped when the listing was incomplete.
func (f *reportFlags) write(ctx context.Context, errOut io.Writer, rep audit.Report, scope workload.Scope, listingComplete bool) error {
	out := pipeline.WriteReports(ctx, f.writer, rep, scope, listingComplete)
	report.OpenReportsWritten(errOut, out, listingComplete)
	if len(out.Errors) > 0 {
		return &exitError{Code: ExitError}
	}
	return nil
}
