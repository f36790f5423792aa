package sign

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"strings"
	"testing"

	"github.com/sigstore/sigstore/pkg/cryptoutils"
)

// keyPair makes a key pair as cosign generate-key-pair does (sigstore's
// cryptoutils: ECDSA P-256, ENCRYPTED SIGSTORE PRIVATE KEY).
func keyPair(t *testing.T, password string) (priv, pub []byte) {
	t.Helper()
	priv, pub, err := cryptoutils.GeneratePEMEncodedECDSAKeyPair(elliptic.P256(), cryptoutils.StaticPasswordFunc([]byte(password)))
	if err != nil {
		t.Fatal(err)
	}
	return priv, pub
}

func TestLoadKey(t *testing.T) {
	priv, pub := keyPair(t, "s3cret")
	empty, _ := keyPair(t, "")
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	plain, err := cryptoutils.MarshalPrivateKeyToPEM(ec)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		pem  []byte
		pw   Password
		want KeyProblem // "" loads
	}{
		{"encrypted, right password", priv, Password{Value: []byte("s3cret"), Set: true}, ""},
		{"encrypted, wrong password", priv, Password{Value: []byte("nope"), Set: true, From: "COSIGN_PASSWORD"}, KeyWrongPassword},
		{"encrypted, no password set", priv, Password{}, KeyNoPassword},
		{"made with COSIGN_PASSWORD= , none set", empty, Password{}, ""},
		{"made with COSIGN_PASSWORD= , empty set", empty, Password{Value: []byte{}, Set: true}, ""},
		{"public key given", pub, Password{}, KeyPublic},
		{"not PEM", []byte("hello"), Password{}, KeyNotPEM},
		{"unencrypted PKCS#8", plain, Password{}, ""},
		{"damaged", []byte("-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n"), Password{Set: true}, KeyDamaged},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k, err := LoadKey("cosign.key", tc.pem, tc.pw)
			if tc.want == "" {
				if err != nil || k == nil || k.Public.ID == "" {
					t.Fatalf("LoadKey: %v, want a key", err)
				}
				return
			}
			var ke *KeyError
			if !errors.As(err, &ke) || ke.Problem != tc.want {
				t.Fatalf("LoadKey: %v, want a KeyError %s", err, tc.want)
			}
			msg := err.Error()
			if strings.Contains(msg, "\n") || !strings.HasPrefix(msg, "--key cosign.key: ") {
				t.Errorf("message %q: want one line naming the key", msg)
			}
			for _, secret := range []string{"s3cret", "nope", "BEGIN", "AAAA"} {
				if strings.Contains(msg, secret) {
					t.Errorf("message %q shows %q", msg, secret)
				}
			}
		})
	}
}

// The public half of a loaded key is the cosign.pub of the pair.
func TestLoadKeyPublicHalf(t *testing.T) {
	priv, pub := keyPair(t, "pw")
	k, err := LoadKey("cosign.key", priv, Password{Value: []byte("pw"), Set: true})
	if err != nil {
		t.Fatal(err)
	}
	want, err := cryptoutils.UnmarshalPEMToPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	got, err := cryptoutils.UnmarshalPEMToPublicKey(mustPEM(t, k))
	if err != nil {
		t.Fatal(err)
	}
	if err := cryptoutils.EqualKeys(got, want); err != nil {
		t.Errorf("public half: %v", err)
	}
}

func mustPEM(t *testing.T, k *Key) []byte {
	t.Helper()
	pub, err := k.signer.PublicKey()
	if err != nil {
		t.Fatal(err)
	}
	b, err := cryptoutils.MarshalPublicKeyToPEM(pub)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
