package cmd

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/imgtrust/kubectl-imgtrust/pkg/pin"
	"github.com/imgtrust/kubectl-imgtrust/pkg/pipeline"
	"github.com/imgtrust/kubectl-imgtrust/pkg/workload"
)

// manifestExtensions are the files kubectl reads from a directory.
var manifestExtensions = map[string]bool{".yaml": true, ".yml": true, ".json": true}

// runFiles pins manifest files: a diff on stdout, or --write in place.
func (o *PinOptions) runFiles(ctx context.Context) error {
	files, err := expandManifestPaths(o.Filenames, o.Recursive)
	if err != nil {
		return &exitError{Code: ExitError, Err: err}
	}
	if o.Write {
		for _, f := range files {
			if f == "-" {
				return &exitError{Code: ExitError, Err: fmt.Errorf("--write cannot rewrite stdin (-f -): give a file")}
			}
		}
	}
	plan := pipeline.NewCredentialPlan(nil)
	// The resolver remembers each answer for the run, so an image shared by
	// many files costs one registry request.
	resolve := func(image string) (string, error) {
		digest, err := o.resolveUsage(ctx, plan, workload.Object{}, image)
		if err != nil {
			return "", err
		}
		if o.checker != nil {
			if err := o.verifyDigest(ctx, plan, workload.Object{}, image, digest); err != nil {
				return "", err
			}
		}
		return pin.PinnedImage(image, digest, o.DropTag)
	}
	rewrite := pin.PinManifest
	if o.mirroring() {
		o.mirrorFlags.plan = plan
		resolve = o.mirrorResolver(ctx, plan)
		rewrite = pin.MirrorManifest
	}

	var edited, unchanged, failed int
	for _, path := range files {
		data, mode, err := readManifest(path, o.In)
		if err != nil {
			fmt.Fprintf(o.ErrOut, "failed %s: %v\n", path, err)
			failed++
			continue
		}
		res, err := rewrite(data, resolve)
		if err != nil {
			fmt.Fprintf(o.ErrOut, "failed %s: %v\n", path, err)
			failed++
			continue
		}
		for _, e := range res.Errors {
			fmt.Fprintf(o.ErrOut, "failed %s: %v\n", path, e)
		}
		if len(res.Errors) > 0 {
			failed++
		}
		if len(res.Edits) == 0 {
			unchanged++
			continue
		}
		edited++
		for _, e := range res.Edits {
			fmt.Fprintf(o.ErrOut, "%s:%d: %s -> %s (from registry)\n", path, e.Line, e.Image, e.New)
		}
		if !o.Write {
			fmt.Fprint(o.Out, pin.UnifiedDiff("a/"+path, "b/"+path, string(data), string(res.Data)))
			continue
		}
		if err := writeFileAtomic(path, res.Data, mode); err != nil {
			fmt.Fprintf(o.ErrOut, "failed %s: %v\n", path, err)
			failed++
		}
	}
	verb := "would be pinned (use --write to rewrite them)"
	if o.Write {
		verb = "rewritten"
	}
	fmt.Fprintf(o.ErrOut, "%d files %s, %d unchanged, %d with failures\n", edited, verb, unchanged, failed)
	o.mirrorSummary()
	if failed > 0 {
		return &exitError{Code: ExitFindings}
	}
	return nil
}

// expandManifestPaths lists the files of -f arguments: files as given,
// directories' .yaml/.yml/.json files (recursively with -R), "-" for stdin.
func expandManifestPaths(paths []string, recursive bool) ([]string, error) {
	var out []string
	for _, p := range paths {
		if p == "-" {
			out = append(out, p)
			continue
		}
		info, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("-f %s: %w", p, err)
		}
		if !info.IsDir() {
			out = append(out, p)
			continue
		}
		err = filepath.WalkDir(p, func(path string, d os.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				if path != p && !recursive {
					return filepath.SkipDir
				}
				return nil
			}
			if manifestExtensions[strings.ToLower(filepath.Ext(path))] {
				out = append(out, path)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("-f %s: %w", p, err)
		}
	}
	sort.Strings(out)
	return out, nil
}

func readManifest(path string, stdin io.Reader) ([]byte, os.FileMode, error) {
	if path == "-" {
		b, err := io.ReadAll(stdin)
		return b, 0, err
	}
	info, err := os.Stat(path)
	if err != nil {
		return nil, 0, err
	}
	b, err := os.ReadFile(path)
	return b, info.Mode().Perm(), err
}

// writeFileAtomic replaces path through a temporary file in the same
// directory, so a crash never leaves a half-written manifest.
func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".imgtrust-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
