package pullsecret

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
)

// forbidden lists every form of a test secret that must never be printed.
func forbidden() []string {
	var out []string
	for _, s := range []string{alicePassword, bobPassword, carolPassword, identityToken, keyPassword, numberSecret} {
		out = append(out, s, hex.EncodeToString([]byte(s)), base64.StdEncoding.EncodeToString([]byte(s)))
	}
	for _, up := range []string{"alice:" + alicePassword, "bob:" + bobPassword, "carol:" + carolPassword} {
		out = append(out, up, base64.StdEncoding.EncodeToString([]byte(up)), base64.RawStdEncoding.EncodeToString([]byte(up)))
	}
	return out
}

func assertNoSecrets(t *testing.T, what, s string) {
	t.Helper()
	for _, f := range forbidden() {
		if strings.Contains(s, f) {
			t.Errorf("%s leaks %q: %s", what, f, s)
		}
	}
}

func TestNoLeak(t *testing.T) {
	s := mustParse(t, configJSON("leaky", `{"auths":{
		"reg.example.com": {"username":"alice","password":"`+alicePassword+`","auth":"`+b64("alice:"+alicePassword)+`","email":"a@example.com"},
		"https://bob:`+keyPassword+`@team.example.com/v2/": {"auth":"`+b64("bob:"+bobPassword)+`"},
		"docker.io": {"username":"bob","password":"`+bobPassword+`","identitytoken":"`+identityToken+`"},
		"bad.example.com": {"auth":"`+alicePassword+`"},
		"num.example.com": {"username":"x","password":`+numberSecret+`}
	}}`))
	k := NewKeyring(Source{Kind: KindPodSecret, Secret: s})
	local := NewLocalConfig(&fakeKeychain{auths: map[string]authn.AuthConfig{
		"team.example.com": {Username: "carol", Password: carolPassword, IdentityToken: identityToken},
	}})
	matches, err := k.Lookup("team.example.com/app")
	if err != nil || len(matches) == 0 {
		t.Fatalf("Lookup = %v, %v", matches, err)
	}
	creds, err := k.Credentials("team.example.com/app", local)
	if err != nil || len(creds) != 2 {
		t.Fatalf("Credentials = %v, %v; want secret, local", creds, err)
	}
	_, invalid := Parse(configJSON("bad", `{"auths":{"reg.example.com":{"auth":"`+alicePassword+`"}}}`))
	if invalid == nil {
		t.Fatal("want an invalid secret")
	}

	// Unexported fields are printed by reflection without calling methods.
	type wrapper struct {
		secret Secret
		entry  Entry
		match  Match
		cred   any
		ring   *Keyring
	}
	values := map[string]any{
		"Secret":                *s,
		"*Secret":               s,
		"Entry":                 s.Entries[0],
		"*Entry":                &s.Entries[1],
		"[]Entry":               s.Entries,
		"Match":                 matches[0],
		"[]Match":               matches,
		"registry.Credential":   creds[0],
		"local Credential":      creds[1],
		"[]registry.Credential": creds,
		"Authenticator":         creds[0].Auth,
		"*Keyring":              k,
		"*LocalConfig":          local,
		"error":                 invalid,
		"wrapper":               wrapper{*s, s.Entries[0], matches[0], creds[1], k},
		"*wrapper":              &wrapper{*s, s.Entries[1], matches[0], creds[0], k},
		"Problems":              s.Problems,
	}
	verbs := []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%t", "%10.3v"}
	for name, v := range values {
		for _, verb := range verbs {
			assertNoSecrets(t, fmt.Sprintf("%s %s", name, verb), fmt.Sprintf(verb, v))
		}
		b, err := json.Marshal(v)
		if err != nil {
			t.Errorf("json.Marshal(%s): %v", name, err)
		}
		assertNoSecrets(t, name+" JSON", string(b))
	}
	assertNoSecrets(t, "Error()", invalid.Error())

	// The credentials still work.
	for _, c := range creds[:2] {
		cfg, err := c.Auth.Authorization()
		if err != nil || cfg.Password == "" {
			t.Errorf("%s: Authorization() = %v, %v; want a password", c.Source, cfg != nil, err)
		}
	}
}
