package sign

import (
	"context"
	"crypto"
	"crypto/rand"

	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	sigsig "github.com/sigstore/sigstore/pkg/signature"
)

// keypair is a Key as sigstore-go's sign.Keypair: it signs bundles with
// the user's key instead of an ephemeral one, as cosign sign --key does.
type keypair struct{ k *Key }

func (p keypair) GetHashAlgorithm() protocommon.HashAlgorithm { return p.k.alg.GetProtoHashType() }

func (p keypair) GetSigningAlgorithm() protocommon.PublicKeyDetails {
	return p.k.alg.GetSignatureAlgorithm()
}

// GetHint is the key's fingerprint, base64(SHA-256(PKIX DER)): what
// verifiers (pkg/signature, cosign) match keys by.
func (p keypair) GetHint() []byte { return []byte(p.k.Public.ID) }

func (p keypair) GetKeyAlgorithm() string {
	switch p.k.alg.GetKeyType() {
	case sigsig.ECDSA:
		return "ECDSA"
	case sigsig.RSA:
		return "RSA"
	case sigsig.ED25519:
		return "ED25519"
	}
	return ""
}

func (p keypair) GetPublicKey() crypto.PublicKey { return p.k.priv.Public() }

func (p keypair) GetPublicKeyPem() (string, error) {
	b, err := cryptoutils.MarshalPublicKeyToPEM(p.k.priv.Public())
	return string(b), err
}

// SignData signs data's digest (data itself for pure Ed25519), as
// sigstore-go's EphemeralKeypair does, and returns what was signed.
func (p keypair) SignData(_ context.Context, data []byte) ([]byte, []byte, error) {
	h := p.k.alg.GetHashType()
	signed := data
	if h != crypto.Hash(0) {
		hasher := h.New()
		hasher.Write(data)
		signed = hasher.Sum(nil)
	}
	sig, err := p.k.priv.Sign(rand.Reader, signed, h)
	return sig, signed, err
}
