//go:build e2e

package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/imgtrust/kubectl-imgtrust/test/fixture"
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

// kubectl completes plugin arguments by running kubectl_complete-imgtrust;
// a symlink to the plugin answers with its own completions.
func TestCompletionThroughKubectl(t *testing.T) {
	shim := filepath.Join(pluginDir, "kubectl_complete-imgtrust")
	if err := os.Symlink(filepath.Join(pluginDir, "kubectl-imgtrust"), shim); err != nil && !os.IsExist(err) {
		t.Fatal(err)
	}
	ns := newNamespace(t, "complete")
	if err := (fixture.Workloads{CS: kube, NS: ns}).Deployment(testContext(t), "frontend", 0,
		fixture.PodSpec(nil, fixture.Container("web", "nginx", ""))); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"__complete", "imgtrust", "au"}, "audit"},
		{[]string{"__complete", "imgtrust", "audit", "-n", ns[:len(ns)-2]}, ns},
		{[]string{"__complete", "imgtrust", "audit", "-n", ns, "deploy/fr"}, "deploy/frontend"},
		{[]string{"__complete", "imgtrust", "pin", "statefuls"}, "statefulsets/"},
	} {
		r := kubectl(t, tt.args...)
		if !strings.Contains(r.Stdout, tt.want) {
			t.Errorf("kubectl %s: want %q among the completions, got %s", strings.Join(tt.args, " "), tt.want, r)
		}
	}
	for _, shell := range []string{"bash", "zsh", "fish", "powershell"} {
		if r := kubectl(t, "imgtrust", "completion", shell); r.Code != 0 || len(r.Stdout) < 100 {
			t.Errorf("completion %s: %s", shell, r)
		}
	}
}
