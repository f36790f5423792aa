package pullsecret

import (
	"slices"
	"testing"
)

func TestLookup(t *testing.T) {
	none := []string{}
	tests := []struct {
		name  string
		keys  []string
		image string
		want  []string // keys as written, in the order tried
	}{
		// Globs match exactly one label each.
		{"glob one label", []string{"*.example.com"}, "a.example.com/app", []string{"*.example.com"}},
		{"glob not two labels", []string{"*.example.com"}, "a.b.example.com/app", none},
		{"glob not zero labels", []string{"*.example.com"}, "example.com/app", none},
		{"glob middle label", []string{"reg.*.com"}, "reg.example.com/app", []string{"reg.*.com"}},
		{"glob partial label", []string{"*-mirror.example.com"}, "eu-mirror.example.com/app", []string{"*-mirror.example.com"}},
		{"glob partial label miss", []string{"*-mirror.example.com"}, "mirror.example.com/app", none},
		{"glob last label", []string{"reg.example.c*"}, "reg.example.com/app", []string{"reg.example.c*"}},
		{"glob last label miss", []string{"reg.example.c*"}, "reg.example.io/app", none},
		{"two globs need three labels", []string{"*.*.example.com"}, "a.example.com/app", none},
		{"bare star is one label", []string{"*"}, "localhost/app", []string{"*"}},
		{"bare star not two labels", []string{"*"}, "quay.io/app", none},
		{"stray bracket is literal", []string{"a].example.com"}, "a.example.com/app", none},
		{"glob does not cover a port", []string{"*.example.com"}, "a.example.com:5000/app", none},
		{"glob with port", []string{"*.example.com:5000"}, "a.example.com:5000/app", []string{"*.example.com:5000"}},

		// Ports must be equal.
		{"port equal", []string{"reg.example.com:5000"}, "reg.example.com:5000/app", []string{"reg.example.com:5000"}},
		{"port in key only", []string{"reg.example.com:5000"}, "reg.example.com/app", none},
		{"port in image only", []string{"reg.example.com"}, "reg.example.com:5000/app", none},
		{"port 443 is not no port", []string{"reg.example.com:443"}, "reg.example.com/app", none},
		{"other port", []string{"reg.example.com:5000"}, "reg.example.com:5001/app", none},
		{"localhost with port", []string{"localhost:5000"}, "localhost:5000/app", []string{"localhost:5000"}},

		// Paths are plain string prefixes of "/<repository>".
		{"path prefix", []string{"reg.example.com/team"}, "reg.example.com/team/app", []string{"reg.example.com/team"}},
		{"path other", []string{"reg.example.com/team"}, "reg.example.com/other/app", none},
		{"path prefix without slash boundary", []string{"reg.example.com/team"}, "reg.example.com/teamwork/app", []string{"reg.example.com/team"}},
		{"path trailing slash keeps boundary", []string{"reg.example.com/team/"}, "reg.example.com/teamwork/app", none},
		{"path trailing slash", []string{"reg.example.com/team/"}, "reg.example.com/team/app", []string{"reg.example.com/team/"}},
		{"path full repository with tag", []string{"reg.example.com/team/app"}, "reg.example.com/team/app:1.0", []string{"reg.example.com/team/app"}},
		{"path full repository with digest", []string{"reg.example.com/team/app"}, "reg.example.com/team/app@sha256:" + sha, []string{"reg.example.com/team/app"}},
		{"path longer than repository", []string{"reg.example.com/team/app/sub"}, "reg.example.com/team/app", none},
		{"path and port", []string{"reg.example.com:5000/team"}, "reg.example.com:5000/team/app", []string{"reg.example.com:5000/team"}},

		// Schemes and /v1/ /v2/ suffixes.
		{"https scheme", []string{"https://reg.example.com"}, "reg.example.com/app", []string{"https://reg.example.com"}},
		{"http scheme", []string{"http://reg.example.com"}, "reg.example.com/app", []string{"http://reg.example.com"}},
		{"trailing slash", []string{"https://reg.example.com/"}, "reg.example.com/app", []string{"https://reg.example.com/"}},
		{"v1 suffix", []string{"https://reg.example.com/v1/"}, "reg.example.com/app", []string{"https://reg.example.com/v1/"}},
		{"v2 suffix", []string{"https://reg.example.com/v2/"}, "reg.example.com/app", []string{"https://reg.example.com/v2/"}},
		{"v2 suffix no scheme", []string{"reg.example.com/v2/"}, "reg.example.com/app", []string{"reg.example.com/v2/"}},
		{"v2 without slash is a path", []string{"https://reg.example.com/v2"}, "reg.example.com/app", none},
		{"v2 then path", []string{"https://reg.example.com/v2/team"}, "reg.example.com/team/app", []string{"https://reg.example.com/v2/team"}},
		{"v2 then path miss", []string{"https://reg.example.com/v2/team"}, "reg.example.com/app", none},
		{"upper-case scheme is not a scheme", []string{"HTTPS://reg.example.com"}, "reg.example.com/app", none},
		{"scheme and port", []string{"https://reg.example.com:5000/v2/"}, "reg.example.com:5000/app", []string{"https://reg.example.com:5000/v2/"}},

		// Docker Hub: images are matched as docker.io/<repository>.
		{"hub docker.io short name", []string{"docker.io"}, "nginx", []string{"docker.io"}},
		{"hub docker.io long name", []string{"docker.io"}, "docker.io/library/nginx", []string{"docker.io"}},
		{"hub docker.io index name", []string{"docker.io"}, "index.docker.io/library/nginx", []string{"docker.io"}},
		{"hub docker.io user repo", []string{"https://docker.io/v1/"}, "bitnami/redis", []string{"https://docker.io/v1/"}},
		{"hub index fallback", []string{"https://index.docker.io/v1/"}, "nginx", []string{"https://index.docker.io/v1/"}},
		{"hub index bare fallback", []string{"index.docker.io"}, "bitnami/redis", []string{"index.docker.io"}},
		{"hub index v2 fallback", []string{"index.docker.io/v2/"}, "docker.io/library/nginx", []string{"index.docker.io/v2/"}},
		{"hub index without trailing slash", []string{"https://index.docker.io/v1"}, "nginx", none},
		{"hub registry-1 never", []string{"registry-1.docker.io"}, "nginx", none},
		{"hub index with path never", []string{"index.docker.io/library"}, "nginx", none},
		{"hub library path", []string{"docker.io/library"}, "nginx", []string{"docker.io/library"}},
		{"hub library path miss", []string{"docker.io/library"}, "bitnami/redis", none},
		{"hub fallback only when nothing matched", []string{"docker.io", "https://index.docker.io/v1/"}, "nginx", []string{"docker.io"}},
		{"hub fallback when other keys miss", []string{"docker.io/bitnami", "index.docker.io"}, "nginx", []string{"index.docker.io"}},
		{"hub glob", []string{"*.io"}, "nginx", []string{"*.io"}},
		{"hub glob beats fallback", []string{"*.io", "index.docker.io"}, "nginx", []string{"*.io"}},
		{"hub port", []string{"docker.io:443"}, "nginx", none},
		{"hub fallback not for localhost", []string{"index.docker.io"}, "localhost/app", none},
		{"hub fallback not for other registries", []string{"index.docker.io"}, "quay.io/app", none},
		{"hub key not for other registries", []string{"docker.io"}, "quay.io/app", none},

		// Several matches, most specific first (reverse lexical order).
		{
			"several in order",
			[]string{"reg.example.com", "reg.example.com/team", "*.example.com", "reg.example.com/team/app", "other.example.com"},
			"reg.example.com/team/app",
			[]string{"reg.example.com/team/app", "reg.example.com/team", "reg.example.com", "*.example.com"},
		},
		{
			"same index key: all, in key order",
			[]string{"reg.example.com", "https://reg.example.com/v1/", "http://reg.example.com/"},
			"reg.example.com/app",
			[]string{"http://reg.example.com/", "https://reg.example.com/v1/", "reg.example.com"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := keyringOf(t, tt.keys...)
			ms, err := k.Lookup(tt.image)
			if err != nil {
				t.Fatalf("Lookup(%q) error: %v", tt.image, err)
			}
			if got := matchKeys(ms); !slices.Equal(got, tt.want) {
				t.Errorf("keys %q: Lookup(%q) = %q, want %q", tt.keys, tt.image, got, tt.want)
			}
		})
	}
}

