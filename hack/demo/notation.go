package main

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/notaryproject/notation-core-go/signature/jws"
	"github.com/notaryproject/notation-core-go/testhelper"
	"github.com/notaryproject/notation-go"
	notationregistry "github.com/notaryproject/notation-go/registry"
	notationsigner "github.com/notaryproject/notation-go/signer"
	"oras.land/oras-go/v2/registry/remote"
	"oras.land/oras-go/v2/registry/remote/auth"
)

// notationSign signs ref (name@digest) as `notation cert generate-test
// imgtrust` then `notation sign` do, in-process with notation-go (which the
// plugin verifies with): an RSA-2048 key and a self-signed certificate
// made by notation's own helper, and a JWS signature stored as a referrer.
// It returns the certificate's path, what --trust-cert takes.
func (d *demo) notationSign(ctx context.Context, dir, ref string) (string, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return "", err
	}
	cert := testhelper.GetRSASelfSignedCertTupleWithPK(key, "imgtrust").Cert
	certPath := filepath.Join(dir, "notation-ca.pem")
	if err := os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}), 0o644); err != nil {
		return "", err
	}
	sg, err := notationsigner.NewGenericSigner(key, []*x509.Certificate{cert})
	if err != nil {
		return "", err
	}
	repo, err := remote.NewRepository(ref)
	if err != nil {
		return "", err
	}
	t, err := d.s.Transport()
	if err != nil {
		return "", err
	}
	client := &auth.Client{Client: &http.Client{Transport: t}}
	if strings.HasPrefix(ref, d.s.Registry+"/") {
		client.Credential = auth.StaticCredential(d.s.Registry, auth.Credential{Username: d.s.RegistryUser, Password: d.s.RegistryPassword})
	}
	repo.Client = client
	opts := notation.SignOptions{ArtifactReference: ref,
		SignerSignOptions: notation.SignerSignOptions{SignatureMediaType: jws.MediaTypeEnvelope}}
	if _, err := notation.Sign(ctx, sg, notationregistry.NewRepository(repo), opts); err != nil {
		return "", fmt.Errorf("notation signing %s: %w", ref, err)
	}
	return certPath, nil
}
