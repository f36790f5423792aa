package sign

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"strings"

	"github.com/secure-systems-lab/go-securesystemslib/encrypted"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	sigsig "github.com/sigstore/sigstore/pkg/signature"

	"github.com/imgtrust/kubectl-imgtrust/pkg/signature"
)

// PEM block types of cosign private keys: cosign v2+ writes the first,
// cosign before v2 the second; both are scrypt + secretbox encrypted
// PKCS#8 (go-securesystemslib's encrypted package, as cosign uses).
const (
	pemEncryptedSigstore = "ENCRYPTED SIGSTORE PRIVATE KEY"
	pemEncryptedCosign   = "ENCRYPTED COSIGN PRIVATE KEY"
)

// KeyProblem says what is wrong with a key given to sign with.
type KeyProblem string

const (
	KeyUnreadable    KeyProblem = "unreadable"
	KeyNotPEM        KeyProblem = "not-a-key"
	KeyPublic        KeyProblem = "public-key"
	KeyWrongPassword KeyProblem = "wrong-password"
	KeyNoPassword    KeyProblem = "no-password"
	KeyDamaged       KeyProblem = "damaged"
	KeyUnsupported   KeyProblem = "unsupported"
)

// KeyError is a key that cannot sign. Its message names the key's source
// and what to fix; it never holds key material or the password.
type KeyError struct {
	Source  string
	Problem KeyProblem
	Fix     string
}

func (e *KeyError) Error() string { return fmt.Sprintf("--key %s: %s", e.Source, e.Fix) }

// Password decrypts a key. Set is false when none was given at all
// (COSIGN_PASSWORD unset): the empty password is tried, as for keys made
// with COSIGN_PASSWORD= .
type Password struct {
	Value []byte
	Set   bool
	// From names where it came from, for messages: "COSIGN_PASSWORD".
	From string
}

// EnvPassword is COSIGN_PASSWORD, as cosign reads it (unset is not the
// same as empty: see Password).
func EnvPassword() Password {
	pw, set := os.LookupEnv("COSIGN_PASSWORD")
	return Password{Value: []byte(pw), Set: set, From: "COSIGN_PASSWORD"}
}

// Key is a private key to sign with and its public half.
type Key struct {
	// Source is the file or k8s://NAMESPACE/NAME the key came from.
	Source string
	// Public is the public key as pkg/signature verifies with it: the
	// check that a digest is already signed by us.
	Public signature.Key
	signer sigsig.SignerVerifier
	// priv and alg sign bundles (sigstore-go's Keypair, keypair.go).
	priv crypto.Signer
	alg  sigsig.AlgorithmDetails
}

// LoadKey reads a cosign private key (PEM) from source's bytes.
func LoadKey(source string, b []byte, pw Password) (*Key, error) {
	fail := func(p KeyProblem, fix string) (*Key, error) {
		return nil, &KeyError{Source: source, Problem: p, Fix: fix}
	}
	block, _ := pem.Decode(b)
	if block == nil {
		return fail(KeyNotPEM, "not a PEM private key; give the cosign.key that cosign generate-key-pair writes")
	}
	var priv crypto.PrivateKey
	var err error
	switch block.Type {
	case "PUBLIC KEY", "CERTIFICATE":
		return fail(KeyPublic, "is a public key (or certificate), which cannot sign; give the private key (cosign.key) and keep cosign.pub to verify")
	case pemEncryptedSigstore, pemEncryptedCosign:
		return decrypted(source, block.Bytes, pw)
	case "PRIVATE KEY", "EC PRIVATE KEY", "RSA PRIVATE KEY":
		priv, err = cryptoutils.UnmarshalPEMToPrivateKey(b, nil)
	default:
		return fail(KeyUnsupported, fmt.Sprintf("a PEM %q block is no private key this tool reads; give the cosign.key that cosign generate-key-pair writes", block.Type))
	}
	if err != nil {
		return fail(KeyDamaged, "the private key does not parse; give the cosign.key that cosign generate-key-pair writes")
	}
	return newKey(source, priv)
}

// decrypted decrypts a cosign-encrypted key with pw.
func decrypted(source string, ciphertext []byte, pw Password) (*Key, error) {
	value := pw.Value
	if value == nil {
		value = []byte{}
	}
	der, err := encrypted.Decrypt(ciphertext, value)
	switch {
	case err != nil && strings.Contains(err.Error(), "decryption failed") && !pw.Set:
		return nil, &KeyError{Source: source, Problem: KeyNoPassword, Fix: "the key is encrypted and COSIGN_PASSWORD is not set; export COSIGN_PASSWORD with the password the key was made with"}
	case err != nil && strings.Contains(err.Error(), "decryption failed"):
		return nil, &KeyError{Source: source, Problem: KeyWrongPassword, Fix: fmt.Sprintf("wrong password: the key does not decrypt with %s; set it to the password the key was made with", pw.From)}
	case err != nil:
		return nil, &KeyError{Source: source, Problem: KeyDamaged, Fix: "the encrypted key is damaged (it does not parse); generate a new key pair or restore the file"}
	}
	priv, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, &KeyError{Source: source, Problem: KeyDamaged, Fix: "the decrypted key is no PKCS#8 private key; generate a new key pair"}
	}
	return newKey(source, priv)
}

// newKey wraps priv as cosign does (SHA-256 for ECDSA and RSA).
func newKey(source string, priv crypto.PrivateKey) (*Key, error) {
	sv, err := sigsig.LoadSignerVerifier(priv, crypto.SHA256)
	if err != nil {
		return nil, &KeyError{Source: source, Problem: KeyUnsupported, Fix: "the key's algorithm is not supported; use an ECDSA, RSA or Ed25519 key (cosign generate-key-pair makes ECDSA P-256)"}
	}
	pub, err := sv.PublicKey()
	if err != nil {
		return nil, &KeyError{Source: source, Problem: KeyUnsupported, Fix: "the key has no usable public half"}
	}
	pubPEM, err := cryptoutils.MarshalPublicKeyToPEM(pub)
	if err != nil {
		return nil, &KeyError{Source: source, Problem: KeyUnsupported, Fix: "the key's public half does not encode"}
	}
	k, err := signature.LoadKeyPEM(source, pubPEM)
	if err != nil {
		return nil, &KeyError{Source: source, Problem: KeyUnsupported, Fix: "the key's public half is not one cosign verifies with"}
	}
	signer, ok := priv.(crypto.Signer)
	alg, err := sigsig.GetDefaultAlgorithmDetails(pub)
	if !ok || err != nil {
		return nil, &KeyError{Source: source, Problem: KeyUnsupported, Fix: "the key's algorithm has no sigstore bundle signing algorithm"}
	}
	return &Key{Source: source, Public: k, signer: sv, priv: signer, alg: alg}, nil
}

// Sign signs message (a payload) as cosign does: over its SHA-256.
func (k *Key) Sign(message []byte) ([]byte, error) {
	return k.signer.SignMessage(bytes.NewReader(message))
}