const sha = "0000000000000000000000000000000000000000000000000000000000000000"

func TestLookupDockerHubFallbackFlag(t *testing.T) {
	k := keyringOf(t, "https://index.docker.io/v1/", "docker.io/bitnami")
	tests := []struct {
		image        string
		wantKey      string
		wantFallback bool
	}{
		{"nginx", "https://index.docker.io/v1/", true},
		{"bitnami/redis", "docker.io/bitnami", false},
	}
	for _, tt := range tests {
		ms, err := k.Lookup(tt.image)
		if err != nil {
			t.Fatal(err)
		}
		if len(ms) != 1 || ms[0].Key != tt.wantKey || ms[0].DockerHubFallback != tt.wantFallback {
			t.Errorf("Lookup(%q) = %v, want one match %q with fallback %t", tt.image, ms, tt.wantKey, tt.wantFallback)
		}
	}
}

func TestLookupMergedSources(t *testing.T) {
	pod := mustParse(t, secretWith("pod", map[string]any{
		"reg.example.com": authEntry("pod-user", alicePassword),
		"docker.io":       authEntry("pod-hub", alicePassword),
	}))
	sa := mustParse(t, secretWith("sa", map[string]any{
		"reg.example.com":      authEntry("sa-user", bobPassword),
		"reg.example.com/team": authEntry("sa-team", bobPassword),
	}))
	k := NewKeyring(Source{Kind: KindPodSecret, Secret: pod}, Source{Kind: KindServiceAccountSecret, Secret: sa}, Source{Secret: nil})

	type want struct{ source, key, user string }
	tests := []struct {
		image string
		want  []want
	}{
		{"reg.example.com/team/app", []want{
			{"service-account-secret ns/sa", "reg.example.com/team", "sa-team"},
			{"pod-secret ns/pod", "reg.example.com", "pod-user"},
			{"service-account-secret ns/sa", "reg.example.com", "sa-user"},
		}},
		{"nginx:1.27", []want{{"pod-secret ns/pod", "docker.io", "pod-hub"}}},
		{"quay.io/app", nil},
	}
	for _, tt := range tests {
		ms, err := k.Lookup(tt.image)
		if err != nil {
			t.Fatal(err)
		}
		var got []want
		for _, m := range ms {
			got = append(got, want{m.Source, m.Key, m.Username})
			if m.Credential.Source != m.Source {
				t.Errorf("Lookup(%q): credential source %q, match source %q", tt.image, m.Credential.Source, m.Source)
			}
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("Lookup(%q) = %+v, want %+v", tt.image, got, tt.want)
		}
	}
}

