package signature

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"math/big"
	"net/url"
	"testing"
	"time"
)

// A legacy keyless .sig names who signed it, though this version does
// not verify it: the verdict then says whose signature it met.
func TestLegacyCertificateNamesItsSigner(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	san, _ := url.Parse("https://github.com/acme/app/.github/workflows/release.yaml@refs/heads/main")
	issuer, _ := asn1.Marshal("https://token.actions.githubusercontent.com")
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{}, URIs: []*url.URL{san},
		NotBefore: time.Now().Add(-time.Minute), NotAfter: time.Now().Add(time.Hour),
		ExtKeyUsage:     []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning},
		ExtraExtensions: []pkix.Extension{{Id: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 8}, Value: issuer}},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	pemText := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	for _, tt := range []struct {
		annotations map[string]string
		want        string
		ok          bool
	}{
		{map[string]string{annotationCosignCert: pemText}, san.String() + " (https://token.actions.githubusercontent.com)", true},
		{map[string]string{annotationCosignCert: "not a certificate"}, "a certificate", true},
		{map[string]string{}, "", false},
	} {
		if got, ok := legacyCertificate(tt.annotations); got != tt.want || ok != tt.ok {
			t.Errorf("legacyCertificate() = %q, %v; want %q, %v", got, ok, tt.want, tt.ok)
		}
	}
}
