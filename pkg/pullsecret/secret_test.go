package pullsecret

import (
	"encoding/base64"
	"errors"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestParseValid(t *testing.T) {
	tests := []struct {
		name         string
		secret       *corev1.Secret
		wantKey      string
		wantRegistry string
		wantUser     string
		wantPassword string
		wantProblems []string
	}{
		{
			name:         "auth padded",
			secret:       configJSON("s", `{"auths":{"reg.example.com":{"auth":"`+b64("alice:"+alicePassword)+`"}}}`),
			wantKey:      "reg.example.com",
			wantRegistry: "reg.example.com",
			wantUser:     "alice", wantPassword: alicePassword,
		},
		{
			name:         "auth unpadded",
			secret:       configJSON("s", `{"auths":{"reg.example.com":{"auth":"`+base64.RawStdEncoding.EncodeToString([]byte("alice:"+alicePassword+"x"))+`"}}}`),
			wantKey:      "reg.example.com",
			wantRegistry: "reg.example.com",
			wantUser:     "alice", wantPassword: alicePassword + "x",
		},
		{
			name:         "username and password fields",
			secret:       configJSON("s", `{"auths":{"https://reg.example.com/v2/":{"username":"bob","password":"`+bobPassword+`","email":"bob@example.com"}}}`),
			wantKey:      "https://reg.example.com/v2/",
			wantRegistry: "reg.example.com",
			wantUser:     "bob", wantPassword: bobPassword,
		},
		{
			name:         "kubectl create secret docker-registry shape",
			secret:       secretWith("s", map[string]any{"reg.example.com:5000/team": authEntry("alice", alicePassword)}),
			wantKey:      "reg.example.com:5000/team",
			wantRegistry: "reg.example.com:5000/team",
			wantUser:     "alice", wantPassword: alicePassword,
		},
		{
			name:         "auth wins over disagreeing fields",
			secret:       configJSON("s", `{"auths":{"reg.example.com":{"username":"bob","password":"`+bobPassword+`","auth":"`+b64("alice:"+alicePassword)+`"}}}`),
			wantKey:      "reg.example.com",
			wantRegistry: "reg.example.com",
			wantUser:     "alice", wantPassword: alicePassword,
			wantProblems: []string{`entry "reg.example.com": the username/password fields disagree with auth; the kubelet uses auth`},
		},
		{
			name:         "password may hold a colon",
			secret:       configJSON("s", `{"auths":{"reg.example.com":{"auth":"`+b64("alice:a:b:"+alicePassword)+`"}}}`),
			wantKey:      "reg.example.com",
			wantRegistry: "reg.example.com",
			wantUser:     "alice", wantPassword: "a:b:" + alicePassword,
		},
		{
			name:         "field names are case-insensitive, as in encoding/json",
			secret:       configJSON("s", `{"Auths":{"reg.example.com":{"Username":"bob","PASSWORD":"`+bobPassword+`"}}}`),
			wantKey:      "reg.example.com",
			wantRegistry: "reg.example.com",
			wantUser:     "bob", wantPassword: bobPassword,
		},
		{
			name: "legacy dockercfg",
			secret: &corev1.Secret{
				ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "s"},
				Type:       corev1.SecretTypeDockercfg,
				Data:       map[string][]byte{corev1.DockerConfigKey: []byte(`{"https://index.docker.io/v1/":{"auth":"` + b64("alice:"+alicePassword) + `","email":"a@example.com"}}`)},
			},
			wantKey:      "https://index.docker.io/v1/",
			wantRegistry: "index.docker.io",
			wantUser:     "alice", wantPassword: alicePassword,
		},
		{
			name:         "password in key userinfo is redacted",
			secret:       configJSON("s", `{"auths":{"https://bob:`+keyPassword+`@reg.example.com/v1/":{"auth":"`+b64("alice:"+alicePassword)+`"}}}`),
			wantKey:      "https://bob:xxxxx@reg.example.com/v1/",
			wantRegistry: "reg.example.com",
			wantUser:     "alice", wantPassword: alicePassword,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Parse(tt.secret)
			if err != nil {
				t.Fatalf("Parse error: %v", err)
			}
			if len(s.Entries) != 1 {
				t.Fatalf("Parse: %d entries, want 1", len(s.Entries))
			}
			e := s.Entries[0]
			if e.Key != tt.wantKey || e.Registry != tt.wantRegistry || e.Username != tt.wantUser {
				t.Errorf("entry = key %q registry %q user %q, want %q %q %q", e.Key, e.Registry, e.Username, tt.wantKey, tt.wantRegistry, tt.wantUser)
			}
			cfg, err := e.auth.Authorization()
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Username != tt.wantUser || cfg.Password != tt.wantPassword {
				t.Errorf("Authorization() user %q, password of length %d; want %q and length %d", cfg.Username, len(cfg.Password), tt.wantUser, len(tt.wantPassword))
			}
			if cfg.IdentityToken != "" || cfg.RegistryToken != "" || cfg.Auth != "" {
				t.Errorf("Authorization() sends more than username/password")
			}
			if !slices.Equal(s.Problems, tt.wantProblems) {
				t.Errorf("Problems = %q, want %q", s.Problems, tt.wantProblems)
			}
			if s.FailsPulls {
				t.Errorf("FailsPulls = true, want false")
			}
			if s.Namespace != "ns" || s.Name != "s" || s.Type != tt.secret.Type {
				t.Errorf("secret identity = %s/%s %s", s.Namespace, s.Name, s.Type)
			}
		})
	}
}

