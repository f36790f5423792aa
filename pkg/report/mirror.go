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

// SignTotals count what pin --sign-key signed in the mirror.
type SignTotals struct{ Signed, AlreadySigned int }

// MirrorTotals is the last line about the copies, after pin's own, with
// what --sign-key signed when signed is set. Nil totals: the run copied
// nothing (no --mirror-to, or a dry run).
func MirrorTotals(w io.Writer, t *mirror.Totals, signed *SignTotals) {
	if t == nil {
		return
	}
	fmt.Fprintf(w, "mirror: images copied: %d, already present: %d; blobs transferred: %d, %s; signatures and attestations copied: %d",
		t.Copied, t.Present, t.Blobs, Bytes(t.Bytes), t.Signatures)
	if t.ReferrersSkipped > 0 {
		// Only when it happens: the line stays as it was for everyone
		// else. It names the limit that cut the copies, so that the user
		// knows which one to raise (only the budget has a flag).
		capped, budget := t.ReferrersSkipped-t.ReferrersOverBudget, t.ReferrersOverBudget
		const overBudget = "the image's --max-artifact-requests reads were spent"
		switch {
		case budget == 0:
			fmt.Fprintf(w, " (%d more skipped: over %d per image)", capped, mirror.MaxReferrerCopies)
		case capped == 0:
			fmt.Fprintf(w, " (%d more skipped: %s)", budget, overBudget)
		default:
			fmt.Fprintf(w, " (%d more skipped: %d over %d per image, %d as %s)", t.ReferrersSkipped, capped, mirror.MaxReferrerCopies, budget, overBudget)
		}
	}
	if signed != nil {
		fmt.Fprintf(w, "; signed: %d, already signed: %d", signed.Signed, signed.AlreadySigned)
	}
	fmt.Fprintln(w)
}

// MirrorSign says what pin --sign-key did with one copy: status is
// signed, already-signed or planned (a dry run).
func MirrorSign(w io.Writer, status, target, message string) {
	verb := map[string]string{"already-signed": "already signed", "planned": "would sign"}[status]
	if verb == "" {
		verb = status
	}
	fmt.Fprintf(w, "%s %s (%s)\n", verb, target, message)
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
