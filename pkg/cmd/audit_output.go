package cmd

import (
	"fmt"
	"os"

	"k8s.io/klog/v2"

	"github.com/imgtrust/kubectl-imgtrust/pkg/pipeline"
	"github.com/imgtrust/kubectl-imgtrust/pkg/report"
	"github.com/imgtrust/kubectl-imgtrust/pkg/sarif"
	"github.com/imgtrust/kubectl-imgtrust/pkg/version"
)

// event prints what the audit says as it goes: at -v=1, each -f object
// that was skipped.
func (o *AuditOptions) event(e pipeline.AuditEvent) {
	if s, ok := e.(pipeline.SkippedObject); ok && klog.V(1).Enabled() {
		fmt.Fprintf(o.ErrOut, "skipped %s %s (%s:%d): no pod template\n", s.Kind, s.Name, s.Source, s.Line)
	}
}

// print writes the report in the format of -o, and its warnings.
func (o *AuditOptions) print(res pipeline.AuditResult) error {
	rep := res.Report
	var err error
	switch o.Output {
	case report.FormatOpenReports:
		err = report.OpenReportsList(o.Out, rep)
	case report.FormatSARIF:
		err = report.Encode(o.Out, report.FormatJSON, sarif.FromAudit(rep, version.Get().Version, workingDir()))
	case report.FormatJSON, report.FormatYAML:
		err = report.Encode(o.Out, o.Output, rep)
	default:
		return report.AuditText(o.tableOut(o.Out), o.ErrOut, rep, o.Output == report.FormatWide, res.Skipped)
	}
	if err != nil {
		return err
	}
	report.Warnings(o.ErrOut, rep.Summary.Warnings)
	return nil
}

// exit is the exit code of the result: a lost context or unread -f input
// first, then findings at or above --fail-on.
func (o *AuditOptions) exit(res pipeline.AuditResult) error {
	if res.ContextFailed {
		return &exitError{Code: ExitError} // said in the warnings, after every other context
	}
	if n := len(res.Report.Summary.InputErrors); n > 0 && !o.IgnoreErrors {
		// Fail closed: a gate must not pass on a file it never read.
		return &exitError{Code: ExitError, Err: fmt.Errorf("%s could not be read (see the warnings): fix it, or pass --ignore-errors to report the rest", inputCount(n))}
	}
	if res.Report.Exceeds(o.failOn) {
		return &exitError{Code: ExitFindings}
	}
	return nil
}

// workingDir is where SARIF's %SRCROOT% points: relative URIs of -f
// results are relative to it.
func workingDir() string {
	wd, err := os.Getwd()
	if err != nil {
		return ""
	}
	return wd
}

func inputCount(n int) string {
	if n == 1 {
		return "1 -f input"
	}
	return fmt.Sprintf("%d -f inputs", n)
}
