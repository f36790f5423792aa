package report

import (
	"bytes"
	"testing"

	"github.com/imgtrust/kubectl-imgtrust/pkg/mirror"
)

func TestMirrorTotals(t *testing.T) {
	var buf bytes.Buffer
	MirrorTotals(&buf, &mirror.Totals{Copied: 1, Blobs: 2, Bytes: 2048, Signatures: 32}, &SignTotals{Signed: 1})
	if got, want := buf.String(), "mirror: images copied: 1, already present: 0; blobs transferred: 2, 2.0 KiB; signatures and attestations copied: 32; signed: 1, already signed: 0\n"; got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	buf.Reset()
	MirrorTotals(&buf, &mirror.Totals{Copied: 1, Signatures: 32, ReferrersSkipped: 5}, nil)
	if got, want := buf.String(), "mirror: images copied: 1, already present: 0; blobs transferred: 0, 0 B; signatures and attestations copied: 32 (5 more skipped: over 32 per image)\n"; got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}
