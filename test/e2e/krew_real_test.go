//go:build e2e

package e2e

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// krewEnv runs kubectl with a KREW_ROOT of its own, its bin first on PATH
// and no other kubectl-imgtrust there, krew's default index pointed at
// index (no network), and no upgrade check.
func krewEnv(t *testing.T, krewRoot, index string) []string {
	t.Helper()
	pathEnv := []string{filepath.Join(krewRoot, "bin")}
	for _, dir := range filepath.SplitList(os.Getenv("PATH")) {
		if _, err := os.Stat(filepath.Join(dir, "kubectl-imgtrust")); err == nil {
			continue
		}
		pathEnv = append(pathEnv, dir)
	}
	return []string{
		"PATH=" + strings.Join(pathEnv, string(os.PathListSeparator)),
		"KREW_ROOT=" + krewRoot, "KREW_DEFAULT_INDEX_URI=" + index, "KREW_NO_UPGRADE_CHECK=1",
	}
}

// krewManifest is plugins/imgtrust.yaml at version, with the host
// platform's archive at uri (sha256 of archive).
func krewManifest(t *testing.T, version, uri, archive string) []byte {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(repoRoot, "plugins", "imgtrust.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := yaml.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	body, err := os.ReadFile(archive)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(body)
	host := manifestPlatform(t, runtime.GOOS, runtime.GOARCH)
	spec := m["spec"].(map[string]any)
	spec["version"] = version
	for _, p := range spec["platforms"].([]any) {
		pl := p.(map[string]any)
		if pl["uri"] == host.URI {
			pl["uri"], pl["sha256"] = uri, hex.EncodeToString(sum[:])
		}
	}
	out, err := yaml.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// pluginVersion is what `kubectl imgtrust version` says under env.
func pluginVersion(t *testing.T, env []string) string {
	t.Helper()
	r := kubectlEnv(t, env, "imgtrust", "version", "-o", "json")
	mustSucceed(t, r, "kubectl imgtrust version")
	var info struct{ Version string }
	if err := json.Unmarshal([]byte(r.Stdout), &info); err != nil {
		t.Fatalf("version -o json: %v\n%s", err, r)
	}
	return info.Version
}

// git runs git in dir with a fixed identity.
func git(t *testing.T, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-c", "user.name=imgtrust", "-c", "user.email=e2e@imgtrust.invalid", "-c", "init.defaultBranch=master"}, args...)...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
}

// TestRealKrew installs the plugin with the real krew (v0.4.3, built into
// the tools cache): from a local manifest and archive, and from a custom
// index made of this repository's plugins/ folder, then upgrades and
// uninstalls it, each step checked through kubectl's plugin mechanism.
func TestRealKrew(t *testing.T) {
	if _, err := exec.LookPath("kubectl-krew"); err != nil {
		t.Fatalf("kubectl-krew is not on PATH (make tools builds it): %v", err)
	}
	host := manifestPlatform(t, runtime.GOOS, runtime.GOARCH)
	work := t.TempDir()
	v1, v2 := "v0.0.1-krewtest."+randomSuffix(), "v0.0.2-krewtest."+randomSuffix()
	archives := map[string]string{}
	for _, v := range []string{v1, v2} {
		dir := filepath.Join(work, v)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		archives[v] = filepath.Join(dir, path.Base(host.URI))
		buildArchive(t, archives[v], host.Bin, v)
	}
	// The archives, served as a release page would serve them.
	srv := httptest.NewServer(http.FileServer(http.Dir(work)))
	defer srv.Close()
	uri := func(v string) string { return srv.URL + "/" + v + "/" + path.Base(host.URI) }

	// A custom index: a git repository with plugins/imgtrust.yaml.
	index := filepath.Join(work, "index")
	if err := os.MkdirAll(filepath.Join(index, "plugins"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeIndex := func(v string) {
		if err := os.WriteFile(filepath.Join(index, "plugins", "imgtrust.yaml"), krewManifest(t, v, uri(v), archives[v]), 0o644); err != nil {
			t.Fatal(err)
		}
		git(t, index, "add", "-A")
		git(t, index, "commit", "-q", "-m", "imgtrust "+v)
	}
	git(t, index, "init", "-q")
	writeIndex(v1)

	t.Run("install from a local manifest and archive", func(t *testing.T) {
		root := filepath.Join(work, "krew-local")
		env := krewEnv(t, root, index)
		manifest := filepath.Join(work, "imgtrust.yaml")
		if err := os.WriteFile(manifest, krewManifest(t, v1, host.URI, archives[v1]), 0o644); err != nil {
			t.Fatal(err)
		}
		r := kubectlEnv(t, env, "krew", "install", "--manifest="+manifest, "--archive="+archives[v1])
		mustSucceed(t, r, "kubectl krew install --manifest --archive")
		if got := pluginVersion(t, env); got != v1 {
			t.Errorf("version %q, want %q", got, v1)
		}
		list := kubectlEnv(t, env, "plugin", "list")
		if !strings.Contains(list.Stdout, filepath.Join(root, "bin", "kubectl-imgtrust")) {
			t.Errorf("kubectl plugin list does not show the krew-installed plugin:\n%s", list)
		}
		// Completion: krew links only kubectl-imgtrust; the README says to
		// add the kubectl_complete-imgtrust link beside it.
		if err := os.Symlink("kubectl-imgtrust", filepath.Join(root, "bin", "kubectl_complete-imgtrust")); err != nil {
			t.Fatal(err)
		}
		comp := kubectlEnv(t, env, "__complete", "imgtrust", "")
		for _, sub := range []string{"audit", "pin", "resolve", "secrets"} {
			if !strings.Contains(comp.Stdout, sub) {
				t.Errorf("kubectl __complete imgtrust \"\" lacks %s:\n%s", sub, comp)
			}
		}
	})

	t.Run("install, upgrade and uninstall from a custom index", func(t *testing.T) {
		root := filepath.Join(work, "krew-index")
		env := krewEnv(t, root, index)
		r := kubectlEnv(t, env, "krew", "index", "add", "local", index)
		mustSucceed(t, r, "kubectl krew index add")
		r = kubectlEnv(t, env, "krew", "install", "local/imgtrust")
		mustSucceed(t, r, "kubectl krew install local/imgtrust")
		if got := pluginVersion(t, env); got != v1 {
			t.Errorf("installed version %q, want %q", got, v1)
		}
		writeIndex(v2)
		r = kubectlEnv(t, env, "krew", "upgrade", "imgtrust")
		mustSucceed(t, r, "kubectl krew upgrade")
		if got := pluginVersion(t, env); got != v2 {
			t.Errorf("upgraded version %q, want %q\n%s", got, v2, r)
		}
		r = kubectlEnv(t, env, "krew", "uninstall", "imgtrust")
		mustSucceed(t, r, "kubectl krew uninstall")
		if gone := kubectlEnv(t, env, "imgtrust", "version"); gone.Code == 0 {
			t.Errorf("after uninstall kubectl imgtrust still runs:\n%s", gone)
		}
	})
}
