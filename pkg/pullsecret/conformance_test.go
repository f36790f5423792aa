package pullsecret

import (
	"errors"
	"slices"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Conformance with the kubelet, k8s.io/kubernetes v1.37.2
// pkg/credentialprovider. Inputs and expected results are upstream's. Where
// upstream hands its keyring a raw string that is no image reference
// ("prefix.docker.io/path:1111/foo/bar"), the case uses lookupName, which
// takes the kubelet's normalised name exactly as BasicDockerKeyring.Lookup
// does; otherwise it goes through Lookup with an image.

const (
	kr  = "keyring_test.go "
	cfg = "config_test.go "
	sec = "secrets/secrets_test.go "
)

// userPass is the credential a match sends.
type userPass struct{ user, pass string }

func sent(t *testing.T, ms []Match) []userPass {
	t.Helper()
	out := []userPass{}
	for _, m := range ms {
		c, err := m.Credential.Auth.Authorization()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, userPass{c.Username, c.Password})
	}
	return out
}

func TestConformanceKubeletURLsMatch(t *testing.T) {
	tests := []struct {
		glob, target string
		want         bool
	}{
		{"*.kubernetes.io", "prefix.kubernetes.io", true},
		{"prefix.*.io", "prefix.kubernetes.io", true},
		{"prefix.kubernetes.*", "prefix.kubernetes.io", true},
		{"*-good.kubernetes.io", "prefix-good.kubernetes.io", true},
		{"*.kubernetes.io/blah", "prefix.kubernetes.io/blah", true},
		{"prefix.*.io/foo", "prefix.kubernetes.io/foo/bar", true},
		{"*.kubernetes.io:1111/blah", "prefix.kubernetes.io:1111/blah", true},
		{"prefix.*.io:1111/foo", "prefix.kubernetes.io:1111/foo/bar", true},
		{"*.kubernetes.io", "kubernetes.io", false},
		{"*.*.kubernetes.io", "prefix.kubernetes.io", false},
		{"*.*.kubernetes.io", "kubernetes.io", false},
		{"*kubernetes.io", "a.kubernetes.io", false},
		{"*kubernetes.io", "kubernetes.io", true},
		{"*.*.*.kubernetes.io", "a.b.c.kubernetes.io", true},
		{"kubernetes.io", "kubernetes.com", false},
		{"k*.io", "quay.io", false},
		{"*.kubernetes.io:1234/blah", "prefix.kubernetes.io:1111/blah", false},
		{"prefix.*.io/foo", "prefix.kubernetes.io:1111/foo/bar", false},
	}
	for _, tt := range tests {
		p := compile(tt.glob)
		if got := p.match(newTarget(tt.target)); got != tt.want {
			t.Errorf("%sTestURLsMatch: %q matches %q = %v, want %v", kr, tt.glob, tt.target, got, tt.want)
		}
	}
	t.Logf("%d upstream cases", len(tests))
}

