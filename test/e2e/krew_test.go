//go:build e2e

package e2e

import (
	"archive/tar"
	"archive/zip"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/yaml"
)

// krewPlatform is the part of a krew manifest platform the installer uses.
type krewPlatform struct {
	Selector *metav1.LabelSelector `json:"selector"`
	URI      string                `json:"uri"`
	Bin      string                `json:"bin"`
	Files    []struct {
		From string `json:"from"`
		To   string `json:"to"`
	} `json:"files"`
}

// TestKrewInstallFromLocalArchive packages the plugin as goreleaser does
// (binary + LICENSE in a tar.gz, zip on Windows, named as in
// plugins/imgtrust.yaml), installs it as krew does from that manifest, and
// runs it through the real kubectl. A unique version stamp proves that the
// krew-installed binary answered, not the one TestMain put on PATH.
func TestKrewInstallFromLocalArchive(t *testing.T) {
	platform := manifestPlatform(t, runtime.GOOS, runtime.GOARCH)
	work := t.TempDir()

	stamp := "v0.0.0-krewtest." + randomSuffix()
	archive := filepath.Join(work, path.Base(platform.URI))
	buildArchive(t, archive, platform.Bin, stamp)

	krewRoot := filepath.Join(work, "krew")
	binDir := filepath.Join(krewRoot, "bin")
	krewInstall(t, archive, platform, filepath.Join(krewRoot, "store", "imgtrust", stamp), binDir)

	// Our bin dir first, and no other kubectl-imgtrust anywhere on PATH, so
	// kubectl has exactly one candidate. kubectl itself is resolved from
	// this process's PATH.
	pathEnv := []string{binDir}
	for _, dir := range filepath.SplitList(os.Getenv("PATH")) {
		if _, err := os.Stat(filepath.Join(dir, "kubectl-imgtrust")); err == nil {
			continue
		}
		pathEnv = append(pathEnv, dir)
	}
	env := []string{"PATH=" + strings.Join(pathEnv, string(os.PathListSeparator))}

	r := kubectlEnv(t, env, "plugin", "list")
	mustSucceed(t, r, "kubectl plugin list")
	if !strings.Contains(r.Stdout, filepath.Join(binDir, "kubectl-imgtrust")) {
		t.Fatalf("kubectl plugin list does not show the krew-installed plugin in %s:\n%s", binDir, r)
	}

	r = kubectlEnv(t, env, "imgtrust", "version", "-o", "json")
	mustSucceed(t, r, "kubectl imgtrust version")
	var info struct{ Version, Commit, Platform string }
	if err := json.Unmarshal([]byte(r.Stdout), &info); err != nil {
		t.Fatalf("version -o json is not JSON: %v\n%s", err, r)
	}
	if info.Version != stamp {
		t.Fatalf("kubectl imgtrust version reports %q, want %q from the krew-installed archive", info.Version, stamp)
	}
	if info.Commit != "krewtest" || info.Platform != runtime.GOOS+"/"+runtime.GOARCH {
		t.Fatalf("version info not from the archive's build: %+v", info)
	}
}

// manifestPlatform picks the platform of plugins/imgtrust.yaml whose selector
// matches goos/goarch, as krew's GetMatchingPlatform does.
func manifestPlatform(t *testing.T, goos, goarch string) krewPlatform {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(repoRoot, "plugins", "imgtrust.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var manifest struct {
		Spec struct {
			Platforms []krewPlatform `json:"platforms"`
		} `json:"spec"`
	}
	if err := yaml.Unmarshal(raw, &manifest); err != nil {
		t.Fatalf("parsing plugins/imgtrust.yaml: %v", err)
	}
	for _, p := range manifest.Spec.Platforms {
		sel, err := metav1.LabelSelectorAsSelector(p.Selector)
		if err != nil {
			t.Fatalf("plugins/imgtrust.yaml: selector %v: %v", p.Selector, err)
		}
		if sel.Matches(labels.Set{"os": goos, "arch": goarch}) {
			return p
		}
	}
	t.Fatalf("plugins/imgtrust.yaml has no platform for %s/%s", goos, goarch)
	return krewPlatform{}
}

