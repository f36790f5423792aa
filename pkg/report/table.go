// Package report prints typed report objects: kubectl-style tables
// (tablewriter: borderless, uppercase headers) and versioned JSON or YAML.
// It holds no business rules; rows come sorted from their producers.
package report

import (
	"bytes"
	"io"
	"strings"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/renderer"
	"github.com/olekukonko/tablewriter/tw"
)

// Table writes rows under headers the way `kubectl get` does: no borders,
// no separator lines, uppercase headers, columns three spaces apart, cells
// never wrapped (scripts cut columns by whitespace).
func Table(w io.Writer, headers []string, rows [][]string) error {
	upper := make([]string, len(headers))
	for i, h := range headers {
		upper[i] = strings.ToUpper(h)
	}
	var buf bytes.Buffer
	t := tablewriter.NewTable(&buf,
		tablewriter.WithRenderer(renderer.NewBlueprint(tw.Rendition{
			Borders: tw.BorderNone,
			Symbols: tw.NewSymbols(tw.StyleNone),
			Settings: tw.Settings{
				Separators: tw.Separators{BetweenRows: tw.Off, BetweenColumns: tw.Off, ShowHeader: tw.Off, ShowFooter: tw.Off},
				Lines:      tw.Lines{ShowTop: tw.Off, ShowBottom: tw.Off, ShowHeaderLine: tw.Off, ShowFooterLine: tw.Off},
			},
		})),
		tablewriter.WithConfig(tablewriter.Config{
			Header: tw.CellConfig{
				Formatting: tw.CellFormatting{AutoFormat: tw.Off, AutoWrap: tw.WrapNone},
				Alignment:  tw.CellAlignment{Global: tw.AlignLeft},
				Padding:    tw.CellPadding{Global: tw.Padding{Left: "", Right: "   ", Overwrite: true}},
			},
			Row: tw.CellConfig{
				Formatting: tw.CellFormatting{AutoWrap: tw.WrapNone},
				Alignment:  tw.CellAlignment{Global: tw.AlignLeft},
				Padding:    tw.CellPadding{Global: tw.Padding{Left: "", Right: "   ", Overwrite: true}},
			},
		}),
		tablewriter.WithTrimSpace(tw.Off),
	)
	t.Header(upper)
	if err := t.Bulk(rows); err != nil {
		return err
	}
	if err := t.Render(); err != nil {
		return err
	}
	// The last column is padded too; trailing blanks only get in the way of
	// diffs and scripts.
	for _, line := range strings.SplitAfter(buf.String(), "\n") {
		if line == "" {
			continue
		}
		if _, err := io.WriteString(w, strings.TrimRight(line, " \n")+"\n"); err != nil {
			return err
		}
	}
	return nil
}

// NoHeaders wraps w so that the header line of a table written to it is
// dropped, as `kubectl get --no-headers` does.
func NoHeaders(w io.Writer) io.Writer { return &headerSkipper{w: w} }

type headerSkipper struct {
	w       io.Writer
	skipped bool
}

func (h *headerSkipper) Write(p []byte) (int, error) {
	n := len(p)
	if !h.skipped {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			return n, nil
		}
		h.skipped, p = true, p[i+1:]
	}
	if _, err := h.w.Write(p); err != nil {
		return 0, err
	}
	return n, nil
}

// ShortImage abbreviates the digest of an image for the default table:
// "repo:tag@sha256:46512d65…"; -o wide and JSON keep it whole.
func ShortImage(image string) string {
	at := strings.LastIndex(image, "@sha256:")
	if at < 0 || len(image)-at-len("@sha256:") != 64 {
		return image
	}
	return image[:at+len("@sha256:")+8] + "…"
}
