package factcache

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

type fact struct {
	Status string   `json:"status"`
	Names  []string `json:"names"`
}

// warnings collects what a cache warns, safe for concurrent use.
type warnings struct {
	mu    sync.Mutex
	lines []string
}

func (w *warnings) add(s string) { w.mu.Lock(); w.lines = append(w.lines, s); w.mu.Unlock() }
func (w *warnings) all() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.lines...)
}

func open(t *testing.T, dir string, now func() time.Time) (*Cache, *warnings) {
	t.Helper()
	w := &warnings{}
	c := Open(dir, Options{Warn: w.add, Now: now, Version: "test"})
	if c == nil {
		t.Fatalf("Open(%s) = nil: %v", dir, w.all())
	}
	return c, w
}

func TestPutGet(t *testing.T) {
	c, w := open(t, t.TempDir(), nil)
	key := []string{"registry.example/app", "sha256:aa", "cred-1", "keys-1"}
	var got fact
	if c.Get(Signature, key, &got) {
		t.Fatalf("empty cache hit: %+v", got)
	}
	want := fact{Status: "verified", Names: []string{"a", "b"}}
	c.Put(Signature, key, want)
	if !c.Get(Signature, key, &got) || got.Status != want.Status || strings.Join(got.Names, ",") != "a,b" {
		t.Fatalf("Get after Put = %+v, want %+v", got, want)
	}
	// Every part of the key tells answers apart, and so does the kind.
	for i := range key {
		other := append([]string(nil), key...)
		other[i] += "x"
		if c.Get(Signature, other, &fact{}) {
			t.Errorf("key part %d changed (%q): still a hit", i, other[i])
		}
	}
	if c.Get(Provenance, key, &fact{}) {
		t.Error("another kind with the same key: a hit")
	}
	// Parts are length-prefixed: joining differently is another key.
	if c.Get(Signature, []string{"registry.example/appsha256:aa", "", "cred-1", "keys-1"}, &fact{}) {
		t.Error("re-split key parts: a hit")
	}
	if s := c.Stats(); s.Hits != 1 || s.Puts != 1 {
		t.Errorf("stats %+v, want 1 hit and 1 put", s)
	}
	if len(w.all()) != 0 {
		t.Errorf("warnings: %v", w.all())
	}
}

func TestOtherVersionMisses(t *testing.T) {
	dir := t.TempDir()
	c, _ := open(t, dir, nil)
	c.Put(IndexManifests, []string{"k"}, []string{"sha256:1"})
	other := Open(dir, Options{Version: "other"})
	if other.Get(IndexManifests, []string{"k"}, &[]string{}) {
		t.Fatal("another build's entry was read")
	}
}

func TestTTL(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	c, _ := open(t, t.TempDir(), clock)
	c.Put(Signature, []string{"sig"}, fact{Status: "unsigned"})
	c.Put(Provenance, []string{"prov"}, fact{Status: "known"})
	now = now.Add(Signature.TTL - time.Second)
	if !c.Get(Signature, []string{"sig"}, &fact{}) {
		t.Fatal("signature verdict gone before its TTL")
	}
	now = now.Add(2 * time.Second)
	if c.Get(Signature, []string{"sig"}, &fact{}) {
		t.Fatal("signature verdict read after its TTL")
	}
	if !c.Get(Provenance, []string{"prov"}, &fact{}) {
		t.Fatal("provenance gone after an hour: it lives a week")
	}
	now = now.Add(Provenance.TTL)
	if c.Get(Provenance, []string{"prov"}, &fact{}) {
		t.Fatal("provenance read after its TTL")
	}
}

func TestNilCacheCachesNothing(t *testing.T) {
	var c *Cache
	c.Put(Signature, []string{"k"}, fact{Status: "verified"})
	if c.Get(Signature, []string{"k"}, &fact{}) || c.Dir() != "" || c.Identity("a") != "" {
		t.Fatal("a nil cache answered")
	}
}

// TestBadEntriesIgnoredAndRewritten: a corrupt, truncated or foreign file
// is a miss with one warning, and the next Put rewrites it.
func TestBadEntriesIgnoredAndRewritten(t *testing.T) {
	dir := t.TempDir()
	c, w := open(t, dir, nil)
	good := fact{Status: "verified", Names: []string{"k1"}}
	c.Put(Signature, []string{"valid"}, good)
	validRaw, err := os.ReadFile(c.path(Signature, c.hash(Signature, []string{"valid"})))
	if err != nil {
		t.Fatal(err)
	}
	for name, content := range map[string][]byte{
		"corrupt":   []byte("\x00\x01 not json at all"),
		"truncated": validRaw[:len(validRaw)/2],
		"foreign":   validRaw, // another key's entry, copied here
		"wrongtype": []byte(`{"format":"kubectl-imgtrust/factcache/v1","kind":"signature","key":"KEY","expires":"2999-01-01T00:00:00Z","value":"a string"}`),
		"empty":     nil,
		"huge":      []byte(strings.Repeat(" ", MaxEntryBytes+10)),
	} {
		t.Run(name, func(t *testing.T) {
			key := []string{name}
			p := c.path(Signature, c.hash(Signature, key))
			content = []byte(strings.ReplaceAll(string(content), "KEY", c.hash(Signature, key)))
			if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, content, 0o600); err != nil {
				t.Fatal(err)
			}
			var got fact
			if c.Get(Signature, key, &got) {
				t.Fatalf("a %s file was read as %+v", name, got)
			}
			c.Put(Signature, key, good)
			if !c.Get(Signature, key, &got) || got.Status != "verified" {
				t.Fatalf("after Put over a %s file: %+v", name, got)
			}
		})
	}
	if n := len(w.all()); n != 1 {
		t.Errorf("%d warnings for 6 bad files, want one: %v", n, w.all())
	} else if !strings.Contains(w.all()[0], "rewritten") {
		t.Errorf("warning %q does not say the entry is rewritten", w.all()[0])
	}
	if !c.Get(Signature, []string{"valid"}, &fact{}) {
		t.Error("the valid entry was lost")
	}
}

