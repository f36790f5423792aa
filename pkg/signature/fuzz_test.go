package signature

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/asn1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/secure-systems-lab/go-securesystemslib/dsse"
	"github.com/sigstore/sigstore-go/pkg/testing/ca"
	"github.com/sigstore/sigstore/pkg/cryptoutils"

	"github.com/imgtrust/kubectl-imgtrust/pkg/trustpolicy"
)

const fuzzDigest = "sha256:0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0"

// FuzzSimpleSigning checks parseSimpleSigning on the payload a legacy
// cosign signature signs. On any bytes: a payload it says names a digest
// is JSON, and the digest is a well-formed one found among the document's
// strings. On cosign's payload built around the argument: it names it
// exactly when the argument is a digest, and gives it back unchanged.
func FuzzSimpleSigning(f *testing.F) {
	cosign := func(d string) string {
		b, _ := json.Marshal(d)
		return fmt.Sprintf(`{"critical":{"identity":{"docker-reference":"reg.example.com/app"},"image":{"docker-manifest-digest":%s},"type":"cosign container image signature"},"optional":null}`, b)
	}
	for _, s := range [][2]string{
		{cosign(fuzzDigest), fuzzDigest},
		{`{"critical":{"identity":{"docker-reference":"r"},"image":{"docker-manifest-digest":"sha256:abc"},"type":"cosign container image signature"},"optional":{"creator":"x"}}`, "sha512:" + strings.Repeat("ab", 64)},
		{`{"critical":{"image":{}}}`, ""},
		{`{"CRITICAL":{"IMAGE":{"Docker-Manifest-Digest":"` + fuzzDigest + `"}}}`, "sha256:" + strings.Repeat("A", 64)},
		{`{"critical":{"image":{"docker-manifest-digest":"sha256:\u0030f1e"}}}`, "sha256:"},
		{`{"critical":{"image":{"docker-manifest-digest":7}}}`, "md5:00"},
		{`{"critical":null}`, "sha256:" + strings.Repeat("0", 63)},
		{`not json`, "latest"},
		{`[]`, fuzzDigest + "\n"},
	} {
		f.Add([]byte(s[0]), s[1])
	}
	f.Fuzz(func(t *testing.T, payload []byte, digest string) {
		p, named := parseSimpleSigning(payload)
		if named {
			d := p.Critical.Image.DockerManifestDigest
			if _, err := v1.NewHash(d); err != nil || !json.Valid(payload) {
				t.Fatalf("parseSimpleSigning(%q) names %q: %v, JSON %v", payload, d, err, json.Valid(payload))
			}
			var doc any
			_ = json.Unmarshal(payload, &doc)
			strs := map[string]bool{}
			collectStrings(doc, strs)
			if !strs[d] {
				t.Fatalf("parseSimpleSigning(%q) names %q, which is no string of the payload", payload, d)
			}
		}

		if !utf8.ValidString(digest) {
			return
		}
		built := cosign(digest)
		_, isDigest := v1.NewHash(digest)
		p, named = parseSimpleSigning([]byte(built))
		if named != (isDigest == nil) || (named && p.Critical.Image.DockerManifestDigest != digest) {
			t.Fatalf("parseSimpleSigning(%s) = %q, %v; digest %q is a digest: %v", built, p.Critical.Image.DockerManifestDigest, named, digest, isDigest == nil)
		}
	})
}

