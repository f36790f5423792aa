// Command render-krew renders the krew-release-bot template .krew.yaml into a
// krew plugin manifest from release archives on disk, the way the bot renders
// it from the archives of a GitHub release. Use it through hack/render-krew.sh.
//
//	go run ./hack/render-krew -tag v0.1.0 -dist dist -template .krew.yaml -o plugins/imgtrust.yaml
package main

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"text/template"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "render-krew:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("render-krew", flag.ContinueOnError)
	tag := fs.String("tag", "", "release tag, e.g. v0.1.0 (the template's .TagName)")
	dist := fs.String("dist", "dist", "directory holding the release archives and checksums.txt")
	tmpl := fs.String("template", ".krew.yaml", "krew-release-bot template")
	out := fs.String("o", "-", "output file, - for stdout")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if !strings.HasPrefix(*tag, "v") {
		return fmt.Errorf("-tag %q: want a tag with a leading v, e.g. v0.1.0", *tag)
	}
	sums, err := readChecksums(filepath.Join(*dist, "checksums.txt"))
	if err != nil {
		return err
	}
	manifest, err := render(*tmpl, *tag, func(uri string) (string, error) {
		return archiveSHA256(*dist, path.Base(uri), sums)
	})
	if err != nil {
		return err
	}
	header := fmt.Sprintf("# Rendered by hack/render-krew.sh from .krew.yaml for %s; edit the template, not this file.\n", *tag)
	manifest = append([]byte(header), manifest...)
	if *out == "-" {
		_, err = os.Stdout.Write(manifest)
		return err
	}
	return os.WriteFile(*out, manifest, 0o644)
}

// render executes the template with the same data and addURIAndSha function
// as krew-release-bot, so the output matches what the bot would submit.
func render(file, tag string, shaFor func(uri string) (string, error)) ([]byte, error) {
	var shaErr error
	funcs := template.FuncMap{
		"addURIAndSha": func(uriTemplate, tag string) (string, error) {
			var uri bytes.Buffer
			t, err := template.New("uri").Parse(uriTemplate)
			if err != nil {
				return "", err
			}
			if err := t.Execute(&uri, struct{ TagName string }{tag}); err != nil {
				return "", err
			}
			sum, err := shaFor(uri.String())
			if err != nil {
				shaErr = err
				return "", err
			}
			return fmt.Sprintf("uri: %s\n    sha256: %s", uri.String(), sum), nil
		},
	}
	t, err := template.New(filepath.Base(file)).Funcs(funcs).ParseFiles(file)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := t.Execute(&buf, struct{ TagName string }{tag}); err != nil {
		if shaErr != nil {
			return nil, shaErr
		}
		return nil, fmt.Errorf("rendering %s: %w", file, err)
	}
	return buf.Bytes(), nil
}

// readChecksums parses goreleaser's checksums.txt ("<sha256>  <file>").
func readChecksums(file string) (map[string]string, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sums := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) != 2 {
			return nil, fmt.Errorf("%s: malformed line %q", file, sc.Text())
		}
		sums[fields[1]] = fields[0]
	}
	return sums, sc.Err()
}

// archiveSHA256 hashes the archive itself and insists that checksums.txt
// agrees, so a stale dist dir cannot leak into the manifest.
func archiveSHA256(dist, name string, sums map[string]string) (string, error) {
	listed, ok := sums[name]
	if !ok {
		return "", fmt.Errorf("%s is not in %s/checksums.txt; was the snapshot built with GORELEASER_CURRENT_TAG set to this tag?", name, dist)
	}
	f, err := os.Open(filepath.Join(dist, name))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return "", fmt.Errorf("archive %s is listed in checksums.txt but missing from %s", name, dist)
		}
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("hashing %s: %w", name, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != listed {
		return "", fmt.Errorf("%s: sha256 %s, but checksums.txt says %s", name, got, listed)
	}
	return listed, nil
}