func TestParseInvalid(t *testing.T) {
	typed := func(typ corev1.SecretType, data map[string]string) *corev1.Secret {
		s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "bad"}, Type: typ, Data: map[string][]byte{}}
		for k, v := range data {
			s.Data[k] = []byte(v)
		}
		return s
	}
	good := `{"auths":{"reg.example.com":{"auth":"` + b64("alice:"+alicePassword) + `"}}}`
	tests := []struct {
		name           string
		secret         *corev1.Secret
		wantReason     string
		wantFailsPulls bool
	}{
		{"opaque", typed(corev1.SecretTypeOpaque, map[string]string{"password": alicePassword}),
			`type "Opaque" is not kubernetes.io/dockerconfigjson or kubernetes.io/dockercfg, so the kubelet ignores it`, false},
		{"opaque with dockerconfigjson key", typed(corev1.SecretTypeOpaque, map[string]string{".dockerconfigjson": good}),
			`type "Opaque" is not kubernetes.io/dockerconfigjson or kubernetes.io/dockercfg, so the kubelet ignores it (it has a ".dockerconfigjson" key: recreate it with type kubernetes.io/dockerconfigjson)`, false},
		{"empty type with dockercfg key", typed("", map[string]string{".dockercfg": `{}`}),
			`type "Opaque" is not kubernetes.io/dockerconfigjson or kubernetes.io/dockercfg, so the kubelet ignores it (it has a ".dockercfg" key: recreate it with type kubernetes.io/dockercfg)`, false},
		{"basic-auth", typed(corev1.SecretTypeBasicAuth, map[string]string{"username": "alice", "password": alicePassword}),
			`type "kubernetes.io/basic-auth" is not kubernetes.io/dockerconfigjson or kubernetes.io/dockercfg, so the kubelet ignores it`, false},
		{"dockerconfigjson missing key", typed(corev1.SecretTypeDockerConfigJson, map[string]string{".dockercfg": good}),
			`no ".dockerconfigjson" key in data, so the kubelet ignores it`, false},
		{"dockercfg missing key", typed(corev1.SecretTypeDockercfg, nil),
			`no ".dockercfg" key in data, so the kubelet ignores it`, false},
		{"empty data", typed(corev1.SecretTypeDockerConfigJson, map[string]string{".dockerconfigjson": ""}),
			`".dockerconfigjson" is empty, so the kubelet ignores it`, false},
		{"not JSON", typed(corev1.SecretTypeDockerConfigJson, map[string]string{".dockerconfigjson": `{"auths":{"reg.example.com":{"auth":"` + b64("alice:"+alicePassword) + `"`}),
			`".dockerconfigjson" is not valid JSON (syntax error at byte `, true},
		{"not JSON, secret in the bad token", typed(corev1.SecretTypeDockerConfigJson, map[string]string{".dockerconfigjson": `{"auths":{"r":{"password":` + alicePassword + `}}}`}),
			`".dockerconfigjson" is not valid JSON (syntax error at byte 27)`, true},
		{"JSON array", typed(corev1.SecretTypeDockerConfigJson, map[string]string{".dockerconfigjson": `[1,2]`}),
			`".dockerconfigjson" is a JSON array, not an object`, true},
		{"JSON string", typed(corev1.SecretTypeDockerConfigJson, map[string]string{".dockerconfigjson": `"` + alicePassword + `"`}),
			`".dockerconfigjson" is a JSON string, not an object`, true},
		{"JSON null", typed(corev1.SecretTypeDockerConfigJson, map[string]string{".dockerconfigjson": `null`}),
			`".dockerconfigjson" is null: it has no "auths" object, so the kubelet finds no credentials in it`, false},
		{"no auths", typed(corev1.SecretTypeDockerConfigJson, map[string]string{".dockerconfigjson": `{}`}),
			`".dockerconfigjson" has no "auths" object, so the kubelet finds no credentials in it`, false},
		{"auths null", typed(corev1.SecretTypeDockerConfigJson, map[string]string{".dockerconfigjson": `{"auths":null}`}),
			`".dockerconfigjson" has no "auths" object, so the kubelet finds no credentials in it`, false},
		{"legacy map in dockerconfigjson", typed(corev1.SecretTypeDockerConfigJson, map[string]string{".dockerconfigjson": `{"reg.example.com":{"auth":"` + b64("alice:"+alicePassword) + `"}}`}),
			`".dockerconfigjson" has no "auths" object, so the kubelet finds no credentials in it (its top level looks like a legacy .dockercfg map: nest it under "auths")`, false},
		{"credential helpers", typed(corev1.SecretTypeDockerConfigJson, map[string]string{".dockerconfigjson": `{"credsStore":"desktop"}`}),
			`".dockerconfigjson" has no "auths" object, so the kubelet finds no credentials in it (it names credential helpers, which exist only on the machine that wrote it)`, false},
		{"auths wrong type", typed(corev1.SecretTypeDockerConfigJson, map[string]string{".dockerconfigjson": `{"auths":"` + alicePassword + `"}`}),
			`"auths" in ".dockerconfigjson" is a JSON string, not an object`, true},
		{"auths empty", typed(corev1.SecretTypeDockerConfigJson, map[string]string{".dockerconfigjson": `{"auths":{}}`}),
			`".dockerconfigjson" has no registry entries`, false},
		{"dockercfg array", typed(corev1.SecretTypeDockercfg, map[string]string{".dockercfg": `[]`}),
			`".dockercfg" is a JSON array, not an object`, true},
		{"dockercfg null", typed(corev1.SecretTypeDockercfg, map[string]string{".dockercfg": `null`}),
			`".dockercfg" is null: it has no registry entries`, false},
		{"dockercfg not JSON", typed(corev1.SecretTypeDockercfg, map[string]string{".dockercfg": `{`}),
			`".dockercfg" is not valid JSON (syntax error at byte 1)`, true},
		{"dockerconfigjson body in a dockercfg secret", typed(corev1.SecretTypeDockercfg, map[string]string{".dockercfg": good}),
			`no usable entry: entry "auths": this looks like a .dockerconfigjson body; recreate the secret with type kubernetes.io/dockerconfigjson`, false},
		{"only entry: auth not base64", configJSON("bad", `{"auths":{"reg.example.com":{"auth":"`+alicePassword+`!"}}}`),
			`no usable entry: entry "reg.example.com": auth is not valid base64`, true},
		{"only entry: url-safe base64", configJSON("bad", `{"auths":{"reg.example.com":{"auth":"`+base64.URLEncoding.EncodeToString([]byte("alice:>>>?"+alicePassword))+`"}}}`),
			`no usable entry: entry "reg.example.com": auth is not valid base64`, true},
		{"only entry: auth without colon", configJSON("bad", `{"auths":{"reg.example.com":{"auth":"`+b64(alicePassword)+`"}}}`),
			`no usable entry: entry "reg.example.com": auth does not decode to username:password`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Parse(tt.secret)
			if err == nil {
				t.Fatalf("Parse = %v, nil; want an error", s)
			}
			var ie *InvalidError
			if !errors.As(err, &ie) {
				t.Fatalf("Parse error %T %v, want *InvalidError", err, err)
			}
			if !strings.HasPrefix(ie.Reason, tt.wantReason) {
				t.Errorf("Reason = %q, want prefix %q", ie.Reason, tt.wantReason)
			}
			if ie.FailsPulls != tt.wantFailsPulls {
				t.Errorf("FailsPulls = %t, want %t", ie.FailsPulls, tt.wantFailsPulls)
			}
			if want := "pull secret ns/bad is invalid: "; !strings.HasPrefix(err.Error(), want) {
				t.Errorf("Error() = %q, want prefix %q", err.Error(), want)
			}
			assertNoSecrets(t, "Error()", err.Error())
		})
	}
	if _, err := Parse(nil); err == nil {
		t.Errorf("Parse(nil) = nil error, want one")
	}
}