// A credential for registry A must never be returned for registry B.
func TestLookupNeverCrossesRegistries(t *testing.T) {
	k := keyringOf(t,
		"reg-a.example.com",
		"https://reg-a.example.com:5000/v2/",
		"*.a.example.com",
		"reg-a.example.com/team",
		"index.docker.io",
		"docker.io/team",
		"localhost:5000",
	)
	positives := []string{
		"reg-a.example.com/app",
		"reg-a.example.com:5000/app",
		"x.a.example.com/app",
		"localhost:5000/app",
		"nginx",
		"team/app",
	}
	for _, image := range positives {
		ms, err := k.Lookup(image)
		if err != nil || len(ms) == 0 {
			t.Errorf("control: Lookup(%q) = %v, %v; want a match", image, ms, err)
		}
	}
	negatives := []string{
		"reg-b.example.com/app",
		"reg-b.example.com/team/app",
		"evilreg-a.example.com/app",
		"reg-a.example.com.evil.io/app",
		"reg-a.example.co/app",
		"reg-a.example.com:5001/app",
		"reg-a.example.com:443/app",
		"a.example.com/app",
		"x.y.a.example.com/app",
		"a.example.com.evil.io/app",
		"localhost/app",
		"localhost:5001/app",
		"127.0.0.1:5000/app",
		"registry-1.docker.io/library/nginx",
		"quay.io/team/app",
		"ghcr.io/docker.io/app",
		"ghcr.io/reg-a.example.com/app",
		"docker.io.evil.io/library/nginx",
	}
	for _, image := range negatives {
		ms, err := k.Lookup(image)
		if err != nil {
			t.Fatalf("Lookup(%q) error: %v", image, err)
		}
		if len(ms) != 0 {
			t.Errorf("Lookup(%q) = %v, want no credential", image, ms)
		}
		creds, err := k.Credentials(image, nil)
		if err != nil {
			t.Fatalf("Credentials(%q) error: %v", image, err)
		}
		if len(creds) != 1 || creds[0].Source != "anonymous" {
			t.Errorf("Credentials(%q) = %v, want only anonymous", image, creds)
		}
	}
}

