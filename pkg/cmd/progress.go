package cmd

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

// progressLine reports "resolved 120/500 images" on stderr while registry
// lookups run, only when stderr is a terminal (never in CI logs or pipes).
type progressLine struct {
	mu    sync.Mutex
	w     io.Writer
	last  time.Time
	shown bool
}

// newProgress returns a callback for registry.Options.Progress, or nil when
// stderr is not a terminal.
func newProgress(errOut io.Writer) *progressLine {
	f, ok := errOut.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return nil
	}
	return &progressLine{w: errOut}
}

// Func is the callback, nil-safe.
func (p *progressLine) Func() func(done, total int) {
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
func (p *progressLine) Done() {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.shown {
		fmt.Fprint(p.w, "\r\033[K")
	}
}
