package signature

import (
	"crypto"
	"crypto/ed25519"
	"crypto/sha256"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/tuf"
	sigsig "github.com/sigstore/sigstore/pkg/signature"
	"github.com/theupdateframework/go-tuf/v2/metadata"
)

// tufRepo is a TUF repository made at test time (one ed25519 key per
// top-level role, consistent snapshots) serving one target,
// trusted_root.json, over a local httptest server. Once offline is set,
// any request to it fails the test: cachedTrustedRoot must read the cache
// only.
type tufRepo struct {
	dir       string
	keys      map[string]ed25519.PrivateKey
	root      *metadata.Metadata[metadata.RootType]
	targets   *metadata.Metadata[metadata.TargetsType]
	snapshot  *metadata.Metadata[metadata.SnapshotType]
	timestamp *metadata.Metadata[metadata.TimestampType]
	srv       *httptest.Server
	offline   atomic.Bool
}

func newTUFRepo(t *testing.T, trustedRoot []byte) *tufRepo {
	t.Helper()
	week := time.Now().AddDate(0, 0, 7).UTC()
	r := &tufRepo{
		dir:       t.TempDir(),
		keys:      map[string]ed25519.PrivateKey{},
		root:      metadata.Root(week),
		targets:   metadata.Targets(week),
		snapshot:  metadata.Snapshot(week),
		timestamp: metadata.Timestamp(week),
	}
	for _, role := range metadata.TOP_LEVEL_ROLE_NAMES {
		_, priv, err := ed25519.GenerateKey(nil)
		if err != nil {
			t.Fatal(err)
		}
		key, err := metadata.KeyFromPublicKey(priv.Public())
		if err != nil {
			t.Fatal(err)
		}
		if err := r.root.Signed.AddKey(key, role); err != nil {
			t.Fatal(err)
		}
		r.keys[role] = priv
	}
	tf, err := metadata.TargetFile().FromBytes("trusted_root.json", trustedRoot, "sha256")
	if err != nil {
		t.Fatal(err)
	}
	r.targets.Signed.Targets["trusted_root.json"] = tf
	if err := os.MkdirAll(filepath.Join(r.dir, "targets"), 0o700); err != nil {
		t.Fatal(err)
	}
	r.write(t, fmt.Sprintf("targets/%x.trusted_root.json", sha256.Sum256(trustedRoot)), trustedRoot)
	r.sign(t, metadata.ROOT, r.root)
	r.sign(t, metadata.TARGETS, r.targets)
	r.sign(t, metadata.SNAPSHOT, r.snapshot)
	r.sign(t, metadata.TIMESTAMP, r.timestamp)
	r.write(t, "1.root.json", r.bytes(t, r.root))
	r.write(t, "1.targets.json", r.bytes(t, r.targets))
	r.write(t, "1.snapshot.json", r.bytes(t, r.snapshot))
	r.write(t, "timestamp.json", r.bytes(t, r.timestamp))

	files := http.FileServer(http.Dir(r.dir))
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if r.offline.Load() {
			t.Errorf("the TUF repository was contacted offline: %s %s", req.Method, req.URL)
			http.Error(w, "offline", http.StatusForbidden)
			return
		}
		files.ServeHTTP(w, req)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

type signable interface {
	Sign(sigsig.Signer) (*metadata.Signature, error)
	ClearSignatures()
	ToBytes(bool) ([]byte, error)
}

func (r *tufRepo) sign(t *testing.T, role string, m signable) {
	t.Helper()
	s, err := sigsig.LoadSigner(r.keys[role], crypto.Hash(0))
	if err != nil {
		t.Fatal(err)
	}
	m.ClearSignatures()
	if _, err := m.Sign(s); err != nil {
		t.Fatal(err)
	}
}

func (r *tufRepo) bytes(t *testing.T, m signable) []byte {
	t.Helper()
	b, err := m.ToBytes(false)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (r *tufRepo) write(t *testing.T, name string, b []byte) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(r.dir, filepath.FromSlash(name)), b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// options are DefaultTrustedRoot's, for this repository and its root, with
// the cache in cache.
func (r *tufRepo) options(t *testing.T, cache string) *tuf.Options {
	o := tuf.DefaultOptions()
	o.Root = r.bytes(t, r.root)
	o.RepositoryBaseURL = r.srv.URL
	o.CachePath = cache
	return o
}

// wantTUFError: one line naming the cache directory and both remedies.
func wantTUFError(t *testing.T, what string, err error, dir, start string) {
	t.Helper()
	if err == nil || !strings.HasPrefix(err.Error(), start) || !strings.Contains(err.Error(), dir) ||
		!strings.Contains(err.Error(), "cosign initialize") || !strings.Contains(err.Error(), "--trusted-root FILE") || strings.ContainsAny(err.Error(), "\n\r") {
		t.Errorf("%s: %v; want one line %q… naming %s, cosign initialize and --trusted-root FILE", what, err, start, dir)
	}
}

// TestCachedTrustedRoot: the public-good trusted root comes from a TUF
// cache sigstore-go's client filled (from a local TUF repository serving
// sigstore-go's examples/trusted-root-public-good.json), then offline:
// the repository fails the test if contacted. The root read from the cache
// verifies the real public-good signature. An absent, incomplete or
// expired cache is one line and no request.
func TestCachedTrustedRoot(t *testing.T) {
	pgRoot := sigstoreGoFile(t, pgTrustedRoot)
	r := newTUFRepo(t, pgRoot)
	cache := t.TempDir()
	dir := filepath.Join(cache, tuf.URLToPath(r.srv.URL))

	// No cache: nothing fetched, nothing created.
	r.offline.Store(true)
	_, err := cachedTrustedRoot(r.options(t, cache))
	wantTUFError(t, "no cache", err, dir, "no cached Sigstore public-good trusted root in ")
	if ents, _ := os.ReadDir(cache); len(ents) != 0 {
		t.Errorf("the cache directory was written to: %v", ents)
	}

	// Fill the cache as cosign initialize does: sigstore-go's client,
	// online.
	r.offline.Store(false)
	c, err := tuf.New(r.options(t, cache))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := root.GetTrustedRoot(c); err != nil {
		t.Fatal(err)
	}

	r.offline.Store(true)
	material, err := cachedTrustedRoot(r.options(t, cache))
	if err != nil {
		t.Fatal(err)
	}
	verifyPublicGood(t, sigstoreGoFile(t, pgBundle), material)

	// The target missing from the cache: not downloaded.
	targets, _ := filepath.Glob(filepath.Join(dir, "targets", "*"))
	if len(targets) != 1 {
		t.Fatalf("cached targets %v, want trusted_root.json", targets)
	}
	saved, _ := os.ReadFile(targets[0])
	_ = os.Remove(targets[0])
	_, err = cachedTrustedRoot(r.options(t, cache))
	wantTUFError(t, "no cached target", err, dir, "the cached Sigstore public-good trusted root in ")
	_ = os.WriteFile(targets[0], saved, 0o600)

	// An expired timestamp in the cache: stale, not refreshed.
	r.timestamp.Signed.Version++
	r.timestamp.Signed.Expires = time.Now().Add(-time.Minute).UTC()
	r.sign(t, metadata.TIMESTAMP, r.timestamp)
	if err := os.WriteFile(filepath.Join(dir, "timestamp.json"), r.bytes(t, r.timestamp), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = cachedTrustedRoot(r.options(t, cache))
	wantTUFError(t, "expired timestamp", err, dir, "the cached Sigstore public-good trusted root in ")

	// Cached files that do not verify (another repository's, corrupt).
	for _, f := range []string{"timestamp.json", "snapshot.json", "targets.json"} {
		_ = os.WriteFile(filepath.Join(dir, f), []byte("{}"), 0o600)
	}
	_, err = cachedTrustedRoot(r.options(t, cache))
	wantTUFError(t, "corrupt cache", err, dir, "the cached Sigstore public-good trusted root in ")
}

// TestDefaultTrustedRootOffline: DefaultTrustedRoot reads $TUF_ROOT, as
// cosign does, and with an empty one fails on one line, with no request.
// The fetcher refuses every download whatever the repository address.
func TestDefaultTrustedRootOffline(t *testing.T) {
	cache := t.TempDir()
	t.Setenv("TUF_ROOT", cache)
	_, err := DefaultTrustedRoot()
	wantTUFError(t, "DefaultTrustedRoot", err, cache, "no cached Sigstore public-good trusted root in ")
	if ents, _ := os.ReadDir(cache); len(ents) != 0 {
		t.Errorf("the cache directory was written to: %v", ents)
	}
	if _, err := (offline{}).DownloadFile("timestamp.json", 1<<20, 0); err == nil {
		t.Error("the offline fetcher fetched")
	}
}