// FuzzCosignSigMalformed checks the rule that tells a legacy signature no
// key can have made. Never malformed: what a P-256 key or an Ed25519 key
// verifies (as crypto/ecdsa and crypto/ed25519 do, and r || s as sigstore
// does), and DER of r, s in 1..2^521-1. What it reads as DER is the one
// DER encoding of its r and s. Always malformed: what is not
// base64, is empty, or is DER of r or s out of that range, or of three
// integers, or with a byte more or less, with nothing else to read it as. Any other bytes are malformed exactly when they are
// neither DER (leading SEQUENCE) nor of an Ed25519, P1363 or RSA length.
func FuzzCosignSigMalformed(f *testing.F) {
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		f.Fatal(err)
	}
	edPub, edKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		f.Fatal(err)
	}
	msg := []byte("payload")
	hash := sha256.Sum256(msg)
	ecSig, _ := ecdsa.SignASN1(rand.Reader, ecKey, hash[:])
	r, s, _ := ecdsa.Sign(rand.Reader, ecKey, hash[:])
	p1363 := append(r.FillBytes(make([]byte, 32)), s.FillBytes(make([]byte, 32))...)
	edSig := ed25519.Sign(edKey, msg)
	for _, seed := range []struct {
		annotation string
		sig, r, s  []byte
	}{
		{base64.StdEncoding.EncodeToString(ecSig), ecSig, r.Bytes(), s.Bytes()},
		{base64.StdEncoding.EncodeToString(p1363), p1363, []byte{1}, []byte{0}},
		{base64.StdEncoding.EncodeToString(edSig), edSig, nil, []byte{1}},
		{"MEUCIQ==", ecSig[:len(ecSig)-3], []byte{0x80}, []byte{1}},
		{"not base64!", []byte{0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01, 0x00}, make([]byte, 67), []byte{2}},
		{"", make([]byte, 256), []byte{1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, []byte{3}},
		{"-_8=", []byte("random bytes, not a signature"), []byte{0xff}, []byte{0xff}},
		{"MAkCAQECAQECAQE=", []byte{0x30, 0x09, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01}, []byte{0, 1}, []byte{7}},
	} {
		f.Add(seed.annotation, seed.sig, seed.r, seed.s)
	}
	f.Fuzz(func(t *testing.T, annotation string, sig, rb, sb []byte) {
		// Any annotation.
		reason := cosignSigMalformed(annotation, true)
		decoded, err := base64.StdEncoding.DecodeString(annotation)
		if (err != nil || len(decoded) == 0) && reason == "" {
			t.Fatalf("%q: not base64 or empty, yet not malformed", annotation)
		}
		if reason != "" && strings.ContainsAny(reason, "\n\r") {
			t.Fatalf("reason %q is not one line", reason)
		}

		// Any signature bytes.
		got := cosignSigMalformed(base64.StdEncoding.EncodeToString(sig), true)
		if len(sig) > 0 && (ecdsa.VerifyASN1(&ecKey.PublicKey, hash[:], sig) || verifiesP1363(&ecKey.PublicKey, hash[:], sig) || ed25519.Verify(edPub, msg, sig)) && got != "" {
			t.Fatalf("%x verifies, yet %q", sig, got)
		}
		if derECDSA(sig) {
			// DER is canonical: read as r and s, it is their only encoding.
			var rs struct{ R, S *big.Int }
			if _, err := asn1.Unmarshal(sig, &rs); err != nil {
				t.Fatalf("%x read as ECDSA DER, but encoding/asn1 refuses it: %v", sig, err)
			}
			again, _ := asn1.Marshal(rs)
			if string(again) != string(sig) || rs.R.Sign() <= 0 || rs.S.Sign() <= 0 {
				t.Fatalf("%x read as ECDSA DER, but r=%v s=%v encode as %x", sig, rs.R, rs.S, again)
			}
		}
		n := len(sig)
		lengthFits := n == 56 || n == 64 || n == 96 || n == 132 || (n >= 128 && n <= 2048)
		if got == "" && !lengthFits && (n == 0 || sig[0] != 0x30) {
			t.Fatalf("%x (%d bytes): neither DER nor of a signature's length, yet not malformed", sig, n)
		}

		// DER of the integers given (a leading 0x80 bit makes them negative).
		ri, si := signedInt(rb), signedInt(sb)
		der, err := asn1.Marshal(struct{ R, S *big.Int }{ri, si})
		if err != nil {
			t.Fatal(err)
		}
		inRange := func(n *big.Int) bool { return n.Sign() > 0 && n.BitLen() <= 521 }
		if want := inRange(ri) && inRange(si); derECDSA(der) != want {
			t.Fatalf("DER of r=%v s=%v: read as ECDSA %v, want %v", ri, si, derECDSA(der), want)
		}
		if derECDSA(append(der, 0)) || derECDSA(der[:len(der)-1]) {
			t.Fatalf("DER of r=%v s=%v with a byte more or less read as ECDSA", ri, si)
		}
		if three, _ := asn1.Marshal(struct{ R, S, T *big.Int }{ri, si, si}); derECDSA(three) {
			t.Fatalf("DER of r=%v s=%v and a third integer read as ECDSA", ri, si)
		}
		if m := cosignSigMalformed(base64.StdEncoding.EncodeToString(der), true); (m == "") != (derECDSA(der) || p1363ECDSA(der) || ed25519Sig(der) || rsaSig(der)) {
			t.Fatalf("DER of r=%v s=%v: %q", ri, si, m)
		}
	})
}

