package report

import (
	"fmt"
	"io"
	"strings"

	"github.com/imgtrust/kubectl-imgtrust/pkg/coverage"
	"github.com/imgtrust/kubectl-imgtrust/pkg/pullsecret"
)

// SecretsTable prints one row per workload and registry. Secrets that come
// from the service account carry "(sa)".
func SecretsTable(w io.Writer, r coverage.Report) error {
	headers := []string{"namespace", "workload", "registry", "status", "secrets", "detail"}
	several := false
	for _, it := range r.Items {
		several = several || it.Context != ""
	}
	if several {
		headers = append([]string{"context"}, headers...)
	}
	rows := make([][]string, 0, len(r.Items))
	for _, it := range r.Items {
		names := make([]string, len(it.Secrets))
		for i, s := range it.Secrets {
			names[i] = s.Name
			if s.Source == pullsecret.KindServiceAccountSecret {
				names[i] += "(sa)"
			}
		}
		row := []string{
			dash(it.Namespace),
			strings.ToLower(it.Kind) + "/" + it.Name,
			it.Registry,
			string(it.Status),
			dash(strings.Join(names, ",")),
			dash(it.Detail),
		}
		if several {
			row = append([]string{it.Context}, row...)
		}
		rows = append(rows, row)
	}
	return Table(w, headers, rows)
}

// SecretsFindings prints the namespace-level findings after the table, one
// block each, with its fix.
func SecretsFindings(w io.Writer, r coverage.Report) error {
	if len(r.NamespaceFindings) == 0 {
		return nil
	}
	if _, err := fmt.Fprintf(w, "\nNamespace findings:\n"); err != nil {
		return err
	}
	for _, f := range r.NamespaceFindings {
		where := f.Namespace
		if f.Context != "" {
			where = f.Context + "/" + f.Namespace
		}
		if _, err := fmt.Fprintf(w, "  %s  %s  %s\n    %s\n    fix: %s\n", where, f.Type, f.Object, f.Detail, f.Fix); err != nil {
			return err
		}
	}
	return nil
}

// SecretsText is secrets' default output: the table (to table, which
// may drop its header) and the namespace findings on w, or on errOut
// that there is nothing to show.
func SecretsText(w, table, errOut io.Writer, r coverage.Report) error {
	if len(r.Items) == 0 {
		fmt.Fprintln(errOut, "No workloads with container images found in scope.")
	} else if err := SecretsTable(table, r); err != nil {
		return err
	}
	return SecretsFindings(w, r)
}
