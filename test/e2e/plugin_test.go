//go:build e2e

package e2e

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestPluginListFindsImgtrust(t *testing.T) {
	r := kubectl(t, "plugin", "list", "--name-only")
	mustSucceed(t, r, "kubectl plugin list")
	if !strings.Contains(r.Stdout, "kubectl-imgtrust") {
		t.Fatalf("kubectl plugin list does not name kubectl-imgtrust:\n%s", r)
	}
}

func TestVersionThroughKubectl(t *testing.T) {
	r := kubectl(t, "imgtrust", "version", "-o", "json")
	mustSucceed(t, r, "kubectl imgtrust version")
	var info struct {
		Version, GoVersion, Platform string
	}
	if err := json.Unmarshal([]byte(r.Stdout), &info); err != nil {
		t.Fatalf("version -o json is not JSON: %v\n%s", err, r)
	}
	if info.Version == "" || !strings.HasPrefix(info.GoVersion, "go") || !strings.Contains(info.Platform, "/") {
		t.Fatalf("version info incomplete: %+v", info)
	}
}

func TestHelpShowsKubectlUsage(t *testing.T) {
	r := kubectl(t, "imgtrust", "--help")
	mustSucceed(t, r, "kubectl imgtrust --help")
	for _, want := range []string{"kubectl imgtrust [command]", "--kubeconfig", "--namespace", "version"} {
		if !strings.Contains(r.Stdout, want) {
			t.Errorf("help lacks %q:\n%s", want, r.Stdout)
		}
	}
}

func TestUnknownFlagIsAOneLineUsageError(t *testing.T) {
	r := kubectl(t, "imgtrust", "version", "--no-such-flag")
	if r.Code != 2 {
		t.Fatalf("want exit 2 for an unknown flag, got %s", r)
	}
	if lines := strings.Split(strings.TrimSpace(r.Stderr), "\n"); len(lines) != 1 || !strings.Contains(lines[0], "no-such-flag") {
		t.Fatalf("want one line naming the flag on stderr, got %q", r.Stderr)
	}
}
