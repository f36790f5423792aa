package pullsecret

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

// FuzzParse checks that Parse never panics, that its errors and problems
// are one line, and that no output holds the password or the "auth" value.
// The password is marked ("PW~…~") so that it cannot occur in our own text
// by chance. raw is also parsed as a whole .dockerconfigjson and
// .dockercfg. Seeds are in testdata/fuzz/FuzzParse.
func FuzzParse(f *testing.F) {
	f.Fuzz(func(t *testing.T, key, user, password string, raw []byte) {
		for _, typ := range []corev1.SecretType{corev1.SecretTypeDockerConfigJson, corev1.SecretTypeDockercfg} {
			dataKey := corev1.DockerConfigJsonKey
			if typ == corev1.SecretTypeDockercfg {
				dataKey = corev1.DockerConfigKey
			}
			s, err := Parse(&corev1.Secret{Type: typ, Data: map[string][]byte{dataKey: raw}})
			checkOutput(t, s, err, nil)
		}

		password = "PW~" + password + "~"
		if strings.Contains(key+user, "PW~") {
			return // the marker would show through the key or username
		}
		auth := base64.StdEncoding.EncodeToString([]byte(user + ":" + password))
		for _, entry := range []map[string]string{
			{"auth": auth},
			{"username": user, "password": password},
			{"password": password},
			{"identitytoken": password},
			{"auth": auth + "!"},
			{"auth": base64.StdEncoding.EncodeToString([]byte(password))},
		} {
			b, err := json.Marshal(map[string]any{"auths": map[string]any{key: entry}})
			if err != nil {
				t.Fatal(err)
			}
			s, err := Parse(configJSON("fz", string(b)))
			checkOutput(t, s, err, []string{password, auth, strings.TrimRight(auth, "="), base64.StdEncoding.EncodeToString([]byte(password))})
		}
	})
}

func checkOutput(t *testing.T, s *Secret, err error, secrets []string) {
	t.Helper()
	var outs []string
	if err != nil {
		if strings.Contains(err.Error(), "\n") {
			t.Fatalf("error is not one line: %q", err.Error())
		}
		outs = append(outs, err.Error(), fmt.Sprintf("%v %+v %#v", err, err, err))
	}
	if s != nil {
		for _, p := range s.Problems {
			if strings.Contains(p, "\n") {
				t.Fatalf("problem is not one line: %q", p)
			}
		}
		k := NewKeyring(Source{Secret: s})
		outs = append(outs, s.String(), s.GoString(), fmt.Sprintf("%v %+v %#v %s %q", *s, s, s, s, s), k.String(), fmt.Sprintf("%#v", k))
		for _, e := range s.Entries {
			outs = append(outs, fmt.Sprintf("%v %+v %#v", e, e, e))
		}
	}
	for _, out := range outs {
		for _, secret := range secrets {
			if secret != "" && strings.Contains(out, secret) {
				t.Fatalf("output leaks %q: %s", secret, out)
			}
		}
	}
}
