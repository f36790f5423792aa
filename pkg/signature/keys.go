package signature

import (
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"os"

	"github.com/sigstore/sigstore/pkg/cryptoutils"
	sigsig "github.com/sigstore/sigstore/pkg/signature"
)

// Key is a cosign public key the user trusts.
type Key struct {
	// File is the path it was read from, or the k8s://NAMESPACE/NAME
	// reference of a trust policy's key in the cluster.
	File string
	// ID is the key's fingerprint as cosign bundles hint it:
	// base64(SHA-256(PKIX DER)).
	ID       string
	public   crypto.PublicKey
	verifier sigsig.Verifier
}

// LoadKeys reads PEM public keys (cosign.pub), one per file.
func LoadKeys(files []string) ([]Key, error) {
	var keys []Key
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("--verify-key %s: %w", f, err)
		}
		k, err := LoadKeyPEM(f, b)
		if err != nil {
			return nil, fmt.Errorf("--verify-key %s: %w", f, err)
		}
		keys = append(keys, k)
	}
	return keys, nil
}

// LoadKeyPEM reads a PEM public key (a cosign.pub) that name (Key.File)
// says where it came from. Errors do not repeat name nor show the key.
func LoadKeyPEM(name string, b []byte) (Key, error) {
	pub, err := cryptoutils.UnmarshalPEMToPublicKey(b)
	if err != nil {
		return Key{}, fmt.Errorf("not a PEM public key (want the cosign.pub of `cosign generate-key-pair`): %v", err)
	}
	v, err := sigsig.LoadVerifier(pub, crypto.SHA256)
	if err != nil {
		return Key{}, err
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return Key{}, err
	}
	sum := sha256.Sum256(der)
	return Key{File: name, ID: base64.StdEncoding.EncodeToString(sum[:]), public: pub, verifier: v}, nil
}

// Cert is a Notation root or signing authority the user trusts.
type Cert struct {
	File    string
	Subject string
	cert    *x509.Certificate
}

// LoadCerts reads PEM certificates, any number per file.
func LoadCerts(files []string) ([]Cert, error) {
	var certs []Cert
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("--trust-cert %s: %w", f, err)
		}
		n := 0
		for {
			var block *pem.Block
			block, b = pem.Decode(b)
			if block == nil {
				break
			}
			if block.Type != "CERTIFICATE" {
				continue
			}
			c, err := x509.ParseCertificate(block.Bytes)
			if err != nil {
				return nil, fmt.Errorf("--trust-cert %s: %w", f, err)
			}
			certs = append(certs, Cert{File: f, Subject: c.Subject.String(), cert: c})
			n++
		}
		if n == 0 {
			return nil, fmt.Errorf("--trust-cert %s holds no PEM certificate", f)
		}
	}
	return certs, nil
}
