package cmd

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/imgtrust/kubectl-imgtrust/pkg/audit"
	"github.com/imgtrust/kubectl-imgtrust/pkg/vulns"
)

// vulnFlags are audit's --vulnerabilities, --max-severity, --max-scan-age.
type vulnFlags struct {
	Vulnerabilities bool
	MaxSeverity     string
	MaxScanAge      string

	maxScanAge time.Duration
}

func (f *vulnFlags) AddFlags(cmd *cobra.Command) {
	cmd.Flags().BoolVar(&f.Vulnerabilities, "vulnerabilities", false, "Join the Trivy Operator's VulnerabilityReports in the cluster to the digest each container runs (API LISTs; no scan)")
	cmd.Flags().StringVar(&f.MaxSeverity, "max-severity", "", "With --vulnerabilities: report vulnerable when any is at or above this: critical, high, medium or low (default critical)")
	cmd.Flags().StringVar(&f.MaxScanAge, "max-scan-age", "", "With --vulnerabilities: report scan-too-old when the newest scan of the running digest is older than this, e.g. 7d, 2w or 72h")
}

// Enabled: --max-severity and --max-scan-age imply --vulnerabilities.
func (f *vulnFlags) Enabled() bool {
	return f.Vulnerabilities || f.MaxSeverity != "" || f.MaxScanAge != ""
}

// Complete checks the values, before anything is asked.
func (f *vulnFlags) Complete() error {
	if f.MaxSeverity != "" {
		s, err := vulns.ParseSeverity(f.MaxSeverity)
		if err != nil {
			return fmt.Errorf("--max-severity: %w", err)
		}
		f.MaxSeverity = s
	}
	if f.MaxScanAge != "" {
		d, err := audit.ParseAge(f.MaxScanAge)
		if err != nil {
			return fmt.Errorf("--max-scan-age %q: %w", f.MaxScanAge, err)
		}
		f.maxScanAge = d
	}
	return nil
}

// Options are the pipeline's view; nil when not asked.
func (f *vulnFlags) Options(now time.Time) *audit.VulnerabilityOptions {
	if !f.Enabled() {
		return nil
	}
	return &audit.VulnerabilityOptions{MaxSeverity: f.MaxSeverity, MaxScanAge: f.maxScanAge, Now: now}
}
