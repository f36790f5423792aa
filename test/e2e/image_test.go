//go:build e2e

package e2e

import (
	"archive/tar"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/imgtrust/kubectl-imgtrust/test/fixture"
)

// TestPluginImage builds the plugin's image from goreleaser's dist/ (the
// snapshot `make release-check` leaves) with hack/image, pushes it to the
// real registry, checks what it runs and as whom, runs the binary it holds,
// and applies deploy/cronjob with it, pinned by the plugin, in a server-side
// dry run.
func TestPluginImage(t *testing.T) {
	dist := filepath.Join(repoRoot, "dist")
	var meta struct{ Version, Commit string }
	b, err := os.ReadFile(filepath.Join(dist, "metadata.json"))
	if err != nil {
		t.Fatalf("no goreleaser snapshot in dist/ (make test runs release-check first; alone: hack/release.sh snapshot-one): %v", err)
	}
	if err := json.Unmarshal(b, &meta); err != nil {
		t.Fatal(err)
	}
	repo := stack.Registry + "/imgtrust-e2e-" + randomSuffix() + "/kubectl-imgtrust"
	docker := pushConfig(t, stack.Registry)
	build := exec.Command("go", "run", "./hack/image", "-dist", dist, "-repo", repo)
	build.Dir = repoRoot
	build.Env = append(os.Environ(), "DOCKER_CONFIG="+docker)
	out, err := build.Output()
	if err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			t.Fatalf("hack/image: %v\n%s", err, exit.Stderr)
		}
		t.Fatal(err)
	}
	pushed := strings.TrimSpace(string(out))
	if !strings.HasPrefix(pushed, repo+":"+meta.Version+"@sha256:") {
		t.Fatalf("hack/image printed %q, want %s:%s@sha256:…", pushed, repo, meta.Version)
	}

	transport, err := stack.Transport()
	if err != nil {
		t.Fatal(err)
	}
	ref, err := name.ParseReference(pushed)
	if err != nil {
		t.Fatal(err)
	}
	auth := remote.WithAuth(&authn.Basic{Username: stack.RegistryUser, Password: stack.RegistryPassword})
	idx, err := remote.Index(ref, remote.WithTransport(transport), auth)
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(im.Manifests) == 0 || im.Manifests[0].Platform == nil || im.Manifests[0].Platform.OS != "linux" || im.Annotations["org.opencontainers.image.revision"] != meta.Commit {
		t.Fatalf("index: %+v", im)
	}
	img, err := idx.Image(im.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	c := cfg.Config
	if !slices.Equal(c.Entrypoint, []string{"/kubectl-imgtrust"}) || len(c.Cmd) != 0 {
		t.Errorf("entrypoint %v cmd %v, want the plugin alone", c.Entrypoint, c.Cmd)
	}
	if c.User != "65532:65532" {
		t.Errorf("user %q, want the numeric non-root 65532:65532", c.User)
	}
	if c.Labels["org.opencontainers.image.source"] != "https://github.com/imgtrust/kubectl-imgtrust" || c.Labels["org.opencontainers.image.version"] != meta.Version {
		t.Errorf("labels %v", c.Labels)
	}

	// Exactly these files: no shell, no package manager, nothing else.
	files, binary := layerFiles(t, img)
	want := []string{"etc/group", "etc/passwd", "etc/ssl/certs/ca-certificates.crt", "kubectl-imgtrust"}
	if !slices.Equal(files, want) {
		t.Errorf("files in the image %v, want %v", files, want)
	}
	if cfg.Architecture == "amd64" {
		// The binary the image holds is the plugin, built by goreleaser.
		path := filepath.Join(t.TempDir(), "kubectl-imgtrust")
		if err := os.WriteFile(path, binary, 0o755); err != nil {
			t.Fatal(err)
		}
		v, err := exec.Command(path, "version").CombinedOutput()
		if err != nil || !strings.Contains(string(v), "commit "+meta.Commit) {
			t.Errorf("the image's binary says %q (%v), want commit %s", v, err, meta.Commit)
		}
	}

	t.Run("deploy/cronjob applies with the image pinned", func(t *testing.T) {
		manifest, err := os.ReadFile(filepath.Join(repoRoot, "deploy", "cronjob", "imgtrust-audit.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		tagged := strings.TrimSuffix(pushed, "@"+ref.Identifier())
		rendered := filepath.Join(t.TempDir(), "imgtrust-audit.yaml")
		text := strings.Replace(string(manifest), "ghcr.io/imgtrust/kubectl-imgtrust:v0.1.0", tagged, 1)
		if text == string(manifest) {
			t.Fatal("deploy/cronjob no longer names ghcr.io/imgtrust/kubectl-imgtrust:v0.1.0; update this test")
		}
		if err := os.WriteFile(rendered, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		env := []string{"DOCKER_CONFIG=" + docker}
		mustSucceed(t, kubectlEnv(t, env, "imgtrust", "pin", "-f", rendered, "--write"), "pin -f deploy/cronjob --write")
		pinnedText, _ := os.ReadFile(rendered)
		if !strings.Contains(string(pinnedText), "@"+ref.Identifier()) {
			t.Fatalf("pin did not write the digest %s:\n%s", ref.Identifier(), pinnedText)
		}
		mustSucceed(t, kubectl(t, "imgtrust", "audit", "-f", rendered, "--fail-on=low"), "audit of the pinned CronJob")

		// The namespace exists for real: a dry run creates nothing, so the
		// namespaced objects would find none.
		if err := fixture.CreateNamespace(testContext(t), kube, "imgtrust"); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = kube.CoreV1().Namespaces().Delete(testContext(t), "imgtrust", metav1.DeleteOptions{}) })
		r := kubectl(t, "apply", "--server-side", "--dry-run=server",
			"-f", filepath.Join(repoRoot, "deploy", "rbac", "imgtrust-readonly.yaml"),
			"-f", filepath.Join(repoRoot, "deploy", "rbac", "imgtrust-reports.yaml"),
			"-f", rendered)
		mustSucceed(t, r, "kubectl apply --dry-run=server deploy/cronjob")
		for _, obj := range []string{"cronjob.batch/imgtrust-audit", "serviceaccount/imgtrust-audit", "clusterrolebinding.rbac.authorization.k8s.io/imgtrust-audit-reports"} {
			if !strings.Contains(r.Stdout, obj+" serverside-applied (server dry run)") {
				t.Errorf("%s not applied:\n%s", obj, r)
			}
		}
	})
}

// layerFiles lists the regular files of the image's layers, sorted, and
// returns the plugin binary's bytes.
func layerFiles(t *testing.T, img v1.Image) ([]string, []byte) {
	t.Helper()
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	var binary []byte
	for _, l := range layers {
		rc, err := l.Uncompressed()
		if err != nil {
			t.Fatal(err)
		}
		tr := tar.NewReader(rc)
		for {
			h, err := tr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			if h.Typeflag != tar.TypeReg && h.Typeflag != tar.TypeSymlink && h.Typeflag != tar.TypeLink {
				continue
			}
			files = append(files, h.Name)
			if h.Name == "kubectl-imgtrust" {
				if h.Mode&0o111 == 0 {
					t.Errorf("the binary is not executable: mode %o", h.Mode)
				}
				if binary, err = io.ReadAll(tr); err != nil {
					t.Fatal(err)
				}
			}
		}
		rc.Close()
	}
	slices.Sort(files)
	return files, binary
}
