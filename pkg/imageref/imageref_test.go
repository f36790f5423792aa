package imageref

import (
	"strings"
	"testing"
)

const dig = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func TestParse(t *testing.T) {
	tests := []struct {
		image            string
		registry, repo   string
		tag, digest      string
		implicitRegistry bool
		pinning          Pinning
	}{
		{"nginx", "index.docker.io", "library/nginx", "", "", true, PinNone},
		{"nginx:latest", "index.docker.io", "library/nginx", "latest", "", true, PinLatest},
		{"nginx:1.25", "index.docker.io", "library/nginx", "1.25", "", true, PinTag},
		{"bitnami/redis:7", "index.docker.io", "bitnami/redis", "7", "", true, PinTag},
		{"docker.io/nginx", "index.docker.io", "library/nginx", "", "", false, PinNone},
		{"docker.io/library/nginx:1", "index.docker.io", "library/nginx", "1", "", false, PinTag},
		{"registry:5000/app", "registry:5000", "app", "", "", false, PinNone},
		{"registry:5000/team/app:v2", "registry:5000", "team/app", "v2", "", false, PinTag},
		{"localhost/app", "localhost", "app", "", "", false, PinNone},
		{"localhost:5000/app:latest", "localhost:5000", "app", "latest", "", false, PinLatest},
		{"ghcr.io/org/app@" + dig, "ghcr.io", "org/app", "", dig, false, PinDigest},
		{"ghcr.io/org/app:v1@" + dig, "ghcr.io", "org/app", "v1", dig, false, PinTagDigest},
		{"nginx@" + dig, "index.docker.io", "library/nginx", "", dig, true, PinDigest},
		{"nginx:1.25@" + dig, "index.docker.io", "library/nginx", "1.25", dig, true, PinTagDigest},
		{"127.0.0.1:5000/a/b/c:x", "127.0.0.1:5000", "a/b/c", "x", "", false, PinTag},
		{"[::1]:5000/app:1", "[::1]:5000", "app", "1", "", false, PinTag},
		// An uppercase first component is a host for the kubelet
		// (distribution's splitDockerDomain), though it has no "." or ":".
		{"REGISTRY/app", "REGISTRY", "app", "", "", false, PinNone},
		{"MyHost:5000/app:v1", "MyHost:5000", "app", "v1", "", false, PinTag},
		{"Foo/bar/baz@" + dig, "Foo", "bar/baz", "", dig, false, PinDigest},
		{"index.docker.io/nginx", "index.docker.io", "library/nginx", "", "", false, PinNone},
		{"registry-1.docker.io/library/nginx", "registry-1.docker.io", "library/nginx", "", "", false, PinNone},
		// A single component is never a host.
		{"localhost:5000", "index.docker.io", "library/localhost", "5000", "", true, PinTag},
	}
	for _, tt := range tests {
		t.Run(tt.image, func(t *testing.T) {
			got, err := Parse(tt.image)
			if err != nil {
				t.Fatalf("Parse(%q) error: %v", tt.image, err)
			}
			if got.Registry != tt.registry || got.Repository != tt.repo || got.Tag != tt.tag || got.Digest != tt.digest {
				t.Errorf("Parse(%q) = %s / %s : %q @ %q, want %s / %s : %q @ %q", tt.image,
					got.Registry, got.Repository, got.Tag, got.Digest, tt.registry, tt.repo, tt.tag, tt.digest)
			}
			if got.ImplicitRegistry != tt.implicitRegistry {
				t.Errorf("Parse(%q).ImplicitRegistry = %v, want %v", tt.image, got.ImplicitRegistry, tt.implicitRegistry)
			}
			if p := got.Pinning(); p != tt.pinning {
				t.Errorf("Parse(%q).Pinning() = %s, want %s", tt.image, p, tt.pinning)
			}
		})
	}
}

func TestParseInvalid(t *testing.T) {
	for _, image := range []string{
		"",
		" nginx",
		"nginx ",
		"NGINX",
		"nginx:",
		"nginx:bad tag",
		"nginx@sha256:short",
		"nginx@@" + dig,
		"nginx:1@" + dig + "@" + dig,
		"registry:5000/",
		"-leading/dash",
		"REGISTRY/App",
		"REGISTRY",
		"https://ghcr.io/org/app",
		"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
		"a/b:" + string(make([]byte, 0)) + "way-too-long-" + string(bytesOf('x', 130)),
	} {
		t.Run(image, func(t *testing.T) {
			if got, err := Parse(image); err == nil {
				t.Errorf("Parse(%q) = %+v, want an error", image, got)
			}
		})
	}
}

