package report

import (
	"fmt"
	"io"

	"github.com/imgtrust/kubectl-imgtrust/pkg/mirror"
)

// MirrorCopy says one copy into the mirror, made or (dry run) planned.
func MirrorCopy(w io.Writer, res mirror.Result) {
	if res.Planned {
		fmt.Fprintf(w, "would copy %s -> %s\n", res.Source, res.Target)
		return
	}
	state := "copied"
	if res.AlreadyPresent {
		state = "already in the mirror"
	}
	fmt.Fprintf(w, "%s %s -> %s (manifests checked: %d, blobs: %d, %s, signatures: %d; pulled with %s, pushed with %s)\n",
		state, res.Source, res.Target, res.Manifests, res.Blobs, Bytes(res.Bytes), res.Signatures, res.PullCredential, res.PushCredential)
}

// MirrorTotals is the last line about the copies, after pin's own.
// Nil totals: the run copied nothing (no --mirror-to, or a dry run).
func MirrorTotals(w io.Writer, t *mirror.Totals) {
	if t == nil {
		return
	}
	fmt.Fprintf(w, "mirror: images copied: %d, already present: %d; blobs transferred: %d, %s; signatures and attestations copied: %d\n",
		t.Copied, t.Present, t.Blobs, Bytes(t.Bytes), t.Signatures)
}

// Bytes is a size as people read it: B, KiB or MiB.
func Bytes(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
