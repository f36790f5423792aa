package pullsecret

import (
	"errors"
	"regexp"
	"slices"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"

	"github.com/imgtrust/kubectl-imgtrust/pkg/registry"
)

// fakeKeychain answers per registry; registries not listed are anonymous.
type fakeKeychain struct {
	auths map[string]authn.AuthConfig
	errs  map[string]error
	calls map[string]int
}

func (f *fakeKeychain) Resolve(r authn.Resource) (authn.Authenticator, error) {
	if f.calls == nil {
		f.calls = map[string]int{}
	}
	f.calls[r.RegistryStr()]++
	if err := f.errs[r.RegistryStr()]; err != nil {
		return nil, err
	}
	if cfg, ok := f.auths[r.RegistryStr()]; ok {
		return authn.FromConfig(cfg), nil
	}
	return authn.Anonymous, nil
}

func TestCredentials(t *testing.T) {
	pod := mustParse(t, secretWith("pod", map[string]any{
		"reg.example.com": authEntry("alice", alicePassword),
	}))
	sa := mustParse(t, secretWith("sa", map[string]any{
		"reg.example.com":      authEntry("alice", alicePassword), // same credential as pod's
		"reg.example.com/team": authEntry("bob", bobPassword),
	}))
	k := NewKeyring(Source{Kind: KindPodSecret, Secret: pod}, Source{Kind: KindServiceAccountSecret, Secret: sa})
	kc := &fakeKeychain{
		auths: map[string]authn.AuthConfig{
			"reg.example.com":   {Username: "carol", Password: carolPassword},
			"dup.example.com":   {Auth: b64("alice:" + alicePassword)},
			"index.docker.io":   {IdentityToken: identityToken},
			"empty.example.com": {},
		},
		errs: map[string]error{"broken.example.com": errors.New("credential helper failed")},
	}
	local := NewLocalConfig(kc)

	type cred struct{ source, user string }
	tests := []struct {
		name    string
		image   string
		local   *LocalConfig
		want    []cred
		wantErr bool
	}{
		// Once a credential matched, the kubelet never falls back to anonymous.
		{"secrets, deduped, then local, no anonymous", "reg.example.com/team/app:1", local, []cred{
			{"service-account-secret ns/sa", "bob"},
			{"pod-secret ns/pod", "alice"},
			{"local-docker-config", "carol"},
		}, false},
		{"without local", "reg.example.com/app", nil, []cred{
			{"pod-secret ns/pod", "alice"},
		}, false},
		{"local anonymous is skipped", "quay.io/app", local, []cred{{"anonymous", ""}}, false},
		{"local empty config is skipped", "empty.example.com/app", local, []cred{{"anonymous", ""}}, false},
		{"local token for docker hub", "nginx", local, []cred{{"local-docker-config", ""}}, false},
		{"local error keeps the rest", "broken.example.com/app", local, []cred{{"anonymous", ""}}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			creds, err := k.Credentials(tt.image, tt.local)
			if (err != nil) != tt.wantErr {
				t.Fatalf("Credentials(%q) error = %v, want error %t", tt.image, err, tt.wantErr)
			}
			var got []cred
			for _, c := range creds {
				cfg, aerr := c.Auth.Authorization()
				if aerr != nil {
					t.Fatal(aerr)
				}
				got = append(got, cred{c.Source, cfg.Username})
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("Credentials(%q) = %v, want %v", tt.image, got, tt.want)
			}
			if i := slices.Index(creds, registry.Anonymous); i > 0 {
				t.Errorf("Credentials(%q) = %v: anonymous after a matched credential, which the kubelet never tries", tt.image, creds)
			}
		})
	}

	// The local credential equal to a secret's is deduped.
	dupKeyring := NewKeyring(Source{Secret: mustParse(t, secretWith("d", map[string]any{"dup.example.com": authEntry("alice", alicePassword)}))})
	creds, err := dupKeyring.Credentials("dup.example.com/app", local)
	if err != nil {
		t.Fatal(err)
	}
	if len(creds) != 1 || creds[0].Source != "pod-secret ns/d" {
		t.Errorf("dedupe with local: got %v, want the pod secret alone", creds)
	}

	// The keychain is asked once per registry.
	for range 3 {
		_, _ = k.Credentials("reg.example.com/other", local)
	}
	if n := kc.calls["reg.example.com"]; n != 1 {
		t.Errorf("keychain resolved reg.example.com %d times, want 1", n)
	}
	reg, _ := name.NewRegistry("reg.example.com")
	if c, ok, err := (*LocalConfig)(nil).Credential(reg); ok || err != nil || c.Source != "" {
		t.Errorf("nil LocalConfig: %v %t %v", c, ok, err)
	}
}

func TestCredentialID(t *testing.T) {
	byAuth := mustParse(t, configJSON("a", `{"auths":{"a.example.com":{"auth":"`+b64("alice:"+alicePassword)+`"}}}`)).Entries[0]
	byFields := mustParse(t, configJSON("b", `{"auths":{"b.example.com":{"username":"alice","password":"`+alicePassword+`"}}}`)).Entries[0]
	other := mustParse(t, configJSON("c", `{"auths":{"a.example.com":{"username":"alice","password":"`+bobPassword+`"}}}`)).Entries[0]
	swapped := mustParse(t, configJSON("d", `{"auths":{"a.example.com":{"username":"alice`+alicePassword+`","password":""}}}`)).Entries[0]

	hex16 := regexp.MustCompile(`^[0-9a-f]{16}$`)
	for _, e := range []Entry{byAuth, byFields, other, swapped} {
		if !hex16.MatchString(e.ID) {
			t.Errorf("ID %q is not 16 hex digits", e.ID)
		}
	}
	if byAuth.ID != byFields.ID {
		t.Errorf("same credential spelled as auth and as fields: IDs %s and %s differ", byAuth.ID, byFields.ID)
	}
	if byAuth.ID == other.ID {
		t.Errorf("different passwords share ID %s", byAuth.ID)
	}
	if byAuth.ID == swapped.ID {
		t.Errorf("user+password moved between fields shares ID %s", byAuth.ID)
	}
	if got := credentialID(authn.AuthConfig{Auth: b64("alice:" + alicePassword)}); got != byAuth.ID {
		t.Errorf("local auth-only config ID %s, want %s", got, byAuth.ID)
	}
}
