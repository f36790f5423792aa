package pipeline

import (
	"context"
	"fmt"
	"io"

	"github.com/imgtrust/kubectl-imgtrust/pkg/manifest"
	"github.com/imgtrust/kubectl-imgtrust/pkg/mirror"
	"github.com/imgtrust/kubectl-imgtrust/pkg/pin"
	"github.com/imgtrust/kubectl-imgtrust/pkg/report"
	"github.com/imgtrust/kubectl-imgtrust/pkg/workload"
)

// PinFilesConfig pins manifest files (-f): digests from the registry,
// each file shown as a diff or rewritten in place.
type PinFilesConfig struct {
	PinSettings
	Filenames []string
	Recursive bool
	// Stdin is read for the file "-".
	Stdin io.Reader
	// Write rewrites the files in place (and copies into the mirror);
	// otherwise each changed file's diff goes to Output.
	Write  bool
	Output func(PinOutput) error
	// ImagePaths says which fields of custom resources hold images (nil:
	// the built-in catalogue).
	ImagePaths *workload.Catalog
}

// PinFilesResult is the tally of a file pin.
type PinFilesResult struct {
	Edited, Unchanged, Failed int
	// Unreadable counts the files (among Failed) that could not be read or
	// parsed, as audit -f says them.
	Unreadable int
	// Mirror totals the copies, when the run copied; Signed what
	// --sign-key signed in the mirror.
	Mirror *mirror.Totals
	Signed *report.SignTotals
}

// PinFiles pins every image without a digest in the files, keeping
// comments and formatting. Each failure is told (PinFileFailed) and
// counted; the error is for a run that cannot start.
func PinFiles(ctx context.Context, cfg PinFilesConfig) (PinFilesResult, error) {
	r, err := newPinRun(ctx, cfg.PinSettings, true, cfg.Write)
	if err != nil {
		return PinFilesResult{}, err
	}
	files, err := manifest.Paths(cfg.Filenames, cfg.Recursive)
	if err != nil {
		return PinFilesResult{}, err
	}
	if cfg.Write {
		for _, f := range files {
			if f == "-" {
				return PinFilesResult{}, fmt.Errorf("--write cannot rewrite stdin (-f -): give a file")
			}
		}
	}
	r.plan = NewCredentialPlan(nil)
	// The resolver remembers each answer for the run, so an image shared by
	// many files costs one registry request.
	resolve := func(image string) (string, error) {
		digest, err := DigestFor(ctx, r.resolver, r.plan, workload.Object{}, image)
		if err != nil {
			return "", err
		}
		if err := r.verify(ctx, workload.Object{}, image, digest); err != nil {
			return "", err
		}
		return pin.PinnedImage(image, digest, r.DropTag)
	}
	rewrite := pin.PinManifestCatalog(cfg.ImagePaths)
	if r.session != nil {
		resolve, rewrite = r.mirrorResolver(ctx), pin.MirrorManifestCatalog(cfg.ImagePaths)
	}
	var res PinFilesResult
	for _, path := range files {
		r.pinFile(cfg, path, resolve, rewrite, &res)
	}
	res.Mirror, res.Signed = r.mirrorTotals(), r.signTotals()
	return res, nil
}

// pinFile pins one file and tallies it.
func (r *pinRun) pinFile(cfg PinFilesConfig, path string, resolve pin.Resolver, rewrite func([]byte, pin.Resolver) (pin.ManifestResult, error), res *PinFilesResult) {
	failed := func(err error) { r.Events(PinEvent{Kind: PinFileFailed, Path: path, Err: err}) }
	f, err := manifest.Read(path, cfg.Stdin)
	var out pin.ManifestResult
	if err == nil {
		out, err = rewrite(f.Text, resolve)
	}
	if err != nil {
		failed(err)
		res.Failed++
		res.Unreadable++
		return
	}
	for _, e := range out.Errors {
		failed(e)
	}
	if len(out.Errors) > 0 {
		res.Failed++
	}
	if len(out.Edits) == 0 {
		res.Unchanged++
		return
	}
	res.Edited++
	for _, e := range out.Edits {
		r.Events(PinEvent{Kind: PinFileEdit, Path: path, Edit: e})
	}
	if !cfg.Write {
		// A diff that cannot be written is not the file's failure, as before.
		_ = cfg.Output(PinOutput{Path: path, Format: PinDiff, Data: []byte(pin.UnifiedDiff("a/"+path, "b/"+path, string(f.Text), string(out.Data)))})
		return
	}
	if err := manifest.Write(f, f.Encode(out.Data)); err != nil {
		failed(err)
		res.Failed++
	}
}
