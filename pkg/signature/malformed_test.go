package signature

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/sigstore/sigstore-go/pkg/sign"
)

// sigLayer is one layer of a legacy .sig manifest, written as is.
type sigLayer struct {
	payload    []byte
	annotation *string // nil: no signature annotation at all
}

func b64(b []byte) *string { s := base64.StdEncoding.EncodeToString(b); return &s }
func str(s string) *string { return &s }

// payloadFor is cosign's simple-signing payload naming digest.
func (f *fixture) payloadFor(digest string) []byte {
	return []byte(fmt.Sprintf(`{"critical":{"identity":{"docker-reference":%q},"image":{"docker-manifest-digest":%q},"type":"cosign container image signature"},"optional":null}`, f.repo.Name(), digest))
}

// signed is a layer of payload signed with kp, as cosign writes it.
func (f *fixture) signed(kp *sign.EphemeralKeypair, payload []byte) sigLayer {
	f.t.Helper()
	sig, _, err := kp.SignData(context.Background(), payload)
	if err != nil {
		f.t.Fatal(err)
	}
	return sigLayer{payload, b64(sig)}
}

// legacyLayers writes a .sig tag with these layers.
func (f *fixture) legacyLayers(layers ...sigLayer) {
	f.t.Helper()
	var descs []v1.Descriptor
	for _, l := range layers {
		d := f.blob(l.payload, mtSimpleSigning)
		if l.annotation != nil {
			d.Annotations = map[string]string{annotationCosignSig: *l.annotation}
		}
		descs = append(descs, d)
	}
	cfg := f.blob([]byte("{}"), types.OCIConfigJSON)
	f.put(v1.Manifest{SchemaVersion: 2, MediaType: types.OCIManifestSchema1, Config: cfg, Layers: descs},
		strings.Replace(f.digest.String(), ":", "-", 1)+".sig")
}

// der is SEQUENCE { INTEGER r, INTEGER s } with r and s as given (their
// encodings, sign byte included).
func der(r, s []byte) []byte {
	in := append(append([]byte{0x02, byte(len(r))}, r...), append([]byte{0x02, byte(len(s))}, s...)...)
	return append([]byte{0x30, byte(len(in))}, in...)
}

// TestLegacyMalformedSignature: a legacy signature that no key can have
// made is invalid, with the reason, when keys are given; a well-formed one
// by a key not given stays other-key; a good signature still wins.
func TestLegacyMalformedSignature(t *testing.T) {
	kpA, pubA := keypair(t)
	kpB, pubB := keypair(t)
	random := func(n int) []byte { // deterministic, not ASN.1 (0x5a...)
		b := bytes.Repeat([]byte{0x5a, 0x17, 0xc3}, n)
		return b[:n]
	}
	tests := []struct {
		name   string
		layers func(f *fixture) []sigLayer
		keys   []string
		want   Status
		wantIn string // in the result's error (or, if not invalid, its JSON)
	}{
		{"not base64", func(f *fixture) []sigLayer {
			return []sigLayer{{f.payloadFor(f.digest.String()), str("MEUCI!!not-base64")}}
		}, []string{pubA}, StatusInvalid, "not valid base64"},
		{"empty", func(f *fixture) []sigLayer {
			return []sigLayer{{f.payloadFor(f.digest.String()), str("")}}
		}, []string{pubA}, StatusInvalid, "is empty"},
		{"annotation missing", func(f *fixture) []sigLayer {
			return []sigLayer{{f.payloadFor(f.digest.String()), nil}}
		}, []string{pubA}, StatusInvalid, "is missing"},
		{"truncated DER of a real signature", func(f *fixture) []sigLayer {
			l := f.signed(kpA, f.payloadFor(f.digest.String()))
			sig, _ := base64.StdEncoding.DecodeString(*l.annotation)
			return []sigLayer{{l.payload, b64(sig[:len(sig)-5])}}
		}, []string{pubA}, StatusInvalid, "not an ECDSA, RSA or Ed25519 signature encoding"},
		{"DER with trailing bytes", func(f *fixture) []sigLayer {
			l := f.signed(kpA, f.payloadFor(f.digest.String()))
			sig, _ := base64.StdEncoding.DecodeString(*l.annotation)
			return []sigLayer{{l.payload, b64(append(sig, 0, 0, 0))}}
		}, []string{pubB}, StatusInvalid, "not an ECDSA"},
		{"DER with r = 0", func(f *fixture) []sigLayer {
			return []sigLayer{{f.payloadFor(f.digest.String()), b64(der([]byte{0}, bytes.Repeat([]byte{0x11}, 32)))}}
		}, []string{pubA}, StatusInvalid, "not an ECDSA"},
		{"100 bytes: no algorithm's length", func(f *fixture) []sigLayer {
			return []sigLayer{{f.payloadFor(f.digest.String()), b64(random(100))}}
		}, []string{pubA}, StatusInvalid, "(100 bytes) is not an ECDSA, RSA or Ed25519"},
		{"3000 bytes: longer than any RSA key's", func(f *fixture) []sigLayer {
			return []sigLayer{{f.payloadFor(f.digest.String()), b64(random(3000))}}
		}, []string{pubA}, StatusInvalid, "(3000 bytes)"},
		{"payload not JSON, signed by another key", func(f *fixture) []sigLayer {
			return []sigLayer{f.signed(kpB, []byte("not json"))}
		}, []string{pubA}, StatusInvalid, "not a cosign simple-signing payload"},
		{"payload without a digest, signed by another key", func(f *fixture) []sigLayer {
			return []sigLayer{f.signed(kpB, []byte(`{"critical":{"image":{}}}`))}
		}, []string{pubA}, StatusInvalid, "docker-manifest-digest"},

		// Well-formed: a key we lack could have made them.
		{"well-formed ECDSA by another key", func(f *fixture) []sigLayer {
			return []sigLayer{f.signed(kpA, f.payloadFor(f.digest.String()))}
		}, []string{pubB}, StatusOtherKey, ""},
		{"64 bytes: Ed25519 or P-256 r||s", func(f *fixture) []sigLayer {
			return []sigLayer{{f.payloadFor(f.digest.String()), b64(random(64))}}
		}, []string{pubA}, StatusOtherKey, ""},
		{"256 bytes: RSA-2048", func(f *fixture) []sigLayer {
			return []sigLayer{{f.payloadFor(f.digest.String()), b64(random(256))}}
		}, []string{pubA}, StatusOtherKey, ""},
		{"well-formed DER r, s > 0, not ours", func(f *fixture) []sigLayer {
			return []sigLayer{{f.payloadFor(f.digest.String()), b64(der([]byte{0x01}, []byte{0x02}))}}
		}, []string{pubA}, StatusOtherKey, ""},

		// Several signatures.
		{"malformed next to one by our key", func(f *fixture) []sigLayer {
			return []sigLayer{{f.payloadFor(f.digest.String()), str("%%%")}, f.signed(kpA, f.payloadFor(f.digest.String()))}
		}, []string{pubA}, StatusVerified, ""},
		{"one by our key next to a malformed one", func(f *fixture) []sigLayer {
			return []sigLayer{f.signed(kpA, f.payloadFor(f.digest.String())), {f.payloadFor(f.digest.String()), b64(random(100))}}
		}, []string{pubA}, StatusVerified, ""},
		{"malformed next to another key's", func(f *fixture) []sigLayer {
			return []sigLayer{f.signed(kpB, f.payloadFor(f.digest.String())), {f.payloadFor(f.digest.String()), str("%%%")}}
		}, []string{pubA}, StatusInvalid, "not valid base64"},

		// Presence only: no key is given to be misled, as for bundles
		// and Notation envelopes that do not parse.
		{"malformed, no keys", func(f *fixture) []sigLayer {
			return []sigLayer{{f.payloadFor(f.digest.String()), str("%%%")}}
		}, nil, StatusUnverified, "not valid base64"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, true)
			f.legacyLayers(tt.layers(f)...)
			got := f.check(t, tt.keys...)
			if got.Status != tt.want {
				t.Fatalf("Status = %s, want %s (%+v)", got.Status, tt.want, got)
			}
			text := got.Error
			if got.Status != StatusInvalid {
				blob, _ := json.Marshal(got)
				text = string(blob)
			}
			if !strings.Contains(text, tt.wantIn) {
				t.Errorf("%q does not say %q", text, tt.wantIn)
			}
		})
	}
}

