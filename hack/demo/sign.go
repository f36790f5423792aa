package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"

	"github.com/imgtrust/kubectl-imgtrust/pkg/registry"
	"github.com/imgtrust/kubectl-imgtrust/pkg/sign"
)

// cosign attest's predicate types for --type vuln and --type spdxjson.
const (
	predicateVuln = "https://cosign.sigstore.dev/attestation/vuln/v1"
	predicateSPDX = "https://spdx.dev/Document"
)

// signer writes cosign's formats in-process with pkg/sign, as `kubectl
// imgtrust sign` does, so the demo needs no cosign binary (it is a quarter
// of what a cold `make demo` would compile).
type signer struct {
	r    *registry.Resolver
	auth func(name.Digest) authn.Authenticator
}

func (d *demo) signer() (*signer, error) {
	r, err := registry.New(registry.Options{CAFile: d.s.CAFile})
	if err != nil {
		return nil, err
	}
	return &signer{r: r, auth: func(dg name.Digest) authn.Authenticator {
		if strings.HasPrefix(dg.Name(), d.s.Registry+"/") {
			return &authn.Basic{Username: d.s.RegistryUser, Password: d.s.RegistryPassword}
		}
		return authn.Anonymous
	}}, nil
}

// keyPair writes dir/prefix.key (PKCS#8, unencrypted: a throwaway demo
// key) and dir/prefix.pub, an ECDSA P-256 pair as cosign generate-key-pair
// makes, and loads the private key.
func keyPair(dir, prefix string) (*sign.Key, error) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, err
	}
	pubDER, err := x509.MarshalPKIXPublicKey(&priv.PublicKey)
	if err != nil {
		return nil, err
	}
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	path := filepath.Join(dir, prefix+".key")
	if err := os.WriteFile(path, keyPEM, 0o600); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, prefix+".pub"), pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER}), 0o644); err != nil {
		return nil, err
	}
	return sign.LoadKey(path, keyPEM, sign.Password{})
}

// sign signs ref (name@digest) with k: a sigstore bundle referrer, as
// cosign v3 signs by default, or with legacy the .sig tag.
func (s *signer) sign(ctx context.Context, k *sign.Key, ref string, legacy bool) error {
	d, err := name.NewDigest(ref)
	if err != nil {
		return err
	}
	if legacy {
		payload, err := sign.Payload(d)
		if err != nil {
			return err
		}
		sig, err := k.Sign(payload)
		if err != nil {
			return err
		}
		return asError(ref, sign.WriteLegacy(ctx, s.r, s.auth(d), d, payload, sig))
	}
	b, err := sign.Bundle(k, d)
	if err != nil {
		return err
	}
	return asError(ref, sign.WriteBundle(ctx, s.r, s.auth(d), d, b, sign.PredicateCosignSign, time.Now()))
}

// attest signs an in-toto statement of predicate (JSON) about ref with k
// into a DSSE bundle referrer, as cosign v3's attest does.
func (s *signer) attest(ctx context.Context, k *sign.Key, ref, predicateType, predicate string) error {
	d, err := name.NewDigest(ref)
	if err != nil {
		return err
	}
	if !json.Valid([]byte(predicate)) {
		return fmt.Errorf("the %s predicate for %s is not JSON", predicateType, ref)
	}
	stmt, err := sign.StatementOf(d, predicateType, json.RawMessage(predicate))
	if err != nil {
		return err
	}
	b, err := sign.BundleOf(k, stmt)
	if err != nil {
		return err
	}
	return asError(ref, sign.WriteBundle(ctx, s.r, s.auth(d), d, b, predicateType, time.Now()))
}

func asError(ref string, e *registry.Error) error {
	if e == nil {
		return nil
	}
	return fmt.Errorf("writing to %s: %s", ref, e.Message)
}