// TestConcurrentWritersNeverTear: writers of one key (two caches on one
// directory, as two processes) and readers at once; every read is a miss
// or one whole value written.
func TestConcurrentWritersNeverTear(t *testing.T) {
	dir := t.TempDir()
	a, wa := open(t, dir, nil)
	b, wb := open(t, dir, nil)
	key := []string{"same"}
	value := func(writer, i int) fact {
		// Large enough that a torn write would show.
		return fact{Status: fmt.Sprintf("w%d-%d", writer, i), Names: []string{strings.Repeat(fmt.Sprint(writer), 64<<10)}}
	}
	var wg sync.WaitGroup
	for w, c := range []*Cache{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 50 {
				c.Put(Signature, key, value(w, i))
			}
		}()
	}
	bad := make(chan string, 100)
	for _, c := range []*Cache{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 200 {
				var got fact
				if !c.Get(Signature, key, &got) {
					continue
				}
				var w, i int
				if _, err := fmt.Sscanf(got.Status, "w%d-%d", &w, &i); err != nil || len(got.Names) != 1 || got.Names[0] != value(w, i).Names[0] {
					bad <- got.Status
				}
			}
		}()
	}
	wg.Wait()
	close(bad)
	for s := range bad {
		t.Errorf("a torn or mixed read: %.40q", s)
	}
	if ws := append(wa.all(), wb.all()...); len(ws) != 0 {
		t.Errorf("warnings while writing at once: %v", ws)
	}
	assertNoTempFiles(t, dir)
}

// TestProcessesShareTheCache runs two processes writing one key while
// this one reads it.
func TestProcessesShareTheCache(t *testing.T) {
	if dir := os.Getenv("FACTCACHE_WRITER_DIR"); dir != "" {
		c := Open(dir, Options{Version: "test"})
		for i := range 100 {
			c.Put(Signature, []string{"shared"}, fact{Status: os.Getenv("FACTCACHE_WRITER"), Names: []string{strings.Repeat("x", i*1000)}})
		}
		return
	}
	dir := t.TempDir()
	c, w := open(t, dir, nil)
	var procs []*exec.Cmd
	for _, name := range []string{"p1", "p2"} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestProcessesShareTheCache$")
		cmd.Env = append(os.Environ(), "FACTCACHE_WRITER_DIR="+dir, "FACTCACHE_WRITER="+name)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		procs = append(procs, cmd)
	}
	done := make(chan error, 1)
	go func() {
		var err error
		for _, p := range procs {
			if e := p.Wait(); e != nil {
				err = e
			}
		}
		done <- err
	}()
	hits, reads := 0, 0
	for finished := false; !finished; {
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("writer: %v", err)
			}
			finished = true
		default:
		}
		var got fact
		reads++
		if c.Get(Signature, []string{"shared"}, &got) {
			hits++
			if got.Status != "p1" && got.Status != "p2" || len(got.Names) != 1 || strings.Trim(got.Names[0], "x") != "" {
				t.Fatalf("read a value no process wrote: %.60q", got.Status)
			}
		}
	}
	if hits == 0 {
		t.Fatalf("none of %d reads while the processes wrote found an entry", reads)
	}
	if !c.Get(Signature, []string{"shared"}, &fact{}) {
		t.Fatal("nothing kept after both writers finished")
	}
	if len(w.all()) != 0 {
		t.Errorf("warnings: %v", w.all())
	}
	t.Logf("%d of %d reads hit while two processes wrote", hits, reads)
	assertNoTempFiles(t, dir)
}

func assertNoTempFiles(t *testing.T, dir string) {
	t.Helper()
	_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && strings.HasPrefix(d.Name(), ".tmp-") {
			t.Errorf("temporary file left: %s", p)
		}
		return nil
	})
}

