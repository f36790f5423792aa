package pipeline

import (
	"sync"
	"sync/atomic"
	"testing"
)

func TestOnceSharesOneCallPerKey(t *testing.T) {
	var s Shared
	var calls atomic.Int32
	var reusedCount atomic.Int32
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			v, reused := once(&s, "a", func() int { calls.Add(1); return 42 })
			if v != 42 {
				t.Errorf("got %d", v)
			}
			if reused {
				reusedCount.Add(1)
			}
		})
	}
	wg.Wait()
	if calls.Load() != 1 || reusedCount.Load() != 19 {
		t.Errorf("fn ran %d times, %d callers reused it; want 1 and 19", calls.Load(), reusedCount.Load())
	}
	if _, reused := once(&s, "b", func() int { return 1 }); reused {
		t.Error("another key is its own call")
	}
	var none *Shared
	n := 0
	once(none, "a", func() int { n++; return 0 })
	once(none, "a", func() int { n++; return 0 })
	if n != 2 {
		t.Errorf("without Shared fn runs every time, ran %d", n)
	}
}
