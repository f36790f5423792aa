package cmd

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/imgtrust/kubectl-imgtrust/pkg/factcache"
)

// cacheFlags say where facts about digests are kept between runs.
type cacheFlags struct {
	CacheDir string
	NoCache  bool
}

func (f *cacheFlags) AddFlags(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.CacheDir, "cache-dir", "", "Directory that keeps what the registry said of each digest between runs (signature verdicts for an hour, provenance and index manifests for a week; tags are asked every run); default: kubectl-imgtrust in the user's cache directory ($XDG_CACHE_HOME or ~/.cache)")
	cmd.Flags().BoolVar(&f.NoCache, "no-cache", false, "Ask the registry everything again, and keep nothing")
}

// Validate refuses a --cache-dir that cannot be one.
func (f *cacheFlags) Validate() error {
	if f.NoCache && f.CacheDir != "" {
		return errors.New("--cache-dir and --no-cache contradict each other: give one")
	}
	if f.CacheDir == "" {
		return nil
	}
	if st, err := os.Stat(f.CacheDir); err == nil && !st.IsDir() {
		return fmt.Errorf("--cache-dir %s is a file, not a directory: name a directory (it is created if missing)", f.CacheDir)
	}
	return nil
}

// open is the cache to use, nil with --no-cache; a cache directory that
// cannot be used is a warning on errOut, and the run goes on without.
func (f *cacheFlags) open(errOut io.Writer) *factcache.Cache {
	if f.NoCache {
		return nil
	}
	warn := func(s string) { fmt.Fprintln(errOut, "warning: "+s) }
	dir := f.CacheDir
	if dir == "" {
		var err error
		if dir, err = factcache.DefaultDir(); err != nil {
			warn(fmt.Sprintf("no cache this run: %v; pass --cache-dir DIR or --no-cache", err))
			return nil
		}
	}
	return factcache.Open(dir, factcache.Options{Warn: warn})
}
