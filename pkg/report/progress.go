package report

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"golang.org/x/term"
)

// minProgressImages: shorter runs finish before a progress line helps.
const minProgressImages = 20

// Progress reports "resolved 120/500 images" on stderr while registry
// lookups run, only when stderr is a terminal (never in CI logs or pipes).
type Progress struct {
	mu    sync.Mutex
	w     io.Writer
	last  time.Time
	shown bool
}

// NewProgress returns the line for errOut, nil (which Func and Done take)
// when errOut is not a terminal.
func NewProgress(errOut io.Writer) *Progress {
	if !isTerminal(errOut) {
		return nil
	}
	return &Progress{w: errOut}
}

// Func is the callback for registry.Options.Progress, nil-safe.
func (p *Progress) Func() func(done, total int) {
	if p == nil {
		return nil
	}
	return func(done, total int) {
		if total < minProgressImages {
			return
		}
		p.mu.Lock()
		defer p.mu.Unlock()
		if done < total && time.Since(p.last) < 100*time.Millisecond {
			return
		}
		p.last = time.Now()
		p.shown = true
		fmt.Fprintf(p.w, "\rresolved %d/%d images", done, total)
	}
}

// Done clears the line so the report starts clean.
func (p *Progress) Done() {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.shown {
		fmt.Fprint(p.w, "\r\033[K")
	}
}

// CopyProgress shows bytes written per image on a terminal's stderr only.
func CopyProgress(w io.Writer) func(image string, written, total int64) {
	if !isTerminal(w) {
		return nil
	}
	return func(image string, written, total int64) {
		fmt.Fprintf(w, "\r\033[Kcopying %s: %s of %s", image, Bytes(written), Bytes(total))
		if written >= total {
			fmt.Fprint(w, "\r\033[K")
		}
	}
}

// isTerminal keeps progress lines out of CI logs and pipes.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
