package signature

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/url"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/testing/ca"
	"github.com/sigstore/sigstore-go/pkg/tlog"
)

// A legacy keyless .sig names who signed it, unverified: without keyless
// identities the verdict then says whose signature it met.
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

// legacyKeylessOpts vary the layer legacyKeylessLayer makes.
type legacyKeylessOpts struct {
	noBundle  bool // no dev.sigstore.cosign/bundle (signed with --tlog-upload=false)
	noChain   bool // no dev.sigstore.cosign/chain
	tamperSET bool // a SET that Rekor's key did not make
}

// legacyKeylessLayer signs payload as identity with vs's in-memory Fulcio
// and Rekor and returns the annotations of the legacy .sig layer as cosign
// (before bundles) writes them: the signature, the leaf, the chain
// (intermediate and root, PEM) and the Rekor bundle, whose JSON field
// names are cosign's bundle.RekorBundle's.
func legacyKeylessLayer(t testing.TB, vs *ca.VirtualSigstore, identity string, payload []byte, o legacyKeylessOpts) map[string]string {
	t.Helper()
	e, err := vs.Sign(identity, issuer, payload)
	if err != nil {
		t.Fatal(err)
	}
	sc, err := e.SignatureContent()
	if err != nil {
		t.Fatal(err)
	}
	a := legacyCertAnnotations(t, vs, e, o)
	a[annotationCosignSig] = base64.StdEncoding.EncodeToString(sc.MessageSignatureContent().Signature())
	return a
}

// legacyCertAnnotations are the annotations cosign (before bundles) writes
// beside a keyless signature or attestation made as e: the leaf, the
// chain and the Rekor bundle.
func legacyCertAnnotations(t testing.TB, vs *ca.VirtualSigstore, e *ca.TestEntity, o legacyKeylessOpts) map[string]string {
	t.Helper()
	vc, err := e.VerificationContent()
	if err != nil {
		t.Fatal(err)
	}
	certPEM := func(c *x509.Certificate) string {
		return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw}))
	}
	a := map[string]string{annotationCosignCert: certPEM(vc.Certificate())}
	if !o.noChain {
		fca := vs.FulcioCertificateAuthorities()[0].(*root.FulcioCertificateAuthority)
		a[annotationCosignChain] = certPEM(fca.Intermediates[0]) + certPEM(fca.Root)
	}
	if !o.noBundle {
		entries, err := e.TlogEntries()
		if err != nil || len(entries) != 1 {
			t.Fatalf("tlog entries %v, %v", entries, err)
		}
		tle := entries[0].TransparencyLogEntry()
		rp := tlog.RekorPayload{
			Body:           base64.StdEncoding.EncodeToString(tle.CanonicalizedBody),
			IntegratedTime: tle.IntegratedTime,
			LogIndex:       tle.LogIndex,
			LogID:          hex.EncodeToString(tle.LogId.KeyId),
		}
		set, err := vs.RekorSignPayload(rp)
		if err != nil {
			t.Fatal(err)
		}
		if o.tamperSET {
			rp2 := rp
			rp2.IntegratedTime++ // Rekor's signature over another time
			if set, err = vs.RekorSignPayload(rp2); err != nil {
				t.Fatal(err)
			}
		}
		js, err := json.Marshal(map[string]any{"SignedEntryTimestamp": set, "Payload": rp})
		if err != nil {
			t.Fatal(err)
		}
		a[annotationCosignBundle] = string(js)
	}
	return a
}

// legacyAnnotated writes a .sig tag with one layer, payload, annotated.
func (f *fixture) legacyAnnotated(payload []byte, annotations map[string]string) {
	f.t.Helper()
	f.legacyTag(payload, mtSimpleSigning, annotations, ".sig")
}

// legacyTag writes the cosign tag with suffix (.sig, .att) of the digest:
// one layer of type mt, annotated.
func (f *fixture) legacyTag(layer []byte, mt types.MediaType, annotations map[string]string, suffix string) {
	f.t.Helper()
	d := f.blob(layer, mt)
	d.Annotations = annotations
	cfg := f.blob([]byte("{}"), types.OCIConfigJSON)
	f.put(v1.Manifest{SchemaVersion: 2, MediaType: types.OCIManifestSchema1, Config: cfg, Layers: []v1.Descriptor{d}},
		strings.Replace(f.digest.String(), ":", "-", 1)+suffix)
}

