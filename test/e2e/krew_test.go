//go:build e2e

package e2e

import (
	"archive/tar"
	"archive/zip"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
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
