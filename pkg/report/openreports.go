package report

import (
	"fmt"
	"io"
	"strings"
	"time"

	v1alpha1 "github.com/openreports/reports-api/apis/openreports.io/v1alpha1"

	"github.com/imgtrust/kubectl-imgtrust/pkg/audit"
	"github.com/imgtrust/kubectl-imgtrust/pkg/openreports"
)

// OpenReportsList writes the audit's Reports as a kubectl List, which
// `kubectl apply -f -` takes as it is (-o openreports).
func OpenReportsList(w io.Writer, rep audit.Report) error {
	list := struct {
		APIVersion string            `json:"apiVersion"`
		Kind       string            `json:"kind"`
		Items      []v1alpha1.Report `json:"items"`
	}{"v1", "List", openreports.FromAudit(rep, time.Now())}
	return Encode(w, FormatYAML, list)
}

// OpenReportsWritten says what --write-reports did: a line of totals,
// a warning when stale Reports were kept (pruning needs a complete
// listing), and each error.
func OpenReportsWritten(w io.Writer, out openreports.Outcome, listingComplete bool) {
	fmt.Fprintln(w, writtenLine(out))
	if !listingComplete {
		fmt.Fprintln(w, "warning: stale Reports were not pruned: the audit could not list everything in scope")
	}
	for _, err := range out.Errors {
		fmt.Fprintf(w, "error: %v\n", err)
	}
}

// writtenLine is how many Reports, with what results, and which stale
// ones went.
func writtenLine(out openreports.Outcome) string {
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
