package cmd

import (
	"io"

	"github.com/spf13/cobra"

	"github.com/imgtrust/kubectl-imgtrust/pkg/report"
)

// tableFlags shape table output as kubectl get does.
type tableFlags struct {
	NoHeaders bool
}

func (f *tableFlags) AddFlags(cmd *cobra.Command) {
	cmd.Flags().BoolVar(&f.NoHeaders, "no-headers", false, "Print tables without the header line, as kubectl get --no-headers does")
}

// tableOut is where a table goes: w, without its header line if asked.
func (f *tableFlags) tableOut(w io.Writer) io.Writer {
	if f.NoHeaders {
		return report.NoHeaders(w)
	}
	return w
}