// verifiesP1363 is sigstore's reading of an r || s ECDSA signature.
func verifiesP1363(pub *ecdsa.PublicKey, hash, sig []byte) bool {
	if len(sig) == 0 || len(sig) > 132 || len(sig)%2 != 0 {
		return false
	}
	return ecdsa.Verify(pub, hash, new(big.Int).SetBytes(sig[:len(sig)/2]), new(big.Int).SetBytes(sig[len(sig)/2:]))
}

// signedInt reads b as a two's-complement big-endian integer.
func signedInt(b []byte) *big.Int {
	n := new(big.Int).SetBytes(b)
	if len(b) > 0 && b[0]&0x80 != 0 {
		n.Sub(n, new(big.Int).Lsh(big.NewInt(1), uint(8*len(b))))
	}
	return n
}

// FuzzCheckEnvelope checks checkEnvelope on the DSSE envelopes of legacy
// cosign attestations. On any bytes: it says verified only when the
// envelope parses, its payload decodes to a statement with the digest
// among its subjects, and a signature of it verifies with the key over
// DSSE's PAE (checked here with crypto/ecdsa); a problem is never
// verified; the statement it keeps is the payload. On an envelope built
// and signed from the arguments: verified exactly when the subject is the
// digest (in any case) and the payload was not changed after signing.
func FuzzCheckEnvelope(f *testing.F) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		f.Fatal(err)
	}
	pem, err := cryptoutils.MarshalPublicKeyToPEM(key.Public())
	if err != nil {
		f.Fatal(err)
	}
	file := filepath.Join(f.TempDir(), "cosign.pub")
	if err := os.WriteFile(file, pem, 0o600); err != nil {
		f.Fatal(err)
	}
	keys, err := LoadKeys([]string{file})
	if err != nil {
		f.Fatal(err)
	}
	c, err := New(Options{Keys: keys})
	if err != nil {
		f.Fatal(err)
	}
	h, _ := v1.NewHash(fuzzDigest)

	envelope := func(payloadType string, payload []byte, tamper bool) []byte {
		hash := sha256.Sum256(dsse.PAE(payloadType, payload))
		sig, _ := ecdsa.SignASN1(rand.Reader, key, hash[:])
		if tamper {
			payload = append(payload, ' ')
		}
		b, _ := json.Marshal(dsse.Envelope{PayloadType: payloadType, Payload: base64.StdEncoding.EncodeToString(payload),
			Signatures: []dsse.Signature{{KeyID: "", Sig: base64.StdEncoding.EncodeToString(sig)}}})
		return b
	}
	statement := func(subjectHex, predicate string) []byte {
		b, _ := json.Marshal(map[string]any{"_type": "https://in-toto.io/Statement/v1", "predicateType": "https://slsa.dev/provenance/v1",
			"subject": []any{map[string]any{"name": "reg.example.com/app", "digest": map[string]string{"sha256": subjectHex}}}, "predicate": map[string]any{"x": predicate}})
		return b
	}
	for _, s := range []struct {
		raw       []byte
		subject   string
		predicate string
		tamper    bool
	}{
		{envelope("application/vnd.in-toto+json", statement(h.Hex, ""), false), h.Hex, "", false},
		{envelope("application/vnd.in-toto+json", statement(strings.ToUpper(h.Hex), "p"), false), strings.ToUpper(h.Hex), "p", true},
		{envelope("application/vnd.in-toto+json", statement(strings.Repeat("0", 64), ""), false), strings.Repeat("0", 64), "x", false},
		{envelope("application/vnd.in-toto+json", statement(h.Hex, ""), true), "", "", false},
		{[]byte(`{"payloadType":"application/vnd.in-toto+json","payload":"not base64!","signatures":[{"sig":"MEUCIQ=="}]}`), "00", "", false},
		{[]byte(`{"payload":"e30=","signatures":[]}`), "", "", false},
		{[]byte(`not json`), h.Hex, "", false},
	} {
		f.Add(s.raw, s.subject, s.predicate, s.tamper)
	}
	f.Fuzz(func(t *testing.T, raw []byte, subject, predicate string, tamper bool) {
		var a Attestation
		c.checkEnvelope(&a, raw, h)
		if a.Verified && a.Problem != "" {
			t.Fatalf("verified with a problem: %+v", a)
		}
		allowed := false
		var env dsse.Envelope
		if json.Unmarshal(raw, &env) == nil {
			if payload, err := env.DecodeB64Payload(); err == nil {
				if a.Statement != nil && string(a.Statement) != string(payload) {
					t.Fatalf("statement %q, payload %q", a.Statement, payload)
				}
				hash := sha256.Sum256(dsse.PAE(env.PayloadType, payload))
				for _, s := range env.Signatures {
					if sig, err := base64.StdEncoding.DecodeString(s.Sig); err == nil && (ecdsa.VerifyASN1(&key.PublicKey, hash[:], sig) || verifiesP1363(&key.PublicKey, hash[:], sig)) {
						allowed = namesDigestOracle(payload, h)
					}
				}
			}
		}
		if a.Verified && !allowed {
			t.Fatalf("checkEnvelope(%q): verified, but no signature verifies or no subject is the digest (%+v)", raw, a)
		}

		if !utf8.ValidString(subject) || !utf8.ValidString(predicate) {
			return
		}
		a = Attestation{}
		c.checkEnvelope(&a, envelope("application/vnd.in-toto+json", statement(subject, predicate), tamper), h)
		if want := strings.EqualFold(subject, h.Hex) && !tamper; a.Verified != want {
			t.Fatalf("subject %q, tampered %v: verified %v, want %v (%+v)", subject, tamper, a.Verified, want, a)
		}
	})
}

