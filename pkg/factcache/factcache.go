// Package factcache keeps facts about digests between runs, on disk: typed
// values under a key, each kind with its own time to live. A digest's
// manifests, config and the provenance read from them never change; what is
// attached to it (signatures, attestations) can grow, so verdicts that
// depend on it live short.
//
// The caller builds each key from everything that can change the answer
// (digest, repository, credential identity, authorities); the cache adds the
// tool version and hashes it. Only complete answers may be put: a failed or
// capped lookup is the caller's to leave out. A nil *Cache is valid and
// caches nothing (--no-cache).
package factcache

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/imgtrust/kubectl-imgtrust/pkg/version"
)

// Kind is one type of fact and how long it holds.
type Kind struct {
	Name string
	TTL  time.Duration
}

// The kinds the audit keeps.
var (
	// Signature verdicts (and the attestations found with them): a new
	// signature or attestation may be attached at any time.
	Signature = Kind{Name: "signature", TTL: time.Hour}
	// Provenance read from a digest's manifests, config and the given
	// attestations (their digest is part of the key).
	Provenance = Kind{Name: "provenance", TTL: 7 * 24 * time.Hour}
	// IndexManifests are the platform manifests an index lists.
	IndexManifests = Kind{Name: "index", TTL: 7 * 24 * time.Hour}
)

// MaxEntries bounds the entries kept (about 2 KB each); pruning removes the
// oldest beyond it. A variable for tests.
var MaxEntries = 100000

var kinds = map[string]Kind{Signature.Name: Signature, Provenance.Name: Provenance, IndexManifests.Name: IndexManifests}

const (
	// format names the entry layout; a file without it is foreign.
	format = "kubectl-imgtrust/factcache/v1"
	// layout is the subdirectory of this format: another layout's
	// entries are never read as ours.
	layout = "v1"
	// MaxEntryBytes bounds one entry: a larger value is not kept, a
	// larger file is not read.
	MaxEntryBytes = 1 << 20
	// pruneEvery is how often a run looks for expired entries.
	pruneEvery = time.Hour
	secretFile = "identity-key"
	pruneStamp = "pruned"
)

// Options configure Open.
type Options struct {
	// Warn is told, once per problem, what the cache could not do (a
	// corrupt entry, a directory that cannot be written).
	Warn func(string)
	// Now is the clock (tests); default time.Now.
	Now func() time.Time
	// Version is mixed into every key (default: the build's version and
	// commit), so another build never reads this one's verdicts.
	Version string
}

// Cache is one directory of facts. Its methods are safe for concurrent use,
// and several processes may share the directory.
type Cache struct {
	dir     string
	secret  []byte
	version string
	now     func() time.Time
	warn    func(string)

	corruptOnce, writeOnce sync.Once
	readOnly               atomic.Bool
	hits, misses, puts     atomic.Int64
}

// DefaultDir is the user's cache directory for the plugin:
// $XDG_CACHE_HOME/kubectl-imgtrust, else ~/.cache/kubectl-imgtrust (on
// macOS ~/Library/Caches, on Windows %LocalAppData%).
func DefaultDir() (string, error) {
	d, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(d, "kubectl-imgtrust"), nil
}

// Open opens (creating it) the cache in dir. When it cannot, it warns once
// and returns nil: the run goes on without a cache rather than fail.
func Open(dir string, o Options) *Cache {
	warn := o.Warn
	if warn == nil {
		warn = func(string) {}
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Version == "" {
		info := version.Get()
		o.Version = info.Version + "+" + info.Commit
	}
	root := filepath.Join(dir, layout)
	if err := os.MkdirAll(root, 0o700); err != nil {
		warn(fmt.Sprintf("no cache this run: cannot create %s (%s); pass --cache-dir DIR or --no-cache", dir, pathReason(err)))
		return nil
	}
	secret, err := loadSecret(root)
	if err != nil {
		warn(fmt.Sprintf("no cache this run: %s is not usable (%s); pass --cache-dir DIR or --no-cache", dir, pathReason(err)))
		return nil
	}
	c := &Cache{dir: root, secret: secret, version: o.Version, now: o.Now, warn: warn}
	c.maybePrune()
	return c
}

// Dir is the directory the cache keeps its entries in.
func (c *Cache) Dir() string {
	if c == nil {
		return ""
	}
	return filepath.Dir(c.dir)
}

// Stats are what the cache did this run.
type Stats struct{ Hits, Misses, Puts int64 }

// Stats says how many lookups hit, missed, and how many entries were
// written.
func (c *Cache) Stats() Stats {
	if c == nil {
		return Stats{}
	}
	return Stats{Hits: c.hits.Load(), Misses: c.misses.Load(), Puts: c.puts.Load()}
}

// Identity identifies a credential's content for keys without revealing
// it: an HMAC of the fields with this cache's own random key, so equal
// credentials give equal identities across runs, and nothing stored can be
// read back as the secret. Never store the fields themselves.
func (c *Cache) Identity(fields ...string) string {
	if c == nil {
		return ""
	}
	mac := hmac.New(sha256.New, c.secret)
	for _, f := range fields {
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(len(f)))
		mac.Write(n[:])
		mac.Write([]byte(f))
	}
	return hex.EncodeToString(mac.Sum(nil))[:32]
}

