package cmd

import (
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/imgtrust/kubectl-imgtrust/pkg/mirror"
	"github.com/imgtrust/kubectl-imgtrust/pkg/pipeline"
)

// mirrorFlags ask pin to copy each image into a registry we control and
// pin to the copy.
type mirrorFlags struct {
	MirrorTo      string
	MirrorLayout  string
	OverwriteTags bool

	layout mirror.Layout
}

func (f *mirrorFlags) AddFlags(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.MirrorTo, "mirror-to", "", "Copy each image (by digest, every platform, with its signatures and attestations) under this registry/path prefix, then pin to the copy: PREFIX/HOST/REPOSITORY:TAG@DIGEST")
	cmd.Flags().StringVar(&f.MirrorLayout, "mirror-layout", string(mirror.LayoutHost), "How copies are named: host (PREFIX/docker.io/library/nginx) or flat (PREFIX/library/nginx)")
	cmd.Flags().BoolVar(&f.OverwriteTags, "overwrite-tags", false, "With --mirror-to: move a target tag that points at another digest (refused otherwise)")
}

func (f *mirrorFlags) mirroring() bool { return f.MirrorTo != "" }

// Validate checks the prefix and the layout.
func (f *mirrorFlags) Validate() error {
	if !f.mirroring() {
		if f.OverwriteTags {
			return fmt.Errorf("--overwrite-tags applies only with --mirror-to")
		}
		return nil
	}
	if err := mirror.ValidatePrefix(f.MirrorTo); err != nil {
		return err
	}
	var err error
	f.layout, err = mirror.ParseLayout(f.MirrorLayout)
	return err
}

// mirrorConfig is the run's --mirror-to, nil without it.
func (o *PinOptions) mirrorConfig() *pipeline.MirrorConfig {
	if !o.mirroring() {
		return nil
	}
	return &pipeline.MirrorConfig{
		Prefix: o.MirrorTo, Layout: o.layout, OverwriteTags: o.OverwriteTags,
		Progress: copyProgress(o.ErrOut),
	}
}

// printCopy says one copy into the mirror, made or (dry run) planned.
func (o *PinOptions) printCopy(res mirror.Result) {
	if res.Planned {
		fmt.Fprintf(o.ErrOut, "would copy %s -> %s\n", res.Source, res.Target)
		return
	}
	state := "copied"
	if res.AlreadyPresent {
		state = "already in the mirror"
	}
	fmt.Fprintf(o.ErrOut, "%s %s -> %s (manifests checked: %d, blobs: %d, %s, signatures: %d; pulled with %s, pushed with %s)\n",
		state, res.Source, res.Target, res.Manifests, res.Blobs, bytesText(res.Bytes), res.Signatures, res.PullCredential, res.PushCredential)
}

// mirrorSummary is the last line about the copies, after pin's own.
// Nil totals: the run copied nothing (no --mirror-to, or a dry run).
func (o *PinOptions) mirrorSummary(t *mirror.Totals) {
	if t == nil {
		return
	}
	fmt.Fprintf(o.ErrOut, "mirror: images copied: %d, already present: %d; blobs transferred: %d, %s; signatures and attestations copied: %d\n",
		t.Copied, t.Present, t.Blobs, bytesText(t.Bytes), t.Signatures)
}

func bytesText(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

// copyProgress shows bytes written per image on a terminal's stderr only.
func copyProgress(w io.Writer) func(image string, written, total int64) {
	f, ok := w.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return nil
	}
	return func(image string, written, total int64) {
		fmt.Fprintf(w, "\r\033[Kcopying %s: %s of %s", image, bytesText(written), bytesText(total))
		if written >= total {
			fmt.Fprint(w, "\r\033[K")
		}
	}
}
