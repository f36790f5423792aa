//go:build e2e

package e2e

import (
	"context"
	"encoding/base64"
	"os/exec"
	"sort"
)

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func sorted(s []string) []string {
	out := append([]string(nil), s...)
	sort.Strings(out)
	return out
}

// execBash runs a fix command the way a user pastes it into a shell.
func execBash(ctx context.Context, command string) ([]byte, error) {
	return exec.CommandContext(ctx, "bash", "-o", "pipefail", "-c", command).CombinedOutput()
}
