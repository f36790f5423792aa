package mirror

import "testing"

func TestTarget(t *testing.T) {
	for _, c := range []struct {
		image  string
		layout Layout
		want   string
		ok     bool
	}{
		{"nginx:1.27", LayoutHost, "registry.acme.dev/mirror/docker.io/library/nginx:1.27", true},
		{"nginx", LayoutHost, "registry.acme.dev/mirror/docker.io/library/nginx", true}, // no tag written, none added
		{"ghcr.io/x/nginx:1.27@sha256:" + sixtyFour, LayoutHost, "registry.acme.dev/mirror/ghcr.io/x/nginx:1.27", true},
		{"localhost:5000/team/app:v1", LayoutHost, "registry.acme.dev/mirror/localhost-5000/team/app:v1", true},
		{"ghcr.io/x/nginx:1.27", LayoutFlat, "registry.acme.dev/mirror/x/nginx:1.27", true},
		{"registry.acme.dev/mirror/docker.io/library/nginx:1.27", LayoutHost, "", false},
		{"registry.acme.dev/mirrors/app:1", LayoutHost, "registry.acme.dev/mirror/registry.acme.dev/mirrors/app:1", true}, // a prefix at a / boundary only
	} {
		got, ok, err := Target("registry.acme.dev/mirror/", c.image, c.layout)
		if err != nil || got != c.want || ok != c.ok {
			t.Errorf("Target(%q, %s) = %q, %v, %v; want %q, %v", c.image, c.layout, got, ok, err, c.want, c.ok)
		}
	}
	if _, _, err := Target("registry.acme.dev/mirror", "Not A Ref", LayoutHost); err == nil {
		t.Error("an invalid image is an error")
	}
}

const sixtyFour = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func TestValidatePrefix(t *testing.T) {
	for _, p := range []string{"registry.acme.dev/mirror", "localhost:5000", "ghcr.io/acme/mirror/"} {
		if err := ValidatePrefix(p); err != nil {
			t.Errorf("%q: %v", p, err)
		}
	}
	for _, p := range []string{"mirror", "", "registry.acme.dev/Mirror"} {
		if err := ValidatePrefix(p); err == nil {
			t.Errorf("%q: want an error", p)
		}
	}
}
