package admission

import (
	"slices"
	"strings"
	"testing"
)

const hex64 = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func TestCheckDigest(t *testing.T) {
	r := Rules{RequireDigest: true}
	for _, tc := range []struct {
		image  string
		pinned bool
	}{
		{"nginx@sha256:" + hex64, true},
		{"registry.acme.example:5000/app:1.0@sha256:" + hex64, true},
		{"nginx:1.27", false},
		{"registry.acme.example:5000/app", false},         // the port's colon is no tag
		{"nginx@sha256:" + hex64[:63], false},             // short digest
		{"nginx@sha256:" + strings.ToUpper(hex64), false}, // digests are lower-case hex
		{"nginx@sha512:" + hex64 + hex64, false},          // only sha256 is required
		{"nginx@sha256:" + hex64 + "-suffix", false},
	} {
		got := len(r.Check(tc.image)) == 0
		if got != tc.pinned {
			t.Errorf("Check(%q) pinned=%v, want %v", tc.image, got, tc.pinned)
		}
	}
}

func TestCheckAllowedAndExempt(t *testing.T) {
	allowed, err := ParsePrefixes("--allowed-registries", []string{"registry.acme.example", "docker.io/library/"})
	if err != nil {
		t.Fatal(err)
	}
	exempt, err := ParseExempt([]string{"registry.k8s.io/pause"})
	if err != nil {
		t.Fatal(err)
	}
	r := Rules{Allowed: allowed, Exempt: exempt}
	for _, tc := range []struct {
		image string
		ok    bool
	}{
		{"registry.acme.example/web:1", true},
		{"registry.acme.example.evil.com/web:1", false}, // the prefix ends in "/"
		{"docker.io/library/nginx:1.27", true},
		{"index.docker.io/library/nginx:1.27", true}, // Docker Hub's other spelling
		{"nginx:1.27", false},                        // a short name is never matched
		{"docker.io/acme/web", false},
		{"registry.k8s.io/pause:3.10", true},     // exempt
		{"registry.k8s.io/pause-other:1", false}, // another repository
		{"registry.k8s.io/pause@sha256:" + hex64, true},
		{"registry.k8s.io/kube-proxy:v1.37.0", false},
		{"", true},
	} {
		if got := len(r.Check(tc.image)) == 0; got != tc.ok {
			t.Errorf("Check(%q) ok=%v, want %v (%v)", tc.image, got, tc.ok, r.Check(tc.image))
		}
	}
}

func TestParsePrefixes(t *testing.T) {
	got, err := ParsePrefixes("--allowed-registries", []string{" localhost:5000 ", "index.docker.io/acme", "localhost:5000/"})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"localhost:5000/", "index.docker.io/acme/", "docker.io/acme/"}
	if !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	for _, bad := range []string{"acme/web", "nginx", "registry.acme.example/app@sha256:" + hex64, "-bad-.example/x"} {
		_, err := ParsePrefixes("--allowed-registries", []string{bad})
		if err == nil || !strings.Contains(err.Error(), "--allowed-registries entry") {
			t.Errorf("%q: err %v, want a one-line refusal naming the flag", bad, err)
		}
	}
}
