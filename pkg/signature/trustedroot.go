package signature

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/tuf"
)

// DefaultTrustedRoot is the Sigstore public-good trusted root, as
// sigstore-go's TUF client keeps it in the cache cosign fills ($TUF_ROOT,
// else ~/.sigstore/root; `cosign initialize`, or any cosign verify with
// network access): the TUF metadata is verified from the root embedded in
// sigstore-go, and nothing is fetched. It works offline while the cached
// metadata is valid (the public-good timestamp lasts days); an absent,
// incomplete or expired cache is one line saying what to run, never a
// network request.
func DefaultTrustedRoot() (root.TrustedMaterial, error) {
	opts := tuf.DefaultOptions()
	if dir := os.Getenv("TUF_ROOT"); dir != "" {
		opts.CachePath = dir // cosign's override of the cache directory
	}
	return cachedTrustedRoot(opts)
}

// cachedTrustedRoot is DefaultTrustedRoot over opts (tests give their own
// cache, repository and TUF root). It reads the cache only: ForceCache
// keeps valid metadata without refreshing it, and every fetch the client
// would make (an absent or expired cache, a missing target) is refused by
// the fetcher. An absent cache is reported before the client runs, which
// would create its directories. Like every run of cosign, the client
// writes its initial TUF root (opts.Root) to the cache's root.json.
func cachedTrustedRoot(opts *tuf.Options) (root.TrustedMaterial, error) {
	dir := filepath.Join(opts.CachePath, tuf.URLToPath(opts.RepositoryBaseURL))
	const todo = "run `cosign initialize` once with network access, or pass --trusted-root FILE"
	for _, f := range []string{"timestamp.json", "snapshot.json", "targets.json"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			return nil, fmt.Errorf("no cached Sigstore public-good trusted root in %s: %s", dir, todo)
		}
	}
	o := *opts
	o.ForceCache, o.DisableLocalCache = true, false
	o.Fetcher = offline{}
	c, err := tuf.New(&o)
	if err == nil {
		var tr *root.TrustedRoot
		if tr, err = root.GetTrustedRoot(c); err == nil {
			return tr, nil
		}
	}
	if errors.Is(err, errOffline) {
		// The client wanted to fetch: metadata expired or not verified
		// by the cached files, or the target not cached.
		return nil, fmt.Errorf("the cached Sigstore public-good trusted root in %s is expired or incomplete (refreshing it needs the network): %s", dir, todo)
	}
	return nil, fmt.Errorf("the cached Sigstore public-good trusted root in %s cannot be read: %s: %s", dir, oneLine(err.Error()), todo)
}

var errOffline = errors.New("offline: the Sigstore TUF cache is read, never refreshed")

// offline is a TUF fetcher that fetches nothing.
type offline struct{}

func (offline) DownloadFile(string, int64, time.Duration) ([]byte, error) {
	return nil, errOffline
}
