package pipeline

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/imgtrust/kubectl-imgtrust/pkg/workload"
)

// skippedSummary is one line for the -f objects without a pod template
// or a catalogue rule,
// however many; -v=1 lists them (listed says it does).
func skippedSummary(skipped []workload.Skipped, listed bool) string {
	if len(skipped) == 0 {
		return ""
	}
	kinds := map[string]bool{}
	for _, s := range skipped {
		kinds[s.Kind] = true
	}
	line := fmt.Sprintf("skipped %s of %s without a pod template or image-paths rule (%s): images they may hold are not audited; --image-paths adds their image fields",
		count(len(skipped), "object"), count(len(kinds), "kind"), strings.Join(slices.Sorted(maps.Keys(kinds)), ", "))
	if !listed {
		line += "; -v=1 lists them"
	}
	return line
}

func count(n int, thing string) string {
	if n == 1 {
		return "1 " + thing
	}
	return fmt.Sprintf("%d %ss", n, thing)
}