func TestConformanceKubeletGlobHitsAndMisses(t *testing.T) {
	tests := []struct {
		src, key, name string
		hit            bool
	}{
		{"TestDockerKeyringForGlob", "https://hello.kubernetes.io", "hello.kubernetes.io", true},
		{"TestDockerKeyringForGlob", "https://*.docker.io", "prefix.docker.io", true},
		{"TestDockerKeyringForGlob", "https://prefix.*.io", "prefix.docker.io", true},
		{"TestDockerKeyringForGlob", "https://prefix.docker.*", "prefix.docker.io", true},
		{"TestDockerKeyringForGlob", "https://*.docker.io/path", "prefix.docker.io/path", true},
		{"TestDockerKeyringForGlob", "https://prefix.*.io/path", "prefix.docker.io/path/subpath", true},
		{"TestDockerKeyringForGlob", "https://prefix.docker.*/path", "prefix.docker.io/path", true},
		{"TestDockerKeyringForGlob", "https://*.docker.io:8888", "prefix.docker.io:8888", true},
		{"TestDockerKeyringForGlob", "https://prefix.*.io:8888", "prefix.docker.io:8888", true},
		{"TestDockerKeyringForGlob", "https://prefix.docker.*:8888", "prefix.docker.io:8888", true},
		{"TestDockerKeyringForGlob", "https://*.docker.io/path:1111", "prefix.docker.io/path:1111", true},
		{"TestDockerKeyringForGlob", "https://*.docker.io/v1/", "prefix.docker.io/path:1111", true},
		{"TestDockerKeyringForGlob", "https://*.docker.io/v2/", "prefix.docker.io/path:1111", true},
		{"TestDockerKeyringForGlob", "https://prefix.docker.*/path:1111", "prefix.docker.io/path:1111", true},
		{"TestDockerKeyringForGlob", "prefix.docker.io:1111", "prefix.docker.io:1111/path", true},
		{"TestDockerKeyringForGlob", "*.docker.io:1111", "prefix.docker.io:1111/path", true},
		{"TestKeyringMiss", "https://hello.kubernetes.io", "world.mesos.org/foo/bar", false},
		{"TestKeyringMiss", "https://*.docker.com", "prefix.docker.io", false},
		{"TestKeyringMiss", "https://suffix.*.io", "prefix.docker.io", false},
		{"TestKeyringMiss", "https://prefix.docker.c*", "prefix.docker.io", false},
		{"TestKeyringMiss", "https://prefix.*.io/path:1111", "prefix.docker.io/path/subpath:1111", false},
		{"TestKeyringMiss", "suffix.*.io", "prefix.docker.io", false},
		{"TestKeyringMissWithDockerHubCredentials", "https://index.docker.io/v1/", "world.mesos.org/foo", false},
	}
	for _, tt := range tests {
		// Upstream's entry: email, and auth for foo:bar.
		s := mustParse(t, configJSON("s", `{"auths":{"`+tt.key+`":{"email":"foo@bar.baz","auth":"`+b64("foo:bar")+`"}}}`))
		got := sent(t, NewKeyring(Source{Secret: s}).lookupName(tt.name+"/foo/bar"))
		want := []userPass{}
		if tt.hit {
			want = []userPass{{"foo", "bar"}}
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s%s: key %q, name %q: got %v, want %v", kr, tt.src, tt.key, tt.name+"/foo/bar", got, want)
		}
	}
	t.Logf("%d upstream cases", len(tests))
}

func TestConformanceKubeletDockerHub(t *testing.T) {
	hub := mustParse(t, configJSON("s", `{"auths":{"https://index.docker.io/v1/":{"email":"foo@bar.baz","auth":"`+b64("foo:bar")+`"}}}`))
	k := NewKeyring(Source{Secret: hub})
	tests := []struct {
		src, image string
		hit        bool
	}{
		{"TestKeyringHitWithUnqualifiedDockerHub", "google/docker-registry", true},
		{"TestKeyringHitWithUnqualifiedLibraryDockerHub", "jenkins", true},
		// Upstream looks up "index.docker.io/v1//google/docker-registry",
		// which no image normalises to; the image it stands for:
		{"TestKeyringHitWithQualifiedDockerHub", "index.docker.io/google/docker-registry", true},
		// TestIsDefaultRegistryMatch, through the fallback it decides.
		{"TestIsDefaultRegistryMatch", "foo/bar", true},
		{"TestIsDefaultRegistryMatch", "docker.io/foo/bar", true},
		{"TestIsDefaultRegistryMatch", "index.docker.io/foo/bar", true},
		{"TestIsDefaultRegistryMatch", "foo", true},
		{"TestIsDefaultRegistryMatch", "", false},
		{"TestIsDefaultRegistryMatch", "registry.tld/foo/bar", false},
		{"TestIsDefaultRegistryMatch", "registry:5000/foo/bar", false},
		{"TestIsDefaultRegistryMatch", "myhostdocker.io/foo/bar", false},
	}
	for _, tt := range tests {
		ms, err := k.Lookup(tt.image)
		if tt.image == "" && err != nil {
			continue // the kubelet refuses an empty image before any lookup
		}
		if err != nil {
			t.Fatalf("Lookup(%q): %v", tt.image, err)
		}
		want := []userPass{}
		if tt.hit {
			want = []userPass{{"foo", "bar"}}
		}
		if got := sent(t, ms); !slices.Equal(got, want) {
			t.Errorf("%s%s: Lookup(%q) = %v, want %v", kr, tt.src, tt.image, got, want)
		}
	}
	t.Logf("%d upstream cases; TestProvidersDockerKeyring (1 case) skipped: this package has no credential providers", len(tests))
}

