package audit

import (
	"strings"
	"testing"

	"github.com/imgtrust/kubectl-imgtrust/pkg/imageref"
)

// TestAllowedMatrix checks every entry against every image: Docker Hub
// spellings mean exactly the path written, and path prefixes stop at "/".
func TestAllowedMatrix(t *testing.T) {
	images := []string{
		"nginx",                         // 0: index.docker.io/library/nginx
		"docker.io/library/nginx:1",     // 1: same repository
		"acme",                          // 2: library/acme
		"acme/web",                      // 3
		"docker.io/acme/web",            // 4
		"index.docker.io/acme/web/sub",  // 5
		"acmecorp/x",                    // 6
		"ghcr.io/acme/web",              // 7
		"ghcr.io/acmecorp/web",          // 8
		"ghcr.io/acme",                  // 9
		"reg.example.com:5000/team/app", // 10
		"reg.example.com/team/app",      // 11
		"registry-1.docker.io/acme/web", // 12
		"REGISTRY/app",                  // 13
		"localhost/app",                 // 14
	}
	tests := []struct {
		entry string
		want  []int // indexes of the images allowed
	}{
		{"docker.io", []int{0, 1, 2, 3, 4, 5, 6}},
		{"docker.io/", []int{0, 1, 2, 3, 4, 5, 6}},
		{"index.docker.io", []int{0, 1, 2, 3, 4, 5, 6}},
		{"index.docker.io/", []int{0, 1, 2, 3, 4, 5, 6}},
		{"docker.io/library", []int{0, 1, 2}},
		{"index.docker.io/library", []int{0, 1, 2}},
		{"docker.io/library/", []int{0, 1, 2}},
		{"docker.io/library/nginx", []int{0, 1}},
		{"docker.io/nginx", nil}, // exactly "nginx/…", which "nginx" is not
		{"docker.io/acme", []int{3, 4, 5}},
		{"docker.io/acme/", []int{3, 4, 5}},
		{"index.docker.io/acme", []int{3, 4, 5}},
		{"docker.io/acme/web", []int{3, 4, 5}},
		{"docker.io/acme/web/sub", []int{5}},
		{"acme/web", []int{3, 4, 5}}, // no host: a Docker Hub path, as in an image
		{"ghcr.io", []int{7, 8, 9}},
		{"ghcr.io/acme", []int{7, 9}},
		{"ghcr.io/acme/", []int{7, 9}},
		{"ghcr.io/acme/web", []int{7}},
		{"reg.example.com:5000", []int{10}},
		{"reg.example.com:5000/team", []int{10}},
		{"reg.example.com", []int{11}},
		{"reg.example.com/tea", nil},
		{"registry-1.docker.io", []int{12}}, // not Docker Hub for the kubelet either
		{"REGISTRY", []int{13}},
		{"registry", []int{13}}, // host names compare without case
		{"REGISTRY/app", []int{13}},
		{"localhost", []int{14}},
	}
	refs := make([]imageref.Reference, len(images))
	for i, img := range images {
		r, err := imageref.Parse(img)
		if err != nil {
			t.Fatalf("Parse(%q): %v", img, err)
		}
		refs[i] = r
	}
	for _, tt := range tests {
		list, err := ParseAllowedRegistries([]string{tt.entry})
		if err != nil || len(list) != 1 {
			t.Errorf("ParseAllowedRegistries(%q) = %v, %v; want one entry", tt.entry, list, err)
			continue
		}
		want := map[int]bool{}
		for _, i := range tt.want {
			want[i] = true
		}
		for i, r := range refs {
			if got := list[0].allows(r); got != want[i] {
				t.Errorf("entry %q allows %q = %v, want %v", tt.entry, images[i], got, want[i])
			}
		}
	}
}

func TestParseAllowedRegistriesNormalises(t *testing.T) {
	tests := []struct{ entry, registry, path string }{
		{"docker.io", "index.docker.io", ""},
		{" docker.io/ ", "index.docker.io", ""},
		{"docker.io/acme", "index.docker.io", "acme"},
		{"index.docker.io/library", "index.docker.io", "library"},
		{"docker.io/docker.io", "index.docker.io", "docker.io"},
		{"ghcr.io/acme/", "ghcr.io", "acme"},
		{"acme/web", "index.docker.io", "acme/web"},
		{"MyHost:5000/team", "MyHost:5000", "team"},
		{"[::1]:5000/team", "[::1]:5000", "team"},
	}
	for _, tt := range tests {
		list, err := ParseAllowedRegistries([]string{tt.entry})
		if err != nil || len(list) != 1 {
			t.Errorf("ParseAllowedRegistries(%q) = %v, %v; want one entry", tt.entry, list, err)
			continue
		}
		if a := list[0]; a.Registry != tt.registry || a.PathPrefix != tt.path || a.Written != strings.TrimSpace(tt.entry) {
			t.Errorf("ParseAllowedRegistries(%q) = %+v, want registry %q path %q", tt.entry, a, tt.registry, tt.path)
		}
	}
}

func TestParseAllowedRegistriesInvalid(t *testing.T) {
	for _, entry := range []string{
		"UPPER_case!",
		"ghcr.io/Acme",
		"ghcr.io/acme:v1",
		"ghcr.io/acme@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
		"ghcr.io//acme",
		"https://ghcr.io",
		"-bad.io",
		"/acme",
	} {
		if got, err := ParseAllowedRegistries([]string{entry}); err == nil || !strings.Contains(err.Error(), "--allowed-registries") {
			t.Errorf("ParseAllowedRegistries(%q) = %v, %v; want an error naming --allowed-registries", entry, got, err)
		}
	}
	if got, err := ParseAllowedRegistries([]string{"", "  "}); err != nil || len(got) != 0 {
		t.Errorf("blank entries: got %v, %v; want none", got, err)
	}
}