// TestLegacyKeyless: legacy keyless .sig signatures (certificate, chain
// and Rekor bundle in the layer's annotations) go through Check as audit
// checks them, verified keyless by sigstore-go as the v0.1 bundle they
// amount to.
func TestLegacyKeyless(t *testing.T) {
	w := newKeylessWorld(t)
	vs, other, keys, A, B, keyless, private := w.vs, w.other, w.keys, w.A, w.B, w.keyless, w.private()
	signed := func(vs *ca.VirtualSigstore, o legacyKeylessOpts) func(f *fixture) {
		return func(f *fixture) {
			p := f.payloadFor(f.digest.String())
			f.legacyAnnotated(p, legacyKeylessLayer(t, vs, idA, p, o))
		}
	}
	wantA := []Signer{{Kind: "keyless", Subject: idA, Issuer: issuer}}
	whoA := idA + " (" + issuer + ")"
	tests := []keylessCase{
		{"identity A: verified, the SET and the chain as cosign writes them", signed(vs, legacyKeylessOpts{}), Options{Keyless: keyless(A)},
			StatusVerified, wantA, `"signedBy":"` + whoA + `"`},
		{"no chain annotation: verified", signed(vs, legacyKeylessOpts{noChain: true}), Options{Keyless: keyless(B, A)},
			StatusVerified, wantA, ""},
		{"only identity B: other-key, A named", signed(vs, legacyKeylessOpts{}), Options{Keyless: keyless(B)},
			StatusOtherKey, nil, `"signedBy":"` + whoA + `"`},
		{"another CA and log: invalid", signed(other, legacyKeylessOpts{}), Options{Keyless: keyless(A)},
			StatusInvalid, nil, "signed by " + whoA + " but does not verify"},
		{"another CA, no log required: invalid, the chain named", signed(other, legacyKeylessOpts{noBundle: true}), Options{Keyless: private},
			StatusInvalid, nil, "failed to verify leaf certificate"},
		{"payload naming another digest: invalid", func(f *fixture) {
			p := f.payloadFor("sha256:" + strings.Repeat("0", 64))
			f.legacyAnnotated(p, legacyKeylessLayer(t, vs, idA, p, legacyKeylessOpts{}))
		}, Options{Keyless: keyless(A)}, StatusInvalid, nil, "for digest"},
		{"payload changed after signing: invalid", func(f *fixture) {
			p := f.payloadFor(f.digest.String())
			a := legacyKeylessLayer(t, vs, idA, p, legacyKeylessOpts{})
			f.legacyAnnotated(bytes.Replace(p, []byte(`"optional":null`), []byte(`"optional":{"x":"1"}`), 1), a)
		}, Options{Keyless: keyless(A)}, StatusInvalid, nil, "does not verify"},
		{"payload changed after signing, no log: invalid, the signature fails", func(f *fixture) {
			p := f.payloadFor(f.digest.String())
			a := legacyKeylessLayer(t, vs, idA, p, legacyKeylessOpts{noBundle: true})
			f.legacyAnnotated(bytes.Replace(p, []byte(`"optional":null`), []byte(`"optional":{"x":"1"}`), 1), a)
		}, Options{Keyless: private}, StatusInvalid, nil, "failed to verify signature"},
		{"SET tampered: invalid", signed(vs, legacyKeylessOpts{tamperSET: true}), Options{Keyless: keyless(A)},
			StatusInvalid, nil, "failed to verify log inclusion"},
		{"no bundle annotation, log required: invalid, ignoreTlog named", signed(vs, legacyKeylessOpts{noBundle: true}), Options{Keyless: keyless(A)},
			StatusInvalid, nil, "no transparency-log entry (no dev.sigstore.cosign/bundle annotation), so nothing proves its certificate was valid when it signed: for a private PKI the rule may set ignoreTlog"},
		{"no bundle annotation, IgnoreTlog: verified at the current time", signed(vs, legacyKeylessOpts{noBundle: true}), Options{Keyless: private},
			StatusVerified, wantA, ""},
		{"certificate annotation not PEM: invalid", func(f *fixture) {
			p := f.payloadFor(f.digest.String())
			a := legacyKeylessLayer(t, vs, idA, p, legacyKeylessOpts{})
			a[annotationCosignCert] = "not a certificate"
			f.legacyAnnotated(p, a)
		}, Options{Keyless: keyless(A)}, StatusInvalid, nil, "is not one PEM certificate"},
		{"bundle annotation not JSON: invalid", func(f *fixture) {
			p := f.payloadFor(f.digest.String())
			a := legacyKeylessLayer(t, vs, idA, p, legacyKeylessOpts{})
			a[annotationCosignBundle] = "{"
			f.legacyAnnotated(p, a)
		}, Options{Keyless: keyless(A)}, StatusInvalid, nil, "not cosign's Rekor bundle JSON"},
		{"no keyless configured, a key: other-key, A named", signed(vs, legacyKeylessOpts{}), Options{Keys: keys},
			StatusOtherKey, nil, whoA + ", a legacy keyless .sig signature"},
		{"no keyless configured, no keys: unverified", signed(vs, legacyKeylessOpts{}), Options{},
			StatusUnverified, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.run(t, true) })
	}
}

