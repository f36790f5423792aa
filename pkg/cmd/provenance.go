package cmd

import (
	"fmt"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/spf13/cobra"

	"github.com/imgtrust/kubectl-imgtrust/pkg/audit"
)

// provenanceFlags ask audit where images came from and how old they are.
type provenanceFlags struct {
	Provenance bool
	MaxAge     string
	Platform   string
	Updates    bool

	maxAge   time.Duration
	platform *v1.Platform
}

func (f *provenanceFlags) AddFlags(cmd *cobra.Command) {
	cmd.Flags().BoolVar(&f.Provenance, "provenance", false, "Read where each running image came from: OCI annotations, config labels, BuildKit SLSA provenance (at most 5 registry requests per digest; manifest GETs count as Docker Hub pulls)")
	cmd.Flags().StringVar(&f.MaxAge, "max-age", "", "Report images built longer ago than this, e.g. 180d, 26w or 720h (reads provenance for the build time)")
	cmd.Flags().BoolVar(&f.Updates, "updates", false, "Find newer releases of version tags (1.2.3, v1.25-alpine: the same suffix only): one tag listing per repository")
	cmd.Flags().StringVar(&f.Platform, "platform", "", "Platform whose manifest provenance reads from multi-arch images: os/arch[/variant] (default: the platform of the workload's node)")
}

// Enabled reports whether provenance is to be read.
func (f *provenanceFlags) Enabled() bool { return f.Provenance || f.MaxAge != "" }

// Complete parses --max-age and --platform.
func (f *provenanceFlags) Complete() error {
	if f.MaxAge != "" {
		d, err := audit.ParseAge(f.MaxAge)
		if err != nil {
			return fmt.Errorf("--max-age %q: %w", f.MaxAge, err)
		}
		f.maxAge = d
	}
	if f.Platform != "" {
		p, err := v1.ParsePlatform(f.Platform)
		if err != nil || p.OS == "" || p.Architecture == "" {
			return fmt.Errorf("--platform %q is not os/arch[/variant], e.g. linux/arm64", f.Platform)
		}
		f.platform = p
	}
	return nil
}

// Options are the findings asked for.
func (f *provenanceFlags) Options(now time.Time, attestations bool) audit.ProvenanceOptions {
	return audit.ProvenanceOptions{Report: f.Provenance, MaxAge: f.maxAge, Now: now, Attestations: attestations}
}
