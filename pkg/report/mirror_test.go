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
	// The request budget is named when it cut the copies, alone or with
	// the cap.
	for _, tt := range []struct {
		totals mirror.Totals
		want   string
	}{
		{mirror.Totals{ReferrersSkipped: 5, ReferrersOverBudget: 5}, " (5 more skipped: the image's --max-artifact-requests reads were spent)"},
		{mirror.Totals{ReferrersSkipped: 7, ReferrersOverBudget: 2}, " (7 more skipped: 5 over 32 per image, 2 as the image's --max-artifact-requests reads were spent)"},
	} {
		buf.Reset()
		tt.totals.Copied, tt.totals.Signatures = 1, 3
		MirrorTotals(&buf, &tt.totals, nil)
		if want := "mirror: images copied: 1, already present: 0; blobs transferred: 0, 0 B; signatures and attestations copied: 3" + tt.want + "\n"; buf.String() != want {
			t.Errorf("got  %q\nwant %q", buf.String(), want)
		}
	}
}
