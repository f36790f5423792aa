package pullsecret

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/imgtrust/kubectl-imgtrust/pkg/registry"
)

// Test secrets. None of these may ever appear in output (see leak_test.go).
const (
	alicePassword = "hunter2-alice-PW"
	bobPassword   = "s3cr3t-bob-PW"
	carolPassword = "c4r0l-local-PW"
	identityToken = "tok-identity-XYZ"
	keyPassword   = "keypass-in-url"
	numberSecret  = "987654321"
)

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// configJSON builds a kubernetes.io/dockerconfigjson secret from raw data.
func configJSON(name, data string) *corev1.Secret {
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name},
		Type:       corev1.SecretTypeDockerConfigJson,
		Data:       map[string][]byte{corev1.DockerConfigJsonKey: []byte(data)},
	}
}

// authEntry is a well-formed entry as `kubectl create secret docker-registry` writes it.
func authEntry(user, password string) map[string]string {
	return map[string]string{"username": user, "password": password, "auth": b64(user + ":" + password)}
}

// secretWith builds a dockerconfigjson secret from key → entry.
func secretWith(name string, auths map[string]any) *corev1.Secret {
	b, err := json.Marshal(map[string]any{"auths": auths})
	if err != nil {
		panic(err)
	}
	return configJSON(name, string(b))
}

func mustParse(t testing.TB, s *corev1.Secret) *Secret {
	t.Helper()
	p, err := Parse(s)
	if err != nil {
		t.Fatalf("Parse(%s) error: %v", s.Name, err)
	}
	return p
}

// keyringOf builds a one-secret keyring where the entry for keys[i] has
// username "u<i>".
func keyringOf(t testing.TB, keys ...string) *Keyring {
	t.Helper()
	auths := map[string]any{}
	for i, k := range keys {
		auths[k] = authEntry(fmt.Sprintf("u%d", i), alicePassword)
	}
	return NewKeyring(Source{Secret: mustParse(t, secretWith("s", auths))})
}

func matchKeys(ms []Match) []string {
	out := []string{}
	for _, m := range ms {
		out = append(out, m.Key)
	}
	return out
}

func refs(names []string) []corev1.LocalObjectReference {
	var out []corev1.LocalObjectReference
	for _, n := range names {
		out = append(out, corev1.LocalObjectReference{Name: n})
	}
	return out
}

// withoutAnonymousFallback drops the registry.Anonymous that Credentials
// appends after matched credentials, which the kubelet does not try.
func withoutAnonymousFallback(creds []registry.Credential) []registry.Credential {
	if n := len(creds); n > 0 && creds[n-1] == registry.Anonymous {
		return creds[:n-1]
	}
	return creds
}