// entry is the file format of one fact.
type entry struct {
	Format  string          `json:"format"`
	Kind    string          `json:"kind"`
	Key     string          `json:"key"`
	Expires time.Time       `json:"expires"`
	Value   json.RawMessage `json:"value"`
}

// hash is the file name of a key: the kind, the tool version and the
// caller's parts, each length-prefixed so no two keys collide by joining.
func (c *Cache) hash(kind Kind, key []string) string {
	h := sha256.New()
	for _, part := range append([]string{kind.Name, c.version}, key...) {
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(len(part)))
		h.Write(n[:])
		h.Write([]byte(part))
	}
	return hex.EncodeToString(h.Sum(nil))
}

func (c *Cache) path(kind Kind, sum string) string {
	return filepath.Join(c.dir, kind.Name, sum[:2], sum+".json")
}

// Get fills v with the fact kept under key and reports whether there was a
// live one. A missing, expired, corrupt or foreign entry is a miss; a
// corrupt or foreign one is warned about (once) and rewritten by the next
// Put of the key.
func (c *Cache) Get(kind Kind, key []string, v any) bool {
	if c == nil {
		return false
	}
	sum := c.hash(kind, key)
	ok, why := c.read(c.path(kind, sum), kind, sum, v)
	if why != "" {
		_ = os.Remove(c.path(kind, sum)) // rewritten by the next Put
		c.corruptOnce.Do(func() {
			c.warn(fmt.Sprintf("cache: ignoring %s (%s); it is read again from the registry and rewritten", c.path(kind, sum), why))
		})
	}
	if ok {
		c.hits.Add(1)
	} else {
		c.misses.Add(1)
	}
	return ok
}

// read returns whether p held a live entry of kind and sum, decoded into
// v; why says what was wrong with a file that is not one of ours.
func (c *Cache) read(p string, kind Kind, sum string, v any) (ok bool, why string) {
	f, err := os.Open(p)
	if err != nil {
		return false, ""
	}
	defer f.Close()
	raw, err := io.ReadAll(io.LimitReader(f, MaxEntryBytes+1))
	if err != nil {
		return false, "unreadable: " + pathReason(err)
	}
	if len(raw) > MaxEntryBytes {
		return false, fmt.Sprintf("larger than %d bytes", MaxEntryBytes)
	}
	var e entry
	dec := json.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(&e); err != nil {
		return false, "not an entry: truncated or corrupt"
	}
	if e.Format != format || e.Kind != kind.Name || e.Key != sum {
		return false, "not an entry of this key"
	}
	if !c.now().Before(e.Expires) {
		_ = os.Remove(p)
		return false, ""
	}
	if err := json.Unmarshal(e.Value, v); err != nil {
		return false, "its value does not decode"
	}
	return true, ""
}

// Put keeps v under key for the kind's TTL. The entry is written to a
// temporary file in the same directory and renamed over the old one, so a
// concurrent reader sees the old entry or the new one, never half of one.
// A value that cannot be encoded or is too large is not kept; a directory
// that cannot be written is warned about once and not written again.
func (c *Cache) Put(kind Kind, key []string, v any) {
	if c == nil || c.readOnly.Load() {
		return
	}
	value, err := json.Marshal(v)
	if err != nil {
		return
	}
	sum := c.hash(kind, key)
	raw, err := json.Marshal(entry{Format: format, Kind: kind.Name, Key: sum, Expires: c.now().Add(kind.TTL).UTC(), Value: value})
	if err != nil || len(raw) > MaxEntryBytes {
		return
	}
	p := c.path(kind, sum)
	if err := writeAtomic(p, raw); err != nil {
		c.writeOnce.Do(func() {
			c.readOnly.Store(true)
			c.warn(fmt.Sprintf("cache: cannot write to %s (%s): nothing more is cached this run", c.Dir(), pathReason(err)))
		})
		return
	}
	c.puts.Add(1)
}

// writeAtomic writes raw to p through a temporary file in p's directory.
func writeAtomic(p string, raw []byte) error {
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(p), ".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(raw)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, p)
	}
	if err != nil {
		_ = os.Remove(tmp)
	}
	return err
}

// loadSecret reads the key identities are made with, creating it the first
// time; two processes creating it at once agree on the one linked first.
func loadSecret(root string) ([]byte, error) {
	p := filepath.Join(root, secretFile)
	if b, err := os.ReadFile(p); err == nil && len(b) == 32 {
		return b, nil
	}
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	f, err := os.CreateTemp(root, ".tmp-*")
	if err != nil {
		return nil, err
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	_, err = f.Write(b)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	if err := os.Link(tmp, p); err != nil {
		if !errors.Is(err, fs.ErrExist) {
			return nil, err
		}
		// Another process won, or the file there is not a key: a foreign
		// one is replaced (entries keyed with it only miss).
		if got, rerr := os.ReadFile(p); rerr == nil && len(got) == 32 {
			return got, nil
		}
		if err := os.Rename(tmp, p); err != nil {
			return nil, err
		}
	}
	return b, nil
}

// pathReason is an fs error without the path it repeats.
func pathReason(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	var le *os.LinkError
	if errors.As(err, &le) {
		return le.Err.Error()
	}
	return err.Error()
}