func TestConformanceKubeletLookupOrder(t *testing.T) {
	ada, grace, rex := userPass{"ada", "smash"}, userPass{"grace", "squash"}, userPass{"rex", "tiny arms"}
	two := mustParse(t, secretWith("s", map[string]any{
		"bar.example.com/pong": map[string]string{"username": "grace", "password": "squash", "email": "grace@example.com"},
		"bar.example.com":      map[string]string{"username": "ada", "password": "smash", "email": "ada@example.com"},
	}))
	quay := mustParse(t, secretWith("q", map[string]any{
		"https://quay.io/v1/": map[string]string{"username": "rex", "password": "tiny arms", "email": "rex@example.com"},
	}))
	tests := []struct {
		src  string
		k    *Keyring
		name string
		want []userPass
	}{
		{"TestDockerKeyringLookup", NewKeyring(Source{Secret: two}), "bar.example.com", []userPass{ada}},
		{"TestDockerKeyringLookup", NewKeyring(Source{Secret: two}), "bar.example.com/pong", []userPass{grace, ada}},
		{"TestDockerKeyringLookup", NewKeyring(Source{Secret: two}), "bar.example.com/ping", []userPass{ada}},
		{"TestDockerKeyringLookup", NewKeyring(Source{Secret: two}), "bar.example.com/pongz", []userPass{grace, ada}},
		{"TestDockerKeyringLookup", NewKeyring(Source{Secret: two}), "bar.example.com/pong/pang", []userPass{grace, ada}},
		{"TestDockerKeyringLookup", NewKeyring(Source{Secret: two}), "example.com", []userPass{}},
		{"TestDockerKeyringLookup", NewKeyring(Source{Secret: two}), "foo.example.com", []userPass{}},
		{"TestIssue3797", NewKeyring(Source{Secret: quay}), "quay.io", []userPass{rex}},
		{"TestIssue3797", NewKeyring(Source{Secret: quay}), "quay.io/foo", []userPass{rex}},
		{"TestIssue3797", NewKeyring(Source{Secret: quay}), "quay.io/foo/bar", []userPass{rex}},
	}
	for _, tt := range tests {
		if got := sent(t, tt.k.lookupName(tt.name)); !slices.Equal(got, tt.want) {
			t.Errorf("%s%s: lookup %q = %v, want %v", kr, tt.src, tt.name, got, tt.want)
		}
	}
	t.Logf("%d upstream cases", len(tests))
}

