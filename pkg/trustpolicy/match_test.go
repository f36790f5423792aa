package trustpolicy

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestNormalize(t *testing.T) {
	tests := []struct{ registry, repository, want string }{
		{"index.docker.io", "library/nginx", "docker.io/library/nginx"},
		{"registry-1.docker.io", "acme/web", "docker.io/acme/web"},
		{"docker.io", "nginx", "docker.io/library/nginx"},
		{"", "nginx", "docker.io/library/nginx"},
		{"Index.Docker.IO", "acme/web", "docker.io/acme/web"},
		{"GHCR.io", "acme/web", "ghcr.io/acme/web"},
		{"localhost:5000", "web", "localhost:5000/web"},
		{"registry.k8s.io", "pause", "registry.k8s.io/pause"},
	}
	for _, tt := range tests {
		if got := Normalize(tt.registry, tt.repository); got != tt.want {
			t.Errorf("Normalize(%q, %q) = %q, want %q", tt.registry, tt.repository, got, tt.want)
		}
	}
}

func TestNormalizePattern(t *testing.T) {
	tests := []struct{ pattern, want string }{
		{"nginx", "docker.io/library/nginx"},
		{"acme/*", "docker.io/acme/*"},
		{"library/*", "docker.io/library/*"},
		{"**", "**"},
		{"*", "*"},
		{"**/nginx", "**/nginx"},
		{"index.docker.io/acme/**", "docker.io/acme/**"},
		{"registry-1.docker.io/nginx", "docker.io/library/nginx"},
		{"docker.io/*", "docker.io/library/*"},
		{"docker.io/**", "docker.io/**"},
		{"Registry.K8s.io/pause", "registry.k8s.io/pause"},
		{"localhost/web", "localhost/web"},
		{"localhost:5000/*", "localhost:5000/*"},
		{"*.gcr.io/**", "*.gcr.io/**"},
	}
	for _, tt := range tests {
		if got := normalizePattern(tt.pattern); got != tt.want {
			t.Errorf("normalizePattern(%q) = %q, want %q", tt.pattern, got, tt.want)
		}
	}
}

func TestGlobMatch(t *testing.T) {
	tests := []struct {
		pattern, name string
		want          bool
	}{
		{"registry.k8s.io/**", "registry.k8s.io/pause", true},
		{"registry.k8s.io/**", "registry.k8s.io/a/b", true},
		{"registry.k8s.io/**", "registry.k8s.io/", true}, // "**" may be empty
		{"registry.k8s.io/**", "registry.k8s.iox/pause", false},
		{"registry.acme.example/**", "registry.acme.example.evil.com/x", false},
		{"ghcr.io/acme/*", "ghcr.io/acme/web", true},
		{"ghcr.io/acme/*", "ghcr.io/acme/web/api", false},
		{"ghcr.io/acme/*", "ghcr.io/acme/", true},
		{"ghcr.io/*/web", "ghcr.io/acme/web", true},
		{"ghcr.io/*/web", "ghcr.io/a/b/web", false},
		{"ghcr.io/**/web", "ghcr.io/a/b/web", true},
		{"ghcr.io/**/web", "ghcr.io/web", false}, // the slashes around ** are literal
		{"ghcr.io/acme/web-?", "ghcr.io/acme/web-1", true},
		{"ghcr.io/acme/web-?", "ghcr.io/acme/web-12", false},
		{"ghcr.io/acme?web", "ghcr.io/acme/web", false},
		{"*.gcr.io/**", "eu.gcr.io/p/img", true},
		{"*.gcr.io/**", "a.b.gcr.io/p/img", true},
		{"*.gcr.io/**", "x/eu.gcr.io/p", false},
		{"**", "anything/at/all", true},
		{"*", "docker.io/library/nginx", false},
		{"a.b/c", "a.b/c", true},
		{"a.b/c", "a.b/cd", false},
		{"a.b/c", "a.bc", false},
		{"", "", true},
		{"", "x", false},
		{"x/é?", "x/éé", true},
	}
	for _, tt := range tests {
		if got := globMatch(tt.pattern, tt.name); got != tt.want {
			t.Errorf("globMatch(%q, %q) = %v, want %v", tt.pattern, tt.name, got, tt.want)
		}
	}
}

