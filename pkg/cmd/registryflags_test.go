package cmd

import (
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// --max-artifact-requests is only where artifacts are read: resolve
// reads none, so it refuses the flag rather than ignore it.
func TestArtifactBudgetFlag(t *testing.T) {
	withBudget := func() (*cobra.Command, *registryFlags) {
		f := &registryFlags{}
		cmd := &cobra.Command{Use: "audit"}
		f.AddFlags(cmd)
		f.AddArtifactBudgetFlag(cmd)
		return cmd, f
	}
	cmd, f := withBudget()
	if err := f.Validate(); err != nil || f.MaxArtifactRequests != 64 {
		t.Fatalf("default: %d, %v; want 64 and valid", f.MaxArtifactRequests, err)
	}
	if err := cmd.Flags().Parse([]string{"--max-artifact-requests", "0"}); err != nil {
		t.Fatal(err)
	}
	if err := f.Validate(); err == nil || !strings.Contains(err.Error(), "--max-artifact-requests must be at least 1, got 0") {
		t.Fatalf("0 accepted: %v", err)
	}

	f = &registryFlags{}
	cmd = &cobra.Command{Use: "resolve"}
	f.AddFlags(cmd)
	if err := f.Validate(); err != nil {
		t.Fatalf("without the flag: %v", err)
	}
	if o := f.Options(""); o.MaxArtifactRequests != 0 {
		t.Fatalf("without the flag the budget is the registry default (0 here), got %d", o.MaxArtifactRequests)
	}
	if err := cmd.Flags().Parse([]string{"--max-artifact-requests", "3"}); err == nil || !strings.Contains(err.Error(), "unknown flag") {
		t.Fatalf("resolve accepted --max-artifact-requests: %v", err)
	}
}