// namesDigestOracle: under some spelling of "subject" (encoding/json
// matches field names without case), some subject has under some spelling
// of "digest" a map whose h.Algorithm entry is h's hex in any case.
func namesDigestOracle(statement []byte, h v1.Hash) bool {
	var st map[string]json.RawMessage
	if json.Unmarshal(statement, &st) != nil {
		return false
	}
	for k, subjects := range st {
		var list []map[string]json.RawMessage
		if !strings.EqualFold(k, "subject") || json.Unmarshal(subjects, &list) != nil {
			continue
		}
		for _, s := range list {
			for k, v := range s {
				var d map[string]any
				if strings.EqualFold(k, "digest") && json.Unmarshal(v, &d) == nil {
					if hex, ok := d[h.Algorithm].(string); ok && strings.EqualFold(hex, h.Hex) {
						return true
					}
				}
			}
		}
	}
	return false
}

// collectStrings gathers every string value and key of a decoded document.
func collectStrings(v any, into map[string]bool) {
	switch v := v.(type) {
	case string:
		into[v] = true
	case []any:
		for _, e := range v {
			collectStrings(e, into)
		}
	case map[string]any:
		for k, e := range v {
			into[k] = true
			collectStrings(e, into)
		}
	}
}

// fuzzKeylessChecker is a VirtualSigstore and a Checker trusting it for
// identity A (no SCT: its leaves carry none).
func fuzzKeylessChecker(f *testing.F) (*ca.VirtualSigstore, *Checker) {
	vs := virtualSigstore(f)
	c, err := New(Options{Keyless: &Keyless{Material: vs, IgnoreSCT: true,
		Identities: []trustpolicy.Identity{{Issuer: issuer, Subject: idA}}}})
	if err != nil {
		f.Fatal(err)
	}
	return vs, c
}