// TestGlobMatchNoBacktracking: a pattern that makes a backtracking matcher
// take exponential time is answered at once.
func TestGlobMatchNoBacktracking(t *testing.T) {
	pattern := strings.Repeat("*a", 30) + "b"
	name := strings.Repeat("a", 4000)
	start := time.Now()
	if globMatch(pattern, name) {
		t.Errorf("globMatch(%q, a×4000) = true, want false", pattern)
	}
	if globMatch(strings.Repeat("**a", 30)+"b", name) {
		t.Errorf("globMatch(**a…b, a×4000) = true, want false")
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("globMatch took %v", d)
	}
}

// matchIndex is the index of the rule Match finds, -1 for none.
func matchIndex(pol *Policy, name string) int {
	if r, ok := pol.Match(name); ok {
		return r.Index
	}
	return -1
}

func TestMatch(t *testing.T) {
	pol := mustParse(t, goodPolicy, policyDir(t))
	tests := []struct {
		registry, repository string
		want                 int // rule index, -1 for none
	}{
		{"registry.k8s.io", "pause", 0},
		{"registry.k8s.io", "kube-apiserver/sub", 0},
		{"cgr.dev", "chainguard/static", 1},
		{"cgr.dev", "other/static", 4},
		{"registry.acme.example", "team/web", 2},
		{"REGISTRY.ACME.EXAMPLE", "team/web", 2},   // host case
		{"registry.acme.example.evil.com", "x", 4}, // not a prefix-extended host
		{"ghcr.io", "acme/web", 2},                 // second pattern of the rule
		{"ghcr.io", "acme/web/api", 4},             // "*" does not cross '/'
		{"index.docker.io", "library/nginx", 3},    // "nginx"
		{"docker.io", "nginx", 3},                  // Docker Hub short name
		{"registry-1.docker.io", "acme/web", 3},    // "Index.Docker.io/acme/*"
		{"docker.io", "library/redis", 4},          // "**" takes the rest
		{"quay.io", "x/y/z", 4},
	}
	for _, tt := range tests {
		name := Normalize(tt.registry, tt.repository)
		if got := matchIndex(pol, name); got != tt.want {
			t.Errorf("Match(%q) = rules[%d], want rules[%d]", name, got, tt.want)
		}
	}
}

func TestMatchFirstWinsAndNone(t *testing.T) {
	pol := mustParse(t, header+`rules:
- images: ["ghcr.io/acme/web"]
  action: ignore
- images: ["ghcr.io/acme/*"]
  keys: [cosign.pub]
- images: ["ghcr.io/**"]
  action: report-unsigned
`, policyDir(t))
	for name, want := range map[string]int{
		"ghcr.io/acme/web":   0,
		"ghcr.io/acme/api":   1,
		"ghcr.io/other/api":  2,
		"quay.io/acme/web":   -1,
		"docker.io/acme/web": -1,
	} {
		if got := matchIndex(pol, name); got != want {
			t.Errorf("Match(%q) = rules[%d], want rules[%d]", name, got, want)
		}
		if r, ok := pol.Match(name); !ok && !reflect.DeepEqual(r, Rule{}) {
			t.Errorf("Match(%q) with no rule returned %+v, want the zero Rule", name, r)
		}
	}
}

// TestMatchHandBuiltPolicy: a Policy not made by Parse matches on its
// Images normalised as it goes.
func TestMatchHandBuiltPolicy(t *testing.T) {
	pol := &Policy{Rules: []Rule{
		{Index: 0, Images: []string{"nginx"}, Action: ActionIgnore},
		{Index: 1, Images: []string{"index.docker.io/acme/*"}, Action: ActionIgnore},
	}}
	if r, ok := pol.Match("docker.io/library/nginx"); !ok || r.Index != 0 {
		t.Errorf("Match(docker.io/library/nginx) = %v, %v; want rules[0]", r.Name(), ok)
	}
	if r, ok := pol.Match("docker.io/acme/web"); !ok || r.Index != 1 {
		t.Errorf("Match(docker.io/acme/web) = %v, %v; want rules[1]", r.Name(), ok)
	}
	var nilPolicy *Policy
	if _, ok := nilPolicy.Match("docker.io/acme/web"); ok {
		t.Errorf("nil Policy matched")
	}
}
