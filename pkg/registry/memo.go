package registry

// The reads of one image's handle (Artifacts.ForImage, ForDigest) are
// remembered for the handle's lifetime, so that the authorities of a trust
// policy that check the same digest one after another (each
// ClusterImagePolicy authority runs its own check) send each read once and
// draw it from the image's budget once: eight authorities must not spend
// the reads one would need and turn a verifiable image into
// signature-lookup-failed.
//
// What is remembered: manifests and blobs by digest (immutable), and the
// answers of one check that are stable while it runs: a .sig/.att tag's
// manifest, a referrers listing, a 404. A read that failed otherwise (5xx,
// 429, 401/403, timeouts) is not remembered: a later reader asks again,
// which draws from the image's reads and time like any read, so it is
// retried only while the budget lasts. A read the budget refused is
// remembered as refused only for counting: asking again is refused again
// (the budget never grows back) and is not counted twice in Skipped.
//
// The memo is per handle, never global: it goes when the handle does
// (one check, one provenance read), and holds at most maxMemoBytes.

import (
	"sync"

	"github.com/google/go-containerregistry/pkg/name"
)

// maxMemoBytes bounds what one handle remembers (one artifact blob's cap):
// reads past it are sent again when asked again.
const maxMemoBytes = maxArtifactBlob

// memo is what one image's handle has read.
type memo struct {
	mu      sync.Mutex
	answers map[string]answer
	refused map[string]bool
	size    int
}

// answer is a read's result: a value, or a not-found error.
type answer struct {
	v any
	e *Error
}

func newMemo() *memo { return &memo{answers: map[string]answer{}, refused: map[string]bool{}} }

// recall returns the remembered answer to key.
func (m *memo) recall(key string) (answer, bool) {
	if m == nil {
		return answer{}, false
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	a, ok := m.answers[key]
	return a, ok
}

// remember keeps the answer to key when it is one (a value, or not
// found) and fits; size is roughly what it holds.
func (m *memo) remember(key string, v any, e *Error, size int) {
	if m == nil || e != nil && e.Reason != ReasonNotFound {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.answers[key]; ok || m.size+size > maxMemoBytes {
		return
	}
	m.size += size
	m.answers[key] = answer{v: v, e: e}
}

// refuse records that the budget refused key, and reports whether it is
// the first time (a key of "" is never remembered: always the first).
func (m *memo) refuse(key string) bool {
	if m == nil || key == "" {
		return true
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.refused[key] {
		return false
	}
	m.refused[key] = true
	return true
}

// Memo keys: one per kind of read and what it reads.
func headKey(ref name.Reference) string     { return "HEAD " + ref.Name() }
func manifestKey(ref name.Reference) string { return "GET " + ref.Name() }
func blobKey(ref name.Digest) string        { return "BLOB " + ref.Name() }
func referrersKey(d name.Digest) string     { return "REFERRERS " + d.Name() }

// Remembers reports whether Manifest(ref) is answered without a read, so
// that a caller that stops a listing once the reads are spent (Spent) can
// still go through what the image's handle has read already.
func (a *Artifacts) Remembers(ref name.Reference) bool {
	_, ok := a.memo.recall(manifestKey(ref))
	return ok
}

// SkipManifests counts the manifest reads of refs a caller did not try
// because Spent said the reads were spent, each once however often it is
// skipped (by several authorities), so that Skipped says what was left
// unread.
func (a *Artifacts) SkipManifests(refs []name.Reference) {
	n := 0
	for _, ref := range refs {
		if _, ok := a.memo.recall(manifestKey(ref)); !ok && a.memo.refuse(manifestKey(ref)) {
			n++
		}
	}
	a.Skip(n)
}