// FuzzLegacyKeyless: whatever a legacy .sig layer's payload and
// annotations, legacyKeyless's outcome is consistent and one line, and it
// verifies only a payload naming the digest, signed by identity A.
func FuzzLegacyKeyless(f *testing.F) {
	vs, c := fuzzKeylessChecker(f)
	h, _ := v1.NewHash(fuzzDigest)
	payload := []byte(fmt.Sprintf(`{"critical":{"identity":{"docker-reference":"reg.example.com/app"},"image":{"docker-manifest-digest":%q},"type":"cosign container image signature"},"optional":null}`, h))
	add := func(identity string, p []byte, o legacyKeylessOpts, mustVerify bool) {
		a := legacyKeylessLayer(f, vs, identity, p, o)
		if mustVerify {
			fd := found{}
			sig, _ := base64.StdEncoding.DecodeString(a[annotationCosignSig])
			c.keyless.legacyKeyless(&fd, a, sig, p, h)
			if !fd.Verified {
				f.Fatalf("seed %+v does not verify: %+v", o, fd)
			}
		}
		f.Add(p, a[annotationCosignSig], a[annotationCosignCert], a[annotationCosignChain], a[annotationCosignBundle])
	}
	add(idA, payload, legacyKeylessOpts{}, true)
	add(idA, payload, legacyKeylessOpts{noChain: true}, true)
	add(idB, payload, legacyKeylessOpts{}, false)
	add(idA, payload, legacyKeylessOpts{tamperSET: true}, false)
	add(idA, []byte(`{"critical":{"image":{"docker-manifest-digest":"sha256:00"}}}`), legacyKeylessOpts{}, false)
	f.Add([]byte("not json"), "MEUCIQ==", "not a certificate", "", `{"SignedEntryTimestamp":"AA==","Payload":{"body":"e30=","integratedTime":1,"logIndex":0,"logID":"00"}}`)
	f.Fuzz(func(t *testing.T, p []byte, sigB64, cert, chain, rekor string) {
		a := map[string]string{annotationCosignCert: cert}
		if chain != "" {
			a[annotationCosignChain] = chain
		}
		if rekor != "" {
			a[annotationCosignBundle] = rekor
		}
		sig, err := base64.StdEncoding.DecodeString(sigB64)
		if err != nil {
			return // cosignSigMalformed refuses it before
		}
		fd := found{}
		c.keyless.legacyKeyless(&fd, a, sig, p, h)
		if fd.Verified != (len(fd.verified) == 1) || (fd.Verified && (!fd.claims || fd.Problem != "")) {
			t.Fatalf("inconsistent outcome %+v", fd)
		}
		if !fd.claims && fd.Problem != "" {
			t.Fatalf("a problem %q without a claim", fd.Problem)
		}
		if strings.ContainsAny(fd.Problem+fd.SignedBy, "\n\r") {
			t.Fatalf("not one line: %q, %q", fd.Problem, fd.SignedBy)
		}
		if !fd.Verified {
			return
		}
		if parsed, named := parseSimpleSigning(p); !named || parsed.Critical.Image.DockerManifestDigest != h.String() {
			t.Fatalf("verified a payload %q that does not name %s", p, h)
		}
		if s := fd.verified[0]; s.Subject != idA || s.Issuer != issuer || s.Kind != "keyless" {
			t.Fatalf("verified as %+v", s)
		}
	})
}
