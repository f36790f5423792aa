package pullsecret

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"

	"github.com/imgtrust/kubectl-imgtrust/pkg/registry"
)

// An entry without a username is the kubelet's empty credential: kept, in
// its place, sending nothing, and able to shadow a later match.
func TestEmptyEntries(t *testing.T) {
	for _, body := range []string{`{}`, `null`, `{"identitytoken":"` + identityToken + `"}`, `{"password":"` + bobPassword + `"}`, `{"auth":"` + b64(":"+alicePassword) + `"}`} {
		t.Run(body, func(t *testing.T) {
			s := mustParse(t, configJSON("e", `{"auths":{
				"reg.example.com/team": `+body+`,
				"reg.example.com": {"auth":"`+b64("alice:"+alicePassword)+`"}}}`))
			if len(s.Entries) != 2 || !s.Entries[1].Empty || s.Entries[1].Username != "" || s.Entries[1].ID != registry.Anonymous.ID {
				t.Fatalf("Entries = %v, want the team entry kept as empty", s.Entries)
			}
			if s.FailsPulls || len(s.Problems) != 1 || !strings.Contains(s.Problems[0], "empty credential") {
				t.Errorf("Problems = %q, FailsPulls %t; want one problem naming the empty credential", s.Problems, s.FailsPulls)
			}
			k := NewKeyring(Source{Secret: s})
			ms, err := k.Lookup("reg.example.com/team/app")
			if err != nil {
				t.Fatal(err)
			}
			if got := matchKeys(ms); !slices.Equal(got, []string{"reg.example.com/team", "reg.example.com"}) || !ms[0].Empty || ms[1].Empty {
				t.Errorf("Lookup = %v, want the empty team entry first, then alice", ms)
			}
			if ms[0].Credential.Auth != authn.Anonymous {
				t.Errorf("empty match sends %v, want authn.Anonymous", ms[0].Credential.Auth)
			}
			creds, err := k.Credentials("reg.example.com/team/app", nil)
			if err != nil {
				t.Fatal(err)
			}
			// The empty credential is the anonymous attempt, in its place.
			if len(creds) != 2 || creds[0].Source != "pod-secret ns/e" || creds[0].ID != registry.Anonymous.ID || creds[1].ID == registry.Anonymous.ID {
				t.Errorf("Credentials = %v, want the empty one then alice, no anonymous after", creds)
			}
			for _, out := range []string{s.String(), ms[0].String(), s.Entries[1].GoString()} {
				assertNoSecrets(t, "output", out)
			}
		})
	}

	// A secret of empty entries only is usable: the kubelet uses it.
	s := mustParse(t, configJSON("only", `{"auths":{"reg.example.com":{}}}`))
	if len(s.Entries) != 1 || !s.Entries[0].Empty {
		t.Errorf("Entries = %v, want one empty entry", s.Entries)
	}
}

// Keys without a host are invalid entries, reported without the password.
func TestNoHostKeys(t *testing.T) {
	for _, key := range []string{":5000", "://", "https://:5000/v2/", "", "https://", "http:///v2/"} {
		t.Run(key, func(t *testing.T) {
			data := `{"auths":{"` + key + `":{"username":"alice","password":"` + alicePassword + `"},
				"good.example.com":{"auth":"` + b64("bob:"+bobPassword) + `"}}}`
			s := mustParse(t, configJSON("h", data))
			if got := matchKeysOfEntries(s.Entries); !slices.Equal(got, []string{"good.example.com"}) {
				t.Errorf("Entries = %q, want only good.example.com", got)
			}
			want := []string{`entry "` + key + `": key names no registry host, so it matches no image`}
			if !slices.Equal(s.Problems, want) {
				t.Errorf("Problems = %q, want %q", s.Problems, want)
			}
			_, err := Parse(configJSON("h", `{"auths":{"`+key+`":{"auth":"`+b64("alice:"+alicePassword)+`"}}}`))
			var ie *InvalidError
			if !errors.As(err, &ie) || ie.FailsPulls || !strings.Contains(ie.Reason, "names no registry host") {
				t.Errorf("only a hostless key: Parse error %v, want an invalid secret naming the missing host", err)
			}
			if err != nil {
				assertNoSecrets(t, "error", err.Error())
			}
		})
	}
}