func bytesOf(b byte, n int) []byte {
	out := make([]byte, n)
	for i := range out {
		out[i] = b
	}
	return out
}

func TestPinned(t *testing.T) {
	tests := []struct {
		image   string
		dropTag bool
		want    string
	}{
		{"nginx:1.25", false, "nginx:1.25@" + dig},
		{"nginx:1.25", true, "nginx@" + dig},
		{"nginx", false, "nginx@" + dig},
		{"registry:5000/app", true, "registry:5000/app@" + dig},
		{"registry:5000/app:v1", true, "registry:5000/app@" + dig},
		{"registry:5000/app:v1", false, "registry:5000/app:v1@" + dig},
		{"ghcr.io/o/a:v1@sha256:1111111111111111111111111111111111111111111111111111111111111111", false, "ghcr.io/o/a:v1@" + dig},
	}
	for _, tt := range tests {
		ref, err := Parse(tt.image)
		if err != nil {
			t.Fatalf("Parse(%q): %v", tt.image, err)
		}
		if got := ref.Pinned(dig, tt.dropTag); got != tt.want {
			t.Errorf("Parse(%q).Pinned(dropTag=%v) = %q, want %q", tt.image, tt.dropTag, got, tt.want)
		}
		if _, err := Parse(ref.Pinned(dig, tt.dropTag)); err != nil {
			t.Errorf("pinned reference %q does not parse: %v", ref.Pinned(dig, tt.dropTag), err)
		}
	}
}

func TestParseImageID(t *testing.T) {
	tests := []struct {
		id     string
		ok     bool
		digest string
		kind   DigestKind
	}{
		{"docker-pullable://nginx@" + dig, true, dig, KindManifest},
		{"docker-pullable://registry:5000/app@" + dig, true, dig, KindManifest},
		{"docker.io/library/nginx@" + dig, true, dig, KindManifest},
		{"localhost:5000/team/app@" + dig, true, dig, KindManifest},
		{dig, true, dig, KindConfig},
		{"docker://" + dig, true, dig, KindConfig},
		{"", false, "", ""},
		{"docker-pullable://", false, "", ""},
		{"nginx:1.25", false, "", ""},
		{"sha256:nothex", false, "", ""},
		{"REGISTRY/app@" + dig, true, dig, KindManifest},
	}
	for _, tt := range tests {
		got, ok := ParseImageID(tt.id)
		if ok != tt.ok || got.Digest != tt.digest || got.Kind != tt.kind {
			t.Errorf("ParseImageID(%q) = %+v, %v; want digest %q kind %q, %v", tt.id, got, ok, tt.digest, tt.kind, tt.ok)
		}
		if ok && got.ImageID != tt.id {
			t.Errorf("ParseImageID(%q).ImageID = %q, want the raw ID", tt.id, got.ImageID)
		}
	}
}

func BenchmarkParse(b *testing.B) {
	images := []string{"nginx", "bitnami/redis:7", "registry:5000/team/app:v2@" + dig, "ghcr.io/org/app@" + dig}
	for b.Loop() {
		for _, img := range images {
			if _, err := Parse(img); err != nil {
				b.Fatal(err)
			}
		}
	}
}

func TestShortDigest(t *testing.T) {
	tests := []struct{ in, want string }{
		{"sha256:" + strings.Repeat("a", 64), "sha256:aaaaaaaaaaaa"},
		{"sha256:abc", "sha256:abc"},
		{"", ""},
		{"not-a-digest", "not-a-digest"},
	}
	for _, tt := range tests {
		if got := ShortDigest(tt.in); got != tt.want {
			t.Errorf("ShortDigest(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestProviderServed(t *testing.T) {
	for host, want := range map[string]bool{
		"123456789012.dkr.ecr.eu-west-1.amazonaws.com":     true,
		"123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn": true,
		"gcr.io":                      true,
		"eu.gcr.io":                   true,
		"europe-west1-docker.pkg.dev": true,
		"acme.azurecr.io":             true,
		"acme.azurecr.io:443":         true,
		"ghcr.io":                     false,
		"index.docker.io":             false,
		"registry.example.com":        false,
		"ecr.example.com":             false,
		"notgcr.io":                   false,
	} {
		if got := ProviderServed(host); got != want {
			t.Errorf("ProviderServed(%q) = %v, want %v", host, got, want)
		}
	}
}