func TestUnusableDirectoryMeansNoCache(t *testing.T) {
	blocker := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(blocker, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	w := &warnings{}
	if c := Open(filepath.Join(blocker, "cache"), Options{Warn: w.add}); c != nil {
		t.Fatal("Open under a regular file returned a cache")
	}
	if len(w.all()) != 1 || !strings.Contains(w.all()[0], "--no-cache") {
		t.Fatalf("warnings %v, want one that says what to do", w.all())
	}
}

// TestUnwritableKindWarnsOnce: when entries cannot be written the run goes
// on, warned once.
func TestUnwritableKindWarnsOnce(t *testing.T) {
	dir := t.TempDir()
	c, w := open(t, dir, nil)
	// A file where the kind's directory should be: every write fails
	// (permissions do not stop root).
	if err := os.WriteFile(filepath.Join(dir, layout, Signature.Name), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		c.Put(Signature, []string{fmt.Sprint(i)}, fact{Status: "x"})
	}
	if n := len(w.all()); n != 1 || !strings.Contains(w.all()[0], "cannot write") {
		t.Fatalf("warnings %v, want one", w.all())
	}
	if c.Stats().Puts != 0 {
		t.Fatalf("puts counted: %+v", c.Stats())
	}
}

func TestIdentity(t *testing.T) {
	dir := t.TempDir()
	a, _ := open(t, dir, nil)
	again, _ := open(t, dir, nil)
	other, _ := open(t, t.TempDir(), nil)
	id := a.Identity("user", "s3cret-password")
	if id != again.Identity("user", "s3cret-password") {
		t.Error("the same credential has another identity in the next run")
	}
	if id == a.Identity("user", "other-password") || id == a.Identity("users3cret-password", "") {
		t.Error("different credentials share an identity")
	}
	if id == other.Identity("user", "s3cret-password") {
		t.Error("two cache directories give the same identity: it is not keyed")
	}
	if strings.Contains(id, "s3cret") {
		t.Errorf("identity %q holds the secret", id)
	}
	// Nothing on disk holds the secret either.
	a.Put(Signature, []string{id}, fact{Status: "verified"})
	_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		b, _ := os.ReadFile(p)
		if strings.Contains(string(b), "s3cret") {
			t.Errorf("%s holds the secret", p)
		}
		return nil
	})
}

func TestTooLargeIsNotKept(t *testing.T) {
	c, _ := open(t, t.TempDir(), nil)
	c.Put(Provenance, []string{"big"}, fact{Names: []string{strings.Repeat("x", MaxEntryBytes)}})
	if c.Get(Provenance, []string{"big"}, &fact{}) || c.Stats().Puts != 0 {
		t.Fatal("an entry over MaxEntryBytes was kept")
	}
}

func TestPrune(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	c, _ := open(t, dir, func() time.Time { return now })
	c.Put(Signature, []string{"old"}, fact{})
	c.Put(Provenance, []string{"kept"}, fact{})
	stale := filepath.Join(dir, layout, Signature.Name, ".tmp-left")
	if err := os.WriteFile(stale, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	past := now.Add(-2 * time.Hour)
	_ = os.Chtimes(stale, past, past)
	_ = os.Chtimes(c.path(Signature, c.hash(Signature, []string{"old"})), past, past)
	c.Prune()
	if _, err := os.Stat(c.path(Signature, c.hash(Signature, []string{"old"}))); !os.IsNotExist(err) {
		t.Error("an expired signature entry survived the prune")
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Error("a temporary file of a killed run survived the prune")
	}
	if !c.Get(Provenance, []string{"kept"}, &fact{}) {
		t.Error("a live entry was pruned")
	}

	// Beyond MaxEntries the oldest go.
	defer func(n int) { MaxEntries = n }(MaxEntries)
	MaxEntries = 3
	for i := range 5 {
		c.Put(Provenance, []string{fmt.Sprint(i)}, fact{})
		at := now.Add(time.Duration(i-10) * time.Minute)
		_ = os.Chtimes(c.path(Provenance, c.hash(Provenance, []string{fmt.Sprint(i)})), at, at)
	}
	c.Prune()
	for i, want := range []bool{false, false, false, true, true} {
		if got := c.Get(Provenance, []string{fmt.Sprint(i)}, &fact{}); got != want {
			t.Errorf("entry %d kept = %t, want %t (the oldest go first)", i, got, want)
		}
	}
}

// TestOpenPrunesAtMostHourly: the prune runs when the stamp is old.
func TestOpenPrunesAtMostHourly(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	c, _ := open(t, dir, func() time.Time { return now })
	c.Put(Signature, []string{"k"}, fact{})
	p := c.path(Signature, c.hash(Signature, []string{"k"}))
	past := now.Add(-2 * Signature.TTL)
	_ = os.Chtimes(p, past, past)
	open(t, dir, func() time.Time { return now.Add(time.Minute) })
	if _, err := os.Stat(p); err != nil {
		t.Fatal("pruned again within the hour")
	}
	open(t, dir, func() time.Time { return now.Add(pruneEvery + time.Minute) })
	if _, err := os.Stat(p); !os.IsNotExist(err) {
		t.Fatal("not pruned after an hour")
	}
}
