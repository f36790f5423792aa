package signature

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/notaryproject/notation-go"
	"github.com/notaryproject/notation-go/signer"
	godigest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/imgtrust/kubectl-imgtrust/pkg/registry"
)

// notationCert is a self-signed code-signing certificate, as `notation
// cert generate-test` makes, and its PEM file.
func notationCert(t *testing.T, cn string) (*ecdsa.PrivateKey, *x509.Certificate, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn, Organization: []string{"imgtrust"}, Country: []string{"US"}, Province: []string{"WA"}, Locality: []string{"Seattle"}},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning},
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	p := filepath.Join(t.TempDir(), cn+".pem")
	if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return key, cert, p
}

// notation attaches a Notation signature of the fixture's image (or of
// the descriptor given) as a referrer.
func (f *fixture) notation(key *ecdsa.PrivateKey, cert *x509.Certificate, mediaType string, of v1.Descriptor) {
	f.t.Helper()
	s, err := signer.NewGenericSigner(key, []*x509.Certificate{cert})
	if err != nil {
		f.t.Fatal(err)
	}
	desc := ocispec.Descriptor{MediaType: string(of.MediaType), Digest: godigest.Digest(of.Digest.String()), Size: of.Size}
	env, _, err := s.Sign(f.t.Context(), desc, notation.SignerSignOptions{SignatureMediaType: mediaType})
	if err != nil {
		f.t.Fatal(err)
	}
	layer := f.blob(env, types.MediaType(mediaType))
	cfg := f.blob([]byte("{}"), mtOCIEmpty)
	subject := f.desc
	f.reg.PutReferrer(f.t, f.repo, v1.Manifest{SchemaVersion: 2, MediaType: types.OCIManifestSchema1, ArtifactType: mtNotationSignature, Config: cfg, Layers: []v1.Descriptor{layer}, Subject: &subject})
}

func TestNotation(t *testing.T) {
	keyA, certA, pemA := notationCert(t, "signer-a")
	_, _, pemB := notationCert(t, "signer-b")
	for _, api := range []bool{true, false} {
		for _, mt := range []string{"application/jose+json", "application/cose"} {
			t.Run(mt, func(t *testing.T) {
				tests := []struct {
					name  string
					certs []string
					other bool // sign another descriptor than the image's
					want  Status
				}{
					{"trusted", []string{pemA}, false, StatusVerified},
					{"another CA", []string{pemB}, false, StatusOtherKey},
					{"presence only", nil, false, StatusUnverified},
					{"signs another artifact", []string{pemA}, true, StatusInvalid},
				}
				for _, tt := range tests {
					t.Run(tt.name, func(t *testing.T) {
						f := newFixture(t, api)
						of := f.desc
						if tt.other {
							of.Size++ // the size must match too
						}
						f.notation(keyA, certA, mt, of)
						certs, err := LoadCerts(tt.certs)
						if err != nil {
							t.Fatal(err)
						}
						c, err := New(Options{Certs: certs})
						if err != nil {
							t.Fatal(err)
						}
						r, err := registry.New(registry.Options{Insecure: []string{f.repo.RegistryStr()}})
						if err != nil {
							t.Fatal(err)
						}
						got := c.Check(t.Context(), r.Artifacts(registry.Anonymous), f.repo, f.digest.String())
						if got.Status != tt.want {
							t.Fatalf("Status = %s, want %s (%+v)", got.Status, tt.want, got)
						}
						if len(got.Artifacts) != 1 || got.Artifacts[0].Format != FormatNotation || !strings.Contains(got.Artifacts[0].SignedBy, "signer-a") {
							t.Errorf("artifacts %+v, want one Notation signature by signer-a", got.Artifacts)
						}
					})
				}
			})
		}
	}
}
