package factcache

import (
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// maybePrune prunes at most once per pruneEvery across processes: the
// stamp file's time says when the last prune started.
func (c *Cache) maybePrune() {
	stamp := filepath.Join(c.dir, pruneStamp)
	if st, err := os.Stat(stamp); err == nil && c.now().Sub(st.ModTime()) < pruneEvery {
		return
	}
	if err := writeAtomic(stamp, nil); err != nil {
		return // read-only: Put will say so if it matters
	}
	_ = os.Chtimes(stamp, c.now(), c.now())
	c.Prune()
}

// Prune removes expired entries (by their file's age and their kind's
// TTL), temporary files a killed run left, and, beyond MaxEntries, the
// oldest entries. It never fails a run: what it cannot remove stays.
func (c *Cache) Prune() {
	if c == nil {
		return
	}
	type file struct {
		path string
		mod  time.Time
	}
	var live []file
	now := c.now()
	for name, kind := range kinds {
		_ = filepath.WalkDir(filepath.Join(c.dir, name), func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return nil
			}
			info, err := d.Info()
			if err != nil {
				return nil
			}
			age := now.Sub(info.ModTime())
			switch {
			case strings.HasPrefix(d.Name(), ".tmp-"):
				if age > time.Hour {
					_ = os.Remove(p)
				}
			case age > kind.TTL || !strings.HasSuffix(d.Name(), ".json"):
				_ = os.Remove(p)
			default:
				live = append(live, file{p, info.ModTime()})
			}
			return nil
		})
	}
	if len(live) <= MaxEntries {
		return
	}
	sort.Slice(live, func(i, j int) bool { return live[i].mod.Before(live[j].mod) })
	for _, f := range live[:len(live)-MaxEntries] {
		_ = os.Remove(f.path)
	}
}
