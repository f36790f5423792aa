package main

import "testing"

func TestShortenToolError(t *testing.T) {
	for in, want := range map[string]string{
		// The go command's shape of a failed proxy read, with a placeholder
		// address: no package server's address is written here.
		"go: example.com/x@latest: module example.com/x: reading https://placeholder.invalid/list: 403 Forbidden": "go: example.com/x@latest: the Go module proxy answered 403 Forbidden",
		"fetch https://example.com/a failed": "fetch (an address) failed",
		"build failed: exit status 1":        "build failed: exit status 1",
	} {
		if got := shortenToolError(in); got != want {
			t.Errorf("shortenToolError(%q) = %q, want %q", in, got, want)
		}
	}
}