func TestLookupInvalidImage(t *testing.T) {
	k := keyringOf(t, "reg.example.com")
	// "UPPER/case" is valid for the kubelet: host "UPPER".
	for _, image := range []string{"", "upper/CASE", "reg.example.com/app:bad tag", "https://reg.example.com/app"} {
		if ms, err := k.Lookup(image); err == nil {
			t.Errorf("Lookup(%q) = %v, nil; want an error", image, ms)
		}
		if cs, err := k.Credentials(image, nil); err == nil {
			t.Errorf("Credentials(%q) = %v, nil; want an error", image, cs)
		}
	}
	var nilKeyring *Keyring
	if ms, err := nilKeyring.Lookup("nginx"); err != nil || len(ms) != 0 {
		t.Errorf("nil Keyring Lookup = %v, %v; want nothing", ms, err)
	}
}

func TestTemplateSources(t *testing.T) {
	secrets := map[string]*Secret{
		"pod-a": mustParse(t, secretWith("pod-a", map[string]any{"a.example.com": authEntry("a", alicePassword)})),
		"sa-b":  mustParse(t, secretWith("sa-b", map[string]any{"b.example.com": authEntry("b", bobPassword)})),
	}
	get := func(name string) *Secret { return secrets[name] }
	type src struct{ kind, name string }
	tests := []struct {
		name     string
		pod, sa  []string
		wantSrcs []src
	}{
		{"pod names some: service account's are not copied", []string{"pod-a"}, []string{"sa-b"}, []src{{KindPodSecret, "pod-a"}}},
		{"pod names none: service account's are copied", nil, []string{"sa-b"}, []src{{KindServiceAccountSecret, "sa-b"}}},
		{"pod names only missing ones: still not copied", []string{"gone"}, []string{"sa-b"}, nil},
		{"missing skipped", []string{"gone", "pod-a"}, nil, []src{{KindPodSecret, "pod-a"}}},
		{"none at all", nil, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []src
			for _, s := range TemplateSources(refs(tt.pod), refs(tt.sa), get) {
				got = append(got, src{s.Kind, s.Secret.Name})
			}
			if !slices.Equal(got, tt.wantSrcs) {
				t.Errorf("TemplateSources(%q, %q) = %v, want %v", tt.pod, tt.sa, got, tt.wantSrcs)
			}
		})
	}
}