// buildArchive builds the plugin with the release ldflags (.goreleaser.yaml)
// and packs it with LICENSE at the archive root, as goreleaser does.
func buildArchive(t *testing.T, archive, bin, stamp string) {
	t.Helper()
	stage := t.TempDir()
	const pkg = "github.com/imgtrust/kubectl-imgtrust/pkg/version"
	ldflags := fmt.Sprintf("-s -w -X %s.version=%s -X %s.commit=krewtest -X %s.date=1970-01-01T00:00:00Z", pkg, stamp, pkg, pkg)
	build := exec.Command("go", "build", "-trimpath", "-ldflags", ldflags, "-o", filepath.Join(stage, filepath.FromSlash(bin)), "./cmd/kubectl-imgtrust")
	build.Dir = repoRoot
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the plugin: %v\n%s", err, out)
	}
	license, err := os.ReadFile(filepath.Join(repoRoot, "LICENSE"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(stage, "LICENSE"), license, 0o644); err != nil {
		t.Fatal(err)
	}

	f, err := os.Create(archive)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	names := []string{bin, "LICENSE"}
	switch {
	case strings.HasSuffix(archive, ".tar.gz"):
		gz := gzip.NewWriter(f)
		tw := tar.NewWriter(gz)
		for _, name := range names {
			fi, err := os.Stat(filepath.Join(stage, name))
			if err != nil {
				t.Fatal(err)
			}
			hdr, err := tar.FileInfoHeader(fi, "")
			if err != nil {
				t.Fatal(err)
			}
			hdr.Name = name
			if err := tw.WriteHeader(hdr); err != nil {
				t.Fatal(err)
			}
			copyFile(t, tw, filepath.Join(stage, name))
		}
		if err := tw.Close(); err != nil {
			t.Fatal(err)
		}
		if err := gz.Close(); err != nil {
			t.Fatal(err)
		}
	case strings.HasSuffix(archive, ".zip"):
		zw := zip.NewWriter(f)
		for _, name := range names {
			fi, err := os.Stat(filepath.Join(stage, name))
			if err != nil {
				t.Fatal(err)
			}
			hdr, err := zip.FileInfoHeader(fi)
			if err != nil {
				t.Fatal(err)
			}
			hdr.Name, hdr.Method = name, zip.Deflate
			w, err := zw.CreateHeader(hdr)
			if err != nil {
				t.Fatal(err)
			}
			copyFile(t, w, filepath.Join(stage, name))
		}
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
	default:
		t.Fatalf("unknown archive format: %s", archive)
	}
}

func copyFile(t *testing.T, w io.Writer, file string) {
	t.Helper()
	src, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	if _, err := io.Copy(w, src); err != nil {
		t.Fatal(err)
	}
}

// krewInstall follows krew's installation.install: unpack into a staging
// dir, move the platform's files (default: everything) into installDir,
// check that bin stays inside it, and symlink it as binDir/kubectl-imgtrust.
// It also applies the krew-index check that a licence file is installed.
func krewInstall(t *testing.T, archive string, p krewPlatform, installDir, binDir string) {
	t.Helper()
	staging := t.TempDir()
	unpack(t, archive, staging)

	files := p.Files
	if files == nil {
		files = append(files, struct {
			From string `json:"from"`
			To   string `json:"to"`
		}{"*", "."})
	}
	for _, op := range files {
		matches, err := filepath.Glob(filepath.Join(staging, filepath.FromSlash(op.From)))
		if err != nil || len(matches) == 0 {
			t.Fatalf("files.from %q matches nothing in the archive (%v)", op.From, err)
		}
		dst := filepath.Join(installDir, filepath.FromSlash(op.To))
		if err := os.MkdirAll(dst, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, m := range matches {
			if err := os.Rename(m, filepath.Join(dst, filepath.Base(m))); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := os.Stat(filepath.Join(installDir, "LICENSE")); err != nil {
		t.Fatalf("LICENSE not installed from the archive: %v", err)
	}

	binary := filepath.Join(installDir, filepath.FromSlash(p.Bin))
	if rel, err := filepath.Rel(installDir, binary); err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		t.Fatalf("bin %q escapes the install dir", p.Bin)
	}
	if fi, err := os.Stat(binary); err != nil || fi.Mode()&0o111 == 0 {
		t.Fatalf("bin %q is not an executable in the archive (%v)", p.Bin, err)
	}
	if err := os.MkdirAll(binDir, 0o755); err != nil {
		t.Fatal(err)
	}
	// krew names the link kubectl-<name> with dashes turned into underscores.
	if err := os.Symlink(binary, filepath.Join(binDir, "kubectl-imgtrust")); err != nil {
		t.Fatal(err)
	}
}

// unpack extracts a tar.gz or zip archive into dir, refusing entries that
// would land outside it, as krew's download package does.
func unpack(t *testing.T, archive, dir string) {
	t.Helper()
	target := func(name string) string {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if !strings.HasPrefix(p, filepath.Clean(dir)+string(filepath.Separator)) {
			t.Fatalf("archive entry %q escapes the extraction dir", name)
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write := func(dst string, mode os.FileMode, r io.Reader) {
		out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(out, r); err != nil {
			t.Fatal(err)
		}
		if err := out.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if strings.HasSuffix(archive, ".zip") {
		zr, err := zip.OpenReader(archive)
		if err != nil {
			t.Fatal(err)
		}
		defer zr.Close()
		for _, f := range zr.File {
			if f.FileInfo().IsDir() {
				continue
			}
			rc, err := f.Open()
			if err != nil {
				t.Fatal(err)
			}
			write(target(f.Name), f.Mode().Perm(), rc)
			rc.Close()
		}
		return
	}
	f, err := os.Open(archive)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		if hdr.Typeflag == tar.TypeReg {
			write(target(hdr.Name), os.FileMode(hdr.Mode).Perm(), tr)
		}
	}
}
