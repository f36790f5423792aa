package report

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/imgtrust/kubectl-imgtrust/pkg/admission"
)

// PolicyPreview writes what an admission policy would deny today: a line
// of totals, then one row per workload with the rules it breaks, the
// images that break them and its fix.
func PolicyPreview(w, table io.Writer, impact admission.Impact, denies bool) error {
	verb := "would deny"
	if !denies {
		verb = "would warn about"
	}
	if len(impact.Denied) == 0 {
		_, err := fmt.Fprintf(w, "%s none of %s today: every image already follows the rules\n", verb, plural(impact.Workloads, "workload"))
		return err
	}
	why := ""
	if !denies {
		why = " (Deny would refuse them)"
	}
	fmt.Fprintf(w, "%s %d of %s in %s today%s:\n", verb, len(impact.Denied), plural(impact.Workloads, "workload"), plural(impact.Namespaces, "namespace"), why)
	var rows [][]string
	for _, d := range impact.Denied {
		var rules, images []string
		for _, v := range d.Violations {
			if !slices.Contains(rules, v.Rule) {
				rules = append(rules, v.Rule)
			}
			if !slices.Contains(images, v.Image) {
				images = append(images, v.Image)
			}
		}
		rows = append(rows, []string{d.Namespace, strings.ToLower(d.Kind) + "/" + d.Name, strings.Join(rules, ","), strings.Join(images, ","), d.Fix})
	}
	return Table(table, []string{"namespace", "workload", "rules", "images", "fix"}, rows)
}
