package report

import (
	"io"
	"strings"

	"github.com/imgtrust/kubectl-imgtrust/pkg/registry"
)

// ResolveTable prints one row per image: its digest and the credential
// source that worked, or the failure's reason and message; withPlatform adds
// the platform and its manifest digest.
func ResolveTable(w io.Writer, results []registry.Result, withPlatform bool) error {
	headers := []string{"image", "digest", "source"}
	if withPlatform {
		headers = []string{"image", "digest", "platform", "platform digest", "source"}
	}
	rows := make([][]string, 0, len(results))
	for _, r := range results {
		digest, source := r.Digest, r.CredentialSource
		if len(r.Refused) > 0 {
			source += " (refused: " + strings.Join(r.Refused, ", ") + ")"
		}
		if r.Err != nil {
			digest, source = "error: "+string(r.Err.Reason), strings.Join(strings.Fields(r.Err.Message), " ")
		}
		row := []string{r.Image, dash(digest)}
		if withPlatform {
			row = append(row, dash(r.Platform), dash(r.PlatformDigest))
		}
		rows = append(rows, append(row, dash(source)))
	}
	return Table(w, headers, rows)
}