func TestParseEntryProblems(t *testing.T) {
	data := `{"auths":{
		"good.example.com": {"auth":"` + b64("alice:"+alicePassword) + `"},
		"bad-b64.example.com": {"auth":"` + alicePassword + `=="},
		"no-colon.example.com": {"auth":"` + b64(alicePassword) + `"},
		"array.example.com": ["` + alicePassword + `"],
		"number.example.com": {"username":"bob","password":` + numberSecret + `},
		"token.example.com": {"identitytoken":"` + identityToken + `"},
		"pw-only.example.com": {"password":"` + bobPassword + `"},
		"null.example.com": null,
		"reg example.com": {"auth":"` + b64("alice:"+alicePassword) + `"},
		"https://": {"auth":"` + b64("alice:"+alicePassword) + `"}
	}}`
	s := mustParse(t, configJSON("mixed", data))
	wantEntries := []string{"good.example.com", "null.example.com", "pw-only.example.com", "token.example.com"}
	if got := matchKeysOfEntries(s.Entries); !slices.Equal(got, wantEntries) {
		t.Errorf("Entries = %q, want %q", got, wantEntries)
	}
	want := []string{
		`entry "array.example.com": is a JSON array, not an object`,
		`entry "bad-b64.example.com": auth is not valid base64`,
		`entry "https://": key names no registry host, so it matches no image`,
		`entry "no-colon.example.com": auth does not decode to username:password`,
		`entry "null.example.com": has no username (it is null): the kubelet tries it in its place as an empty credential, which pulls anonymously`,
		`entry "number.example.com": "password" is a JSON number, not a string`,
		`entry "pw-only.example.com": has no username (a password without a username is not sent): the kubelet tries it in its place as an empty credential, which pulls anonymously`,
		`entry "reg example.com": key is not a valid registry URL, so the kubelet ignores it`,
		`entry "token.example.com": has no username (the kubelet ignores identitytoken and registrytoken): the kubelet tries it in its place as an empty credential, which pulls anonymously`,
	}
	if !slices.Equal(s.Problems, want) {
		t.Errorf("Problems =\n%s\nwant\n%s", strings.Join(s.Problems, "\n"), strings.Join(want, "\n"))
	}
	if !s.FailsPulls {
		t.Errorf("FailsPulls = false, want true (the kubelet rejects bad base64)")
	}
	for _, p := range s.Problems {
		assertNoSecrets(t, "problem", p)
	}

	// Problems the kubelet tolerates keep FailsPulls false.
	s = mustParse(t, configJSON("soft", `{"auths":{
		"good.example.com": {"auth":"`+b64("alice:"+alicePassword)+`"},
		"token.example.com": {"identitytoken":"`+identityToken+`"}}}`))
	if s.FailsPulls || len(s.Problems) != 1 {
		t.Errorf("soft problems: FailsPulls %t, Problems %q; want false and one problem", s.FailsPulls, s.Problems)
	}

	// A bad HttpHeaders makes the kubelet reject the whole secret.
	s = mustParse(t, configJSON("headers", `{"HttpHeaders":{"X":1},"auths":{"good.example.com":{"auth":"`+b64("alice:"+alicePassword)+`"}}}`))
	if !s.FailsPulls || !slices.Equal(s.Problems, []string{`"HttpHeaders" is not an object of strings`}) {
		t.Errorf("bad HttpHeaders: FailsPulls %t, Problems %q", s.FailsPulls, s.Problems)
	}
}

func matchKeysOfEntries(es []Entry) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.Key)
	}
	return out
}

func TestNormaliseKey(t *testing.T) {
	tests := []struct{ key, want string }{
		{"reg.example.com", "reg.example.com"},
		{"https://reg.example.com", "reg.example.com"},
		{"http://reg.example.com/", "reg.example.com"},
		{"https://index.docker.io/v1/", "index.docker.io"},
		{"reg.example.com/v2/", "reg.example.com"},
		{"reg.example.com/v2/team/app", "reg.example.com/team/app"},
		{"reg.example.com/v2", "reg.example.com/v2"},
		{"reg.example.com/v3/", "reg.example.com/v3/"},
		{"reg.example.com:5000/v1/", "reg.example.com:5000"},
		{"reg.example.com?x=1", "reg.example.com"},
		{"https://user@reg.example.com/team", "reg.example.com/team"},
	}
	for _, tt := range tests {
		got, err := normaliseKey(tt.key)
		if err != nil || got != tt.want {
			t.Errorf("normaliseKey(%q) = %q, %v; want %q", tt.key, got, err, tt.want)
		}
	}
}
