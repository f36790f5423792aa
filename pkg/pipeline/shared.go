package pipeline

import "sync"

// Shared lets the registry stages of several clusters (audit --contexts)
// make each signature check, provenance read and tag listing once: the
// resolver already shares resolutions, these are read per stage.
type Shared struct {
	mu    sync.Mutex
	calls map[string]*sharedCall
}

type sharedCall struct {
	done chan struct{}
	val  any
}

// once runs fn the first time key is asked for and hands every later
// caller that result; reused says it came from another caller, whose cost
// it already counted. A nil Shared just runs fn.
func once[T any](s *Shared, key string, fn func() T) (val T, reused bool) {
	if s == nil {
		return fn(), false
	}
	s.mu.Lock()
	if s.calls == nil {
		s.calls = map[string]*sharedCall{}
	}
	if c, ok := s.calls[key]; ok {
		s.mu.Unlock()
		<-c.done
		return c.val.(T), true
	}
	c := &sharedCall{done: make(chan struct{})}
	s.calls[key] = c
	s.mu.Unlock()
	defer close(c.done)
	c.val = fn()
	return c.val.(T), false
}
