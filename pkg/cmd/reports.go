package cmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	v1alpha1 "github.com/openreports/reports-api/apis/openreports.io/v1alpha1"
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
	fmt.Fprintln(errOut, summarizeWrite(out))
	if !listingComplete {
		fmt.Fprintln(errOut, "warning: stale Reports were not pruned: the audit could not list everything in scope")
	}
	for _, err := range out.Errors {
		fmt.Fprintf(errOut, "error: %v\n", err)
	}
	if len(out.Errors) > 0 {
		return &exitError{Code: ExitError}
	}
	return nil
}

// summarizeWrite is one line: how many Reports, with what results, and
// which stale ones went.
func summarizeWrite(out openreports.Outcome) string {
	var s v1alpha1.ReportSummary
	for _, r := range out.Written {
		s.Pass += r.Summary.Pass
		s.Fail += r.Summary.Fail
		s.Warn += r.Summary.Warn
		s.Error += r.Summary.Error
	}
	line := fmt.Sprintf("openreports: wrote Report %s in %d namespace(s): %d fail, %d warn, %d error, %d pass",
		openreports.ReportName, len(out.Written), s.Fail, s.Warn, s.Error, s.Pass)
	if len(out.Pruned) > 0 {
		line += fmt.Sprintf("; removed %d stale (%s)", len(out.Pruned), strings.Join(out.Pruned, ", "))
	}
	return line
}

// printReports writes the Reports as a kubectl List, which
// `kubectl apply -f -` takes as it is.
func printReports(w io.Writer, rep audit.Report) error {
	list := struct {
		APIVersion string            `json:"apiVersion"`
		Kind       string            `json:"kind"`
		Items      []v1alpha1.Report `json:"items"`
	}{"v1", "List", openreports.FromAudit(rep, time.Now())}
	return report.Encode(w, report.FormatYAML, list)
}
