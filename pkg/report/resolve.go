package report

import (
	"fmt"
	"io"
	"strings"

	"github.com/imgtrust/kubectl-imgtrust/pkg/imageref"
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

// ResolveReport is resolve's -o json|yaml object.
type ResolveReport struct {
	APIVersion string            `json:"apiVersion"`
	Kind       string            `json:"kind"`
	Items      []registry.Result `json:"items"`
	Stats      registry.Stats    `json:"stats"`
}

// NewResolveReport holds the results, an empty list rather than null
// when there are none.
func NewResolveReport(results []registry.Result, stats registry.Stats) ResolveReport {
	if results == nil {
		results = []registry.Result{}
	}
	return ResolveReport{APIVersion: APIVersion, Kind: "ResolveReport", Items: results, Stats: stats}
}

// ResolvePinned writes resolve --quiet: each resolved image pinned, one
// a line on w, and each failure on errOut.
func ResolvePinned(w, errOut io.Writer, results []registry.Result) {
	for _, r := range results {
		if r.Err != nil {
			fmt.Fprintf(errOut, "error: %s: %s\n", r.Image, r.Err.Error())
			continue
		}
		fmt.Fprintln(w, pinnedRef(r))
	}
}

// pinnedRef writes repo:tag@digest as the user wrote the name; with
// --platform, the platform's manifest digest.
func pinnedRef(r registry.Result) string {
	digest := r.Digest
	if r.PlatformDigest != "" {
		digest = r.PlatformDigest
	}
	ref, err := imageref.Parse(r.Image)
	if err != nil {
		return r.Image + "@" + digest
	}
	return ref.Pinned(digest, false)
}
