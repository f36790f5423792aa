package cmd

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCacheFlags(t *testing.T) {
	t.Run("no HOME: no cache, one warning", func(t *testing.T) {
		t.Setenv("XDG_CACHE_HOME", "")
		t.Setenv("HOME", "")
		var errOut bytes.Buffer
		if c := (&cacheFlags{}).open(&errOut); c != nil {
			t.Fatalf("a cache at %s without HOME", c.Dir())
		}
		if got := errOut.String(); strings.Count(got, "\n") != 1 || !strings.HasPrefix(got, "warning: no cache this run") || !strings.Contains(got, "--cache-dir") {
			t.Errorf("stderr %q, want one warning saying what to do", got)
		}
	})
	t.Run("the user's cache directory", func(t *testing.T) {
		home := t.TempDir()
		t.Setenv("XDG_CACHE_HOME", home)
		var errOut bytes.Buffer
		c := (&cacheFlags{}).open(&errOut)
		if c == nil || c.Dir() != filepath.Join(home, "kubectl-imgtrust") || errOut.Len() != 0 {
			t.Fatalf("cache %v in %q, stderr %q", c, c.Dir(), errOut.String())
		}
	})
	t.Run("--no-cache", func(t *testing.T) {
		var errOut bytes.Buffer
		if c := (&cacheFlags{NoCache: true}).open(&errOut); c != nil || errOut.Len() != 0 {
			t.Fatalf("--no-cache opened %v (stderr %q)", c, errOut.String())
		}
	})
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		f    cacheFlags
		want string
	}{
		{cacheFlags{CacheDir: file}, "is a file, not a directory"},
		{cacheFlags{CacheDir: t.TempDir(), NoCache: true}, "contradict"},
		{cacheFlags{CacheDir: filepath.Join(t.TempDir(), "new")}, ""},
	} {
		err := tt.f.Validate()
		if (err == nil) != (tt.want == "") || err != nil && !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Validate(%+v) = %v, want %q", tt.f, err, tt.want)
		}
	}
}