// TestCosignSigMalformed is the encoding rule on its own.
func TestCosignSigMalformed(t *testing.T) {
	kp, _ := keypair(t)
	ecdsaSig, _, err := kp.SignData(context.Background(), []byte("payload"))
	if err != nil {
		t.Fatal(err)
	}
	big := func(n int, b byte) []byte { return bytes.Repeat([]byte{b}, n) }
	// S = L (Ed25519's group order), little-endian: not canonical.
	sEqualsL := []byte{0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10}
	for _, tt := range []struct {
		name    string
		value   *string
		wantBad bool
	}{
		{"missing", nil, true},
		{"empty", str(""), true},
		{"not base64", str("a*b"), true},
		{"URL-safe base64 is not cosign's", str("-_-_"), true},
		{"ECDSA DER", b64(ecdsaSig), false},
		{"ECDSA DER truncated", b64(ecdsaSig[:len(ecdsaSig)-1]), true},
		{"ECDSA DER with a third integer", b64(append(append([]byte{0x30, 9}, 2, 1, 1, 2, 1, 2), 2, 1, 3)), true},
		{"ECDSA DER, non-minimal integer", b64(der([]byte{0, 1}, []byte{2})), true},
		{"ECDSA DER, negative s", b64(der([]byte{1}, []byte{0x80})), true},
		{"ECDSA DER, r longer than P-521's order", b64(der(append([]byte{0x01}, big(66, 0xff)...), []byte{1})), true},
		{"ECDSA DER, r as long as P-521's order", b64(der(append([]byte{0x01}, big(65, 0xff)...), []byte{1})), false},
		{"P-384 r||s", b64(big(96, 7)), false},
		{"P-521 r||s", b64(big(132, 7)), false},
		{"r||s with s zero", b64(append(big(48, 7), big(48, 0)...)), true},
		{"Ed25519, S < L", b64(append(big(32, 9), big(32, 0x01)...)), false},
		{"64 bytes, S = L but a P-256 r||s", b64(append(big(32, 9), sEqualsL...)), false},
		{"64 bytes, R zero, S < L: Ed25519's form", b64(append(big(32, 0), big(32, 0x01)...)), false},
		{"64 bytes, R zero, S = L: neither", b64(append(big(32, 0), sEqualsL...)), true},
		{"RSA-1024", b64(big(128, 0x42)), false},
		{"RSA-16384", b64(big(2048, 0x42)), false},
		{"RSA-sized but 1", b64(append(big(255, 0), 1)), true},
		{"127 bytes", b64(big(127, 0x42)), true},
		{"2049 bytes", b64(big(2049, 0x42)), true},
		{"one byte", b64([]byte{0x30}), true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			v := ""
			if tt.value != nil {
				v = *tt.value
			}
			got := cosignSigMalformed(v, tt.value != nil)
			if (got != "") != tt.wantBad {
				t.Errorf("cosignSigMalformed = %q, want malformed %v", got, tt.wantBad)
			}
		})
	}
}
