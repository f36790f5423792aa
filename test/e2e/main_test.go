//go:build e2e

// Package e2e runs the built plugin through the real kubectl against the real
// local stack (kube-apiserver + etcd + controller-manager, two registries).
// TestMain starts the stack with hack/local-cluster.sh unless one is already
// up in the environment (eval "$(hack/local-cluster.sh env)").
package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes"

	"github.com/imgtrust/kubectl-imgtrust/test/fixture"
)

var (
	repoRoot string
	// pluginDir holds the plugin built for this run, first on PATH.
	pluginDir string
	stack     *fixture.Stack
	kube      kubernetes.Interface
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	var err error
	repoRoot, err = filepath.Abs("../..")
	if err != nil {
		return fail(err)
	}
	if os.Getenv("IMGTRUST_E2E_REGISTRY") == "" {
		// A stack of our own, apart from the one `make demo` leaves running.
		stateDir := filepath.Join(repoRoot, ".cache", "e2e-stack")
		os.Setenv("IMGTRUST_STACK_DIR", stateDir)
		if err := script("up"); err != nil {
			return fail(err)
		}
		if os.Getenv("IMGTRUST_E2E_KEEP") == "" {
			defer script("down")
		}
		if err := loadStackEnv(); err != nil {
			return fail(err)
		}
	}
	if stack, err = fixture.FromEnv(); err != nil {
		return fail(err)
	}
	if kube, err = stack.Clientset(); err != nil {
		return fail(err)
	}
	if err := installPlugin(); err != nil {
		return fail(err)
	}
	return m.Run()
}

func fail(err error) int {
	fmt.Fprintln(os.Stderr, "e2e:", err)
	return 1
}

func script(arg string) error {
	cmd := exec.Command(filepath.Join(repoRoot, "hack", "local-cluster.sh"), arg)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("hack/local-cluster.sh %s: %w", arg, err)
	}
	return nil
}

// loadStackEnv applies what `hack/local-cluster.sh env` exports, letting bash
// do the unquoting.
func loadStackEnv() error {
	cmd := exec.Command("bash", "-c", `eval "$("$0" env)" && env -0`, filepath.Join(repoRoot, "hack", "local-cluster.sh"))
	out, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("hack/local-cluster.sh env: %w", err)
	}
	for _, kv := range bytes.Split(out, []byte{0}) {
		k, v, ok := strings.Cut(string(kv), "=")
		if ok && (k == "PATH" || k == "KUBECONFIG" || k == "SSL_CERT_FILE" || k == "DOCKER_CONFIG" || strings.HasPrefix(k, "IMGTRUST_E2E_")) {
			os.Setenv(k, v)
		}
	}
	return nil
}

// installPlugin builds the plugin from this checkout into a temporary dir put
// first on PATH, the way kubectl discovers plugins, and drops <repo>/bin from
// PATH so a stale `make build` cannot shadow it.
func installPlugin() error {
	dir, err := os.MkdirTemp("", "imgtrust-e2e-bin-")
	if err != nil {
		return err
	}
	pluginDir = dir
	build := exec.Command("go", "build", "-o", filepath.Join(dir, "kubectl-imgtrust"), "./cmd/kubectl-imgtrust")
	build.Dir = repoRoot
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		return fmt.Errorf("building the plugin: %w", err)
	}
	var keep []string
	for _, p := range filepath.SplitList(os.Getenv("PATH")) {
		if filepath.Clean(p) != filepath.Join(repoRoot, "bin") {
			keep = append(keep, p)
		}
	}
	os.Setenv("PATH", strings.Join(append([]string{dir}, keep...), string(os.PathListSeparator)))
	if _, err := exec.LookPath("kubectl"); err != nil {
		return fmt.Errorf("kubectl is not on PATH: %w", err)
	}
	return nil
}

// result is what one kubectl invocation did.
type result struct {
	Stdout, Stderr string
	Code           int
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\n--- stdout\n%s--- stderr\n%s", r.Code, r.Stdout, r.Stderr)
}

// kubectl runs the real kubectl with args, e.g. kubectl(t, "imgtrust", "audit", "-A").
func kubectl(t *testing.T, args ...string) result {
	t.Helper()
	return kubectlEnv(t, nil, args...)
}

// kubectlEnv is kubectl with extra environment variables (KEY=VALUE).
// Each run gets a cache directory of its own (XDG_CACHE_HOME), so no run
// reads what an earlier one kept; tests of the cache pass --cache-dir.
func kubectlEnv(t *testing.T, env []string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "kubectl", args...)
	cmd.Env = append(append(os.Environ(), "XDG_CACHE_HOME="+t.TempDir()), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := result{Stdout: stdout.String(), Stderr: stderr.String()}
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		r.Code = exit.ExitCode()
	case err != nil:
		t.Fatalf("running kubectl %s: %v", strings.Join(args, " "), err)
	}
	return r
}

// mustSucceed fails the test unless the command exited 0.
func mustSucceed(t *testing.T, r result, what string) {
	t.Helper()
	if r.Code != 0 {
		t.Fatalf("%s: want exit 0, got %s", what, r)
	}
}