// FuzzKeylessBundle checks the keyless path on a bundle's bytes:
// parseBundle, the certificate's identity (bundleCertificate) and
// keylessVerifier.check against a VirtualSigstore that trusts identity
// idA. On any bytes: nothing panics; a bundle sigstore-go accepts without
// a chain is accepted with one allowed; the identity named is one
// printable line; a verified bundle has no problem, and its statement
// names the digest and its certificate is idA's from the trusted issuer.
// Seeds: bundles made at fuzz time (their certificates live for minutes)
// and broken ones.
func FuzzKeylessBundle(f *testing.F) {
	vs, c := fuzzKeylessChecker(f)
	h, _ := v1.NewHash(fuzzDigest)
	want, _ := hex.DecodeString(h.Hex)
	for i, o := range []keylessOpts{{}, {chain: true}, {noTlog: true}, {tamper: true}} {
		raw := keylessBundle(f, vs, idA, "reg.example.com/app", h.Hex, o)
		if i < 2 { // the oracle below must see verified bundles
			b, err := parseBundle(raw, true)
			fd := found{}
			if err == nil {
				c.keyless.check(&fd, b, want)
			}
			if !fd.Verified {
				f.Fatalf("seed %+v does not verify: %v %+v", o, err, fd)
			}
		}
		f.Add(raw)
	}
	f.Add(keylessBundle(f, vs, idB, "reg.example.com/app", h.Hex, keylessOpts{}))
	f.Add(keylessBundle(f, virtualSigstore(f), idA, "reg.example.com/app", h.Hex, keylessOpts{}))
	f.Add([]byte(`{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","verificationMaterial":{"certificate":{"rawBytes":"MIIB"}},"dsseEnvelope":{"payload":"e30=","payloadType":"application/vnd.in-toto+json","signatures":[{"sig":"MEUCIQ=="}]}}`))
	f.Add([]byte(`{}`))
	f.Add([]byte(`not json`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		b, err := parseBundle(raw, true)
		if _, strict := parseBundle(raw, false); strict == nil && err != nil {
			t.Fatalf("accepted without a chain allowed, refused with: %v", err)
		}
		if err != nil {
			return
		}
		signedBy, ok := bundleCertificate(b)
		if !ok {
			return
		}
		if signedBy == "" || strings.ContainsFunc(signedBy, func(r rune) bool { return !unicode.IsPrint(r) }) {
			t.Fatalf("signer %q is not one printable line", signedBy)
		}
		fd := found{Artifact: Artifact{SignedBy: signedBy}}
		c.keyless.check(&fd, b, want)
		if fd.Verified != (len(fd.verified) == 1) || (fd.Verified && (!fd.claims || fd.Problem != "")) {
			t.Fatalf("inconsistent outcome %+v", fd)
		}
		if !fd.claims && fd.Problem != "" {
			t.Fatalf("a problem %q without a claim", fd.Problem)
		}
		if !fd.Verified {
			return
		}
		env, err := b.Envelope()
		if err != nil {
			t.Fatalf("verified without an envelope: %v", err)
		}
		payload, err := env.DecodeB64Payload()
		if err != nil || !namesDigestOracle(payload, h) {
			t.Fatalf("verified a statement %q that does not name %s", payload, h)
		}
		if s := fd.verified[0]; s.Subject != idA || s.Issuer != issuer || s.Kind != "keyless" {
			t.Fatalf("verified as %+v", s)
		}
	})
}
