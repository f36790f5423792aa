package signature

import (
	"encoding/asn1"
	"encoding/base64"
	"fmt"
	"math/big"
)

// Bounds of what a key could have made (see cosignSigMalformed).
const (
	// maxECDSAOrderBits: r and s are below the curve's order, at most
	// P-521's.
	maxECDSAOrderBits = 521
	// minRSASigLen and maxRSASigLen bound an RSA signature, which is as
	// long as its key's modulus: crypto/rsa refuses keys under 1024 bits,
	// and no common implementation makes keys over 16384 (OpenSSL's
	// OPENSSL_RSA_MAX_MODULUS_BITS).
	minRSASigLen = 1024 / 8
	maxRSASigLen = 16384 / 8
	// ed25519SigLen is R || S.
	ed25519SigLen = 64
)

// p1363Lens are the lengths of an ECDSA r || s (IEEE P1363, which
// sigstore's verifier also takes) for P-224, P-256, P-384 and P-521.
var p1363Lens = map[int]bool{56: true, 64: true, 96: true, 132: true}

// ed25519Order is L, the order of Ed25519's base point: a signature's S
// is below it (crypto/ed25519 refuses any other).
var ed25519Order, _ = new(big.Int).SetString("7237005577332262213973186563042994240857116359379907606001950938285454250989", 10)

// cosignSigMalformed says why the value of a legacy cosign signature's
// annotation cannot have been made by any key, or returns "" when it could
// have been. It could when it is base64 of one of:
//   - ECDSA, ASN.1 DER: a SEQUENCE of two INTEGERs r and s, nothing after
//     it, 0 < r, s < 2^521;
//   - ECDSA, IEEE P1363: r || s as long as for a supported curve, neither
//     half zero;
//   - Ed25519: 64 bytes whose S (the second half, little-endian) is below
//     the group order;
//   - RSA: 128 to 2048 bytes (a 1024- to 16384-bit modulus), not 0 or 1
//     as a number.
//
// A signature that passes may still be by a key we do not have: only
// verification says.
func cosignSigMalformed(annotation string, present bool) string {
	if !present {
		return "the signature annotation " + annotationCosignSig + " is missing"
	}
	sig, err := base64.StdEncoding.DecodeString(annotation)
	switch {
	case err != nil:
		return "the signature is not valid base64"
	case len(sig) == 0:
		return "the signature is empty"
	}
	if derECDSA(sig) || p1363ECDSA(sig) || ed25519Sig(sig) || rsaSig(sig) {
		return ""
	}
	return fmt.Sprintf("the signature (%d bytes) is not an ECDSA, RSA or Ed25519 signature encoding", len(sig))
}

// derECDSA: SEQUENCE { INTEGER r, INTEGER s } in DER, nothing after
// either integer or the sequence, as crypto/ecdsa reads it (encoding/asn1
// refuses non-minimal lengths and integers, but not extra elements, so
// each part is read on its own).
func derECDSA(sig []byte) bool {
	var seq asn1.RawValue
	rest, err := asn1.Unmarshal(sig, &seq)
	if err != nil || len(rest) != 0 || seq.Class != asn1.ClassUniversal || seq.Tag != asn1.TagSequence || !seq.IsCompound {
		return false
	}
	var r, s *big.Int
	rest, err = asn1.Unmarshal(seq.Bytes, &r)
	if err != nil {
		return false
	}
	if rest, err = asn1.Unmarshal(rest, &s); err != nil || len(rest) != 0 {
		return false
	}
	ok := func(n *big.Int) bool { return n.Sign() > 0 && n.BitLen() <= maxECDSAOrderBits }
	return ok(r) && ok(s)
}

func p1363ECDSA(sig []byte) bool {
	if !p1363Lens[len(sig)] {
		return false
	}
	half := len(sig) / 2
	return !allZero(sig[:half]) && !allZero(sig[half:])
}

func ed25519Sig(sig []byte) bool {
	if len(sig) != ed25519SigLen {
		return false
	}
	le := sig[32:]
	be := make([]byte, len(le))
	for i, b := range le {
		be[len(le)-1-i] = b
	}
	return new(big.Int).SetBytes(be).Cmp(ed25519Order) < 0
}

func rsaSig(sig []byte) bool {
	if len(sig) < minRSASigLen || len(sig) > maxRSASigLen {
		return false
	}
	return new(big.Int).SetBytes(sig).Cmp(big.NewInt(1)) > 0
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}
