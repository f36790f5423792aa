// Command image builds the container image of the plugin from the static
// linux binaries goreleaser put in dist/ (artifacts.json, metadata.json) and
// pushes it, without a Docker daemon: go-containerregistry assembles one
// layer on an empty base (the binary, a CA bundle for the registries'
// TLS, an /etc/passwd naming the non-root user), one manifest per linux
// platform, and an index. deploy/cronjob runs it.
//
//	go run ./hack/image -dist dist -repo registry.example.com/imgtrust/kubectl-imgtrust
//
// It prints the pushed reference, repo:VERSION@sha256:…. Credentials come
// from the docker config ($DOCKER_CONFIG), TLS roots from the system (or
// $SSL_CERT_FILE).
package main

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

const (
	binaryPath = "/kubectl-imgtrust"
	// nonRoot is distroless' nonroot user: numeric, so that the kubelet
	// can enforce runAsNonRoot from the image config alone.
	nonRoot = "65532:65532"
	source  = "https://github.com/imgtrust/kubectl-imgtrust"
)

type artifact struct {
	Path   string `json:"path"`
	Type   string `json:"type"`
	Goos   string `json:"goos"`
	Goarch string `json:"goarch"`
	Goarm  string `json:"goarm"`
}

type metadata struct {
	Version string    `json:"version"`
	Commit  string    `json:"commit"`
	Date    time.Time `json:"date"`
}

func main() {
	dist := flag.String("dist", "dist", "goreleaser's dist directory (artifacts.json, metadata.json)")
	repo := flag.String("repo", "", "repository to push to, e.g. ghcr.io/imgtrust/kubectl-imgtrust (the tag is the release version)")
	caBundle := flag.String("ca-bundle", "/etc/ssl/certs/ca-certificates.crt", "CA bundle the plugin trusts in the image")
	flag.Parse()
	if *repo == "" {
		fail("-repo is required: the repository to push the image to")
	}
	ref, err := build(*dist, *repo, *caBundle)
	if err != nil {
		fail(err.Error())
	}
	fmt.Println(ref)
}

func fail(msg string) {
	fmt.Fprintln(os.Stderr, "image: "+msg)
	os.Exit(1)
}

func build(dist, repo, caBundle string) (string, error) {
	var meta metadata
	if err := readJSON(filepath.Join(dist, "metadata.json"), &meta); err != nil {
		return "", err
	}
	var arts []artifact
	if err := readJSON(filepath.Join(dist, "artifacts.json"), &arts); err != nil {
		return "", err
	}
	tag, err := name.NewTag(repo + ":" + strings.ReplaceAll(meta.Version, "+", "_"))
	if err != nil {
		return "", fmt.Errorf("-repo %q: %w", repo, err)
	}
	ca, err := os.ReadFile(caBundle)
	if err != nil {
		return "", fmt.Errorf("reading the CA bundle: %w", err)
	}
	labels := map[string]string{
		"org.opencontainers.image.source":   source,
		"org.opencontainers.image.revision": meta.Commit,
		"org.opencontainers.image.version":  meta.Version,
		"org.opencontainers.image.created":  meta.Date.UTC().Format(time.RFC3339),
		"org.opencontainers.image.title":    "kubectl-imgtrust",
	}
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	platforms := 0
	for _, a := range arts {
		if a.Type != "Binary" || a.Goos != "linux" {
			continue
		}
		// goreleaser writes paths relative to the directory it ran in,
		// the parent of dist.
		path := a.Path
		if !filepath.IsAbs(path) {
			path = filepath.Join(filepath.Dir(filepath.Clean(dist)), path)
		}
		img, err := platformImage(path, a.Goarch, ca, meta, labels)
		if err != nil {
			return "", err
		}
		platform := v1.Platform{OS: "linux", Architecture: a.Goarch}
		if a.Goarch == "arm" && a.Goarm != "" {
			platform.Variant = "v" + a.Goarm
		}
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &platform}})
		platforms++
	}
	if platforms == 0 {
		return "", fmt.Errorf("%s lists no linux binary: run goreleaser (make release-snapshot) first", filepath.Join(dist, "artifacts.json"))
	}
	idx = mutate.Annotations(idx, labels).(v1.ImageIndex)
	if err := remote.WriteIndex(tag, idx, remote.WithAuthFromKeychain(authn.DefaultKeychain)); err != nil {
		return "", fmt.Errorf("pushing %s: %w", tag, err)
	}
	digest, err := idx.Digest()
	if err != nil {
		return "", err
	}
	return tag.String() + "@" + digest.String(), nil
}

// platformImage is the empty base plus one layer, run as the non-root
// user with the plugin as entrypoint: no shell, nothing else to run.
func platformImage(binary, arch string, ca []byte, meta metadata, labels map[string]string) (v1.Image, error) {
	bin, err := os.ReadFile(binary)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", binary, err)
	}
	layerTar, err := rootfs(bin, ca, meta.Date)
	if err != nil {
		return nil, err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(layerTar)), nil }, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return nil, err
	}
	img, err := mutate.Append(mutate.MediaType(empty.Image, types.OCIManifestSchema1), mutate.Addendum{Layer: layer, MediaType: types.OCILayer})
	if err != nil {
		return nil, err
	}
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	cfg, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cfg = cfg.DeepCopy()
	cfg.OS, cfg.Architecture = "linux", arch
	cfg.Created = v1.Time{Time: meta.Date}
	cfg.Config.Entrypoint = []string{binaryPath}
	cfg.Config.User = nonRoot
	cfg.Config.WorkingDir = "/"
	// client-go and the plugin keep caches under $HOME; /tmp is an
	// emptyDir in deploy/cronjob, so the root filesystem can be read-only.
	cfg.Config.Env = []string{"HOME=/tmp", "SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt"}
	cfg.Config.Labels = labels
	return mutate.ConfigFile(img, cfg)
}

func rootfs(bin, ca []byte, mtime time.Time) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	dirs := []string{"etc/", "etc/ssl/", "etc/ssl/certs/"}
	for _, d := range dirs {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: d, Mode: 0o755, ModTime: mtime}); err != nil {
			return nil, err
		}
	}
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: "tmp/", Mode: 0o1777, ModTime: mtime}); err != nil {
		return nil, err
	}
	files := []struct {
		name string
		mode int64
		data []byte
	}{
		{"etc/passwd", 0o644, []byte("root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/tmp:/sbin/nologin\n")},
		{"etc/group", 0o644, []byte("root:x:0:\nnonroot:x:65532:\n")},
		{"etc/ssl/certs/ca-certificates.crt", 0o644, ca},
		{strings.TrimPrefix(binaryPath, "/"), 0o755, bin},
	}
	for _, f := range files {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: f.name, Mode: f.mode, Size: int64(len(f.data)), ModTime: mtime}); err != nil {
			return nil, err
		}
		if _, err := tw.Write(f.data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("%w: run goreleaser (make release-snapshot) first", err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}