func TestConformanceKubeletConfigDecode(t *testing.T) {
	dockercfg := func(data string) *corev1.Secret {
		return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "s"}, Type: corev1.SecretTypeDockercfg, Data: map[string][]byte{corev1.DockerConfigKey: []byte(data)}}
	}
	type kv struct{ key, user, pass string }
	tests := []struct {
		src    string
		secret *corev1.Secret
		want   []kv // nil: the kubelet's decoder fails
	}{
		{"TestReadDockerConfigFile", configJSON("s", `{ "auths": { "http://foo.example.com":{"auth":"Zm9vOmJhcgo=","email":"foo@example.com"}}}`),
			[]kv{{"http://foo.example.com", "foo", "bar\n"}}},
		{"TestDockerConfigJsonJSONDecode", configJSON("s", `{"auths": {"http://foo.example.com":{"username": "foo", "password": "bar", "email": "foo@example.com"}, "http://bar.example.com":{"username": "bar", "password": "baz", "email": "bar@example.com"}}}`),
			[]kv{{"http://bar.example.com", "bar", "baz"}, {"http://foo.example.com", "foo", "bar"}}},
		{"TestDockerConfigJSONDecode", dockercfg(`{"http://foo.example.com":{"username": "foo", "password": "bar", "email": "foo@example.com"}, "http://bar.example.com":{"username": "bar", "password": "baz", "email": "bar@example.com"}}`),
			[]kv{{"http://bar.example.com", "bar", "baz"}, {"http://foo.example.com", "foo", "bar"}}},
		{"TestDockerConfigEntryJSONDecode", dockercfg(`{"r.io":{"username": "foo", "password": "bar", "email": "foo@example.com"}}`), []kv{{"r.io", "foo", "bar"}}},
		{"TestDockerConfigEntryJSONDecode", dockercfg(`{"r.io":{"auth": "Zm9vOmJhcg==", "email": "foo@example.com"}}`), []kv{{"r.io", "foo", "bar"}}},
		{"TestDockerConfigEntryJSONDecode", dockercfg(`{"r.io":{"username": "foo", "password": "bar", "auth": "cGluZzpwb25n", "email": "foo@example.com"}}`), []kv{{"r.io", "ping", "pong"}}},
		{"TestDockerConfigEntryJSONDecode", dockercfg(`{"r.io":{"auth": "pants", "email": "foo@example.com"}}`), nil},
		{"TestDockerConfigEntryJSONDecode", dockercfg(`{"r.io":{"email": false}}`), nil},
		{"TestReadDockerConfigFileFromBytes", dockercfg(`{"http://foo.example.com":{"username": "foo", "password": "bar", "email": "foo@example.com"}}`), []kv{{"http://foo.example.com", "foo", "bar"}}},
		{"TestReadDockerConfigFileFromBytes", dockercfg(`{"http://foo.example.com":{"username": "foo", "password": "bar", "email": "foo@example.com"`), nil},
		{"TestReadDockerConfigJSONFileFromBytes", configJSON("s", `{"auths": {"http://foo.example.com":{"username": "foo", "password": "bar", "email": "foo@example.com"}, "http://bar.example.com":{"username": "bar", "password": "baz", "email": "bar@example.com"}}}`),
			[]kv{{"http://bar.example.com", "bar", "baz"}, {"http://foo.example.com", "foo", "bar"}}},
		{"TestReadDockerConfigJSONFileFromBytes", configJSON("s", `{"auths": {"http://foo.example.com":{"username": "foo", "password": "bar", "email": "foo@example.com"}, "http://bar.example.com":{"username": "bar", "password": "baz", "email": "bar@example.com"`), nil},
	}
	// TestDecodeDockerConfigFieldAuth, through an entry's "auth".
	for _, a := range []struct {
		auth string
		ok   bool
	}{
		{"Zm9vOmJhcg==", true}, {"Zm9vOmJhcg", true}, {`Zm9vOm\nJhcg==\n`, true},
		{b64("foo:bar"), true}, {"Zm9vOmJhcg", true}, {b64("foo:bar"), true}, // raw, and encodeDockerConfigFieldAuth
		{"cGFudHM=", false}, {"Zm9vOmJhcg== ", false}, {"pants", false},
	} {
		var want []kv
		if a.ok {
			want = []kv{{"r.io", "foo", "bar"}}
		}
		tests = append(tests, struct {
			src    string
			secret *corev1.Secret
			want   []kv
		}{"TestDecodeDockerConfigFieldAuth", configJSON("s", `{"auths":{"r.io":{"auth":"`+a.auth+`"}}}`), want})
	}
	for _, tt := range tests {
		s, err := Parse(tt.secret)
		if tt.want == nil {
			var ie *InvalidError
			if !errors.As(err, &ie) || !ie.FailsPulls {
				t.Errorf("%s%s: Parse = %v, %v; want an invalid secret that fails pulls", cfg, tt.src, s, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s%s: Parse error: %v", cfg, tt.src, err)
			continue
		}
		var got []kv
		for _, e := range s.Entries {
			c, _ := e.authenticator().Authorization()
			got = append(got, kv{e.Key, c.Username, c.Password})
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s%s: entries %v, want %v", cfg, tt.src, got, tt.want)
		}
	}
	t.Logf("%d upstream cases; TestDockerConfigEntryJSONCompatibleEncode (1 case) skipped: this package never encodes secrets", len(tests))
}

func TestConformanceKubeletMakeDockerKeyring(t *testing.T) {
	const src = sec + "Test_MakeDockerKeyring"
	secret := func(typ corev1.SecretType, key, data string) *corev1.Secret {
		return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "s1", Namespace: "ns1", UID: "uid1"}, Type: typ, Data: map[string][]byte{key: []byte(data)}}
	}
	const jsonBody = `{"auths": {"test.registry.io": {"auth": "dXNlcjpwYXNzd29yZA=="}}}`
	const cfgBody = `{"test.registry.io": {"auth": "dXNlcjpwYXNzd29yZA=="}}`
	user := userPass{"user", "password"}
	def := userPass{"default-user", "default-password"}
	// The node's keyring stands in as the local docker config.
	node := func() *LocalConfig {
		return NewLocalConfig(&fakeKeychain{auths: map[string]authn.AuthConfig{"test.registry.io": {Username: def.user, Password: def.pass}}})
	}
	tests := []struct {
		name    string
		secrets []*corev1.Secret
		local   *LocalConfig
		want    []userPass
	}{
		{"with .dockerconfigjson and auth field", []*corev1.Secret{secret(corev1.SecretTypeDockerConfigJson, corev1.DockerConfigJsonKey, jsonBody)}, nil, []userPass{user}},
		{"with .dockerconfig and auth field", []*corev1.Secret{secret(corev1.SecretTypeDockercfg, corev1.DockerConfigKey, cfgBody)}, nil, []userPass{user}},
		{"with .dockerconfigjson and username/password fields", []*corev1.Secret{secret(corev1.SecretTypeDockerConfigJson, corev1.DockerConfigJsonKey, `{"auths": {"test.registry.io": {"username": "user", "password": "password"}}}`)}, nil, []userPass{user}},
		{"with .dockerconfig and username/password fields", []*corev1.Secret{secret(corev1.SecretTypeDockercfg, corev1.DockerConfigKey, `{"test.registry.io": {"username": "user", "password": "password"}}`)}, nil, []userPass{user}},
		{"with .dockerconfigjson but with wrong Secret Type", []*corev1.Secret{secret(corev1.SecretTypeDockercfg, corev1.DockerConfigJsonKey, jsonBody)}, nil, []userPass{}},
		{"with .dockerconfig but with wrong Secret Type", []*corev1.Secret{secret(corev1.SecretTypeDockerConfigJson, corev1.DockerConfigKey, cfgBody)}, nil, []userPass{}},
		{"with not matcing .dockerconfigjson and default keyring", []*corev1.Secret{secret(corev1.SecretTypeDockerConfigJson, corev1.DockerConfigJsonKey, `{"auths": {"foobar.io": {"auth": "dXNlcjpwYXNzd29yZA=="}}}`)}, node(), []userPass{def}},
		{"with not matching .dockerconfig and default keyring", []*corev1.Secret{secret(corev1.SecretTypeDockercfg, corev1.DockerConfigKey, `{"foobar.io": {"auth": "dXNlcjpwYXNzd29yZA=="}}`)}, node(), []userPass{def}},
		{"with no pull secrets but has default keyring", nil, node(), []userPass{def}},
		{"with pull secrets and has default keyring", []*corev1.Secret{secret(corev1.SecretTypeDockerConfigJson, corev1.DockerConfigJsonKey, jsonBody)}, node(), []userPass{user, def}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var sources []Source
			for _, s := range tt.secrets {
				if p, err := Parse(s); err == nil {
					sources = append(sources, Source{Secret: p})
				}
			}
			// Upstream looks up the bare "test.registry.io"; an image on
			// that registry stands for it here.
			creds, err := NewKeyring(sources...).Credentials("test.registry.io/app", tt.local)
			if err != nil {
				t.Fatal(err)
			}
			got := []userPass{}
			for _, c := range withoutAnonymousFallback(creds) {
				a, _ := c.Auth.Authorization()
				got = append(got, userPass{a.Username, a.Password})
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("%s %q: credentials %v, want %v", src, tt.name, got, tt.want)
			}
		})
	}
	t.Logf("%d upstream cases", len(tests))
}
