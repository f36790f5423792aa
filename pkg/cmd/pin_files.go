package cmd

import (
	"context"
	"fmt"

	"github.com/imgtrust/kubectl-imgtrust/pkg/imageref"
	"github.com/imgtrust/kubectl-imgtrust/pkg/manifest"
	"github.com/imgtrust/kubectl-imgtrust/pkg/pin"
	"github.com/imgtrust/kubectl-imgtrust/pkg/pipeline"
	"github.com/imgtrust/kubectl-imgtrust/pkg/workload"
)

// runFiles pins manifest files: a diff on stdout, or --write in place.
func (o *PinOptions) runFiles(ctx context.Context) error {
	files, err := manifest.Paths(o.Filenames, o.Recursive)
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
		digest, err := pipeline.DigestFor(ctx, o.resolver, plan, workload.Object{}, image)
		if err != nil {
			return "", err
		}
		if o.authorities != nil {
			if err := pipeline.VerifyDigest(ctx, o.resolver, o.authorities, plan, workload.Object{}, image, digest); err != nil {
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

	// Files that cannot be read or parsed are said as audit -f says them
	// (pkg/manifest reads for both), and make the exit code 2.
	var edited, unchanged, failed, unreadable int
	for _, path := range files {
		f, err := manifest.Read(path, o.In)
		var res pin.ManifestResult
		if err == nil {
			res, err = rewrite(f.Text, resolve)
		}
		if err != nil {
			fmt.Fprintf(o.ErrOut, "failed %s: %v\n", path, err)
			failed++
			unreadable++
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
			fmt.Fprint(o.Out, pin.UnifiedDiff("a/"+path, "b/"+path, string(f.Text), string(res.Data)))
			continue
		}
		if err := manifest.Write(f, f.Encode(res.Data)); err != nil {
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
	if unreadable > 0 {
		return &exitError{Code: ExitError}
	}
	if failed > 0 {
		return &exitError{Code: ExitFindings}
	}
	return nil
}

// mirrorResolver is -f's resolver with --mirror-to: the digest from the
// registry (or as written), copied with --write, named in the mirror.
func (o *PinOptions) mirrorResolver(ctx context.Context, plan *pipeline.CredentialPlan) pin.Resolver {
	return func(image string) (string, error) {
		target, ok, err := o.session.Target(image)
		if err != nil {
			return "", err
		}
		if !ok {
			return "", pin.ErrAlreadyMirrored
		}
		ref, err := imageref.Parse(image)
		if err != nil {
			return "", err
		}
		digest := ref.Digest
		if digest == "" {
			if digest, err = pipeline.DigestFor(ctx, o.resolver, plan, workload.Object{}, image); err != nil {
				return "", err
			}
		}
		if o.authorities != nil {
			if err := pipeline.VerifyDigest(ctx, o.resolver, o.authorities, plan, workload.Object{}, image, digest); err != nil {
				return "", err
			}
		}
		if err := o.copyOnce(ctx, workload.Object{}, image, digest, target); err != nil {
			return "", err
		}
		return pin.PinnedImage(target, digest, o.DropTag)
	}
}
