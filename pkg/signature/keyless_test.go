package signature

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	protodsse "github.com/sigstore/protobuf-specs/gen/pb-go/dsse"
	protorekor "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"
	sgbundle "github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/sign"
	"github.com/sigstore/sigstore-go/pkg/testing/ca"
	"github.com/sigstore/sigstore-go/pkg/tlog"

	"github.com/imgtrust/kubectl-imgtrust/pkg/trustpolicy"
)

// Identities of the tests' keyless signers. VirtualSigstore's leaves carry
// an e-mail SAN and the v1 issuer extension (1.3.6.1.4.1.57264.1.1).
const (
	idA    = "alice@ci.example"
	idB    = "bob@ci.example"
	issuer = "https://issuer.example"
)

// keylessOpts vary the bundle keylessBundle makes.
type keylessOpts struct {
	noTlog bool // no transparency-log entry nor RFC 3161 timestamp (private PKI)
	chain  bool // the leaf and Fulcio's intermediate as an X.509 chain (cosign sign --certificate-chain)
	tamper bool // change the statement after signing
	// predicate is the statement's predicate type (default cosign's
	// signing predicate: an image signature).
	predicate string
}

// keylessBundle signs an in-toto statement (o.predicate, cosign sign/v1
// by default) over subjectHex as identity, with vs's in-memory Fulcio,
// Rekor and TSA, and returns it as the v0.3 bundle JSON cosign v3 pushes.
// Three things VirtualSigstore's entity lacks are added: the log entry's
// kind and version, its inclusion promise (the SET, signed again by vs's
// Rekor key) and the bundle itself. Its certificates are valid for
// minutes: make them at test time.
func keylessBundle(t testing.TB, vs *ca.VirtualSigstore, identity, repoName, subjectHex string, o keylessOpts) []byte {
	t.Helper()
	if o.predicate == "" {
		o.predicate = predicateCosignSignV1
	}
	stmt := fmt.Sprintf(`{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":%q,"digest":{"sha256":%q}}],"predicateType":%q,"predicate":{}}`, repoName, subjectHex, o.predicate)
	e, err := vs.AttestAtTime(identity, issuer, []byte(stmt), time.Now().Add(5*time.Minute), true)
	if err != nil {
		t.Fatal(err)
	}
	vc, err := e.VerificationContent()
	if err != nil {
		t.Fatal(err)
	}
	sc, err := e.SignatureContent()
	if err != nil {
		t.Fatal(err)
	}
	env := sc.EnvelopeContent().RawEnvelope()
	payload, err := base64.StdEncoding.DecodeString(env.Payload)
	if err != nil {
		t.Fatal(err)
	}
	if o.tamper {
		payload = bytes.Replace(payload, []byte(`"predicate":{}`), []byte(`"predicate":{"x":1}`), 1)
	}
	penv := &protodsse.Envelope{Payload: payload, PayloadType: env.PayloadType}
	for _, s := range env.Signatures {
		sig, err := base64.StdEncoding.DecodeString(s.Sig)
		if err != nil {
			t.Fatal(err)
		}
		penv.Signatures = append(penv.Signatures, &protodsse.Signature{Sig: sig, Keyid: s.KeyID})
	}

	vm := &protobundle.VerificationMaterial{}
	leaf := &protocommon.X509Certificate{RawBytes: vc.Certificate().Raw}
	if o.chain {
		inter := vs.FulcioCertificateAuthorities()[0].(*root.FulcioCertificateAuthority).Intermediates[0]
		vm.Content = &protobundle.VerificationMaterial_X509CertificateChain{X509CertificateChain: &protocommon.X509CertificateChain{
			Certificates: []*protocommon.X509Certificate{leaf, {RawBytes: inter.Raw}}}}
	} else {
		vm.Content = &protobundle.VerificationMaterial_Certificate{Certificate: leaf}
	}
	if !o.noTlog {
		entries, err := e.TlogEntries()
		if err != nil {
			t.Fatal(err)
		}
		for _, entry := range entries {
			vm.TlogEntries = append(vm.TlogEntries, protoEntry(t, vs, entry))
		}
		tss, err := e.Timestamps()
		if err != nil {
			t.Fatal(err)
		}
		vm.TimestampVerificationData = &protobundle.TimestampVerificationData{}
		for _, ts := range tss {
			vm.TimestampVerificationData.Rfc3161Timestamps = append(vm.TimestampVerificationData.Rfc3161Timestamps, &protocommon.RFC3161SignedTimestamp{SignedTimestamp: ts})
		}
	}
	pb := &protobundle.Bundle{
		MediaType:            "application/vnd.dev.sigstore.bundle.v0.3+json",
		VerificationMaterial: vm,
		Content:              &protobundle.Bundle_DsseEnvelope{DsseEnvelope: penv},
	}
	raw, err := (&sgbundle.Bundle{Bundle: pb}).MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// protoEntry is a log entry as a bundle carries it, with the kind and
// version of its body and the SET.
func protoEntry(t testing.TB, vs *ca.VirtualSigstore, entry *tlog.Entry) *protorekor.TransparencyLogEntry {
	t.Helper()
	tle := entry.TransparencyLogEntry()
	var body struct {
		Kind       string `json:"kind"`
		APIVersion string `json:"apiVersion"`
	}
	if err := json.Unmarshal(tle.CanonicalizedBody, &body); err != nil {
		t.Fatal(err)
	}
	tle.KindVersion = &protorekor.KindVersion{Kind: body.Kind, Version: body.APIVersion}
	set, err := vs.RekorSignPayload(tlog.RekorPayload{
		Body:           base64.StdEncoding.EncodeToString(tle.CanonicalizedBody),
		IntegratedTime: tle.IntegratedTime,
		LogIndex:       tle.LogIndex,
		LogID:          hex.EncodeToString(tle.LogId.KeyId),
	})
	if err != nil {
		t.Fatal(err)
	}
	tle.InclusionPromise = &protorekor.InclusionPromise{SignedEntryTimestamp: set}
	return tle
}

func virtualSigstore(t testing.TB) *ca.VirtualSigstore {
	t.Helper()
	vs, err := ca.NewVirtualSigstore()
	if err != nil {
		t.Fatal(err)
	}
	return vs
}

// keylessCase is a signature written to a fixture and checked with opts:
// the status, a string the result's JSON mentions, who verified it.
type keylessCase struct {
	name       string
	setup      func(f *fixture)
	opts       Options
	want       Status
	wantSigner []Signer
	wantIn     string // in the result's JSON
}

func (tt keylessCase) run(t *testing.T, referrersAPI bool) {
	f := newFixture(t, referrersAPI)
	tt.setup(f)
	got := f.checkWith(t, tt.opts)
	if got.Status != tt.want {
		t.Fatalf("Status = %s, want %s (%+v)", got.Status, tt.want, got)
	}
	blob, _ := json.Marshal(got)
	if !strings.Contains(string(blob), tt.wantIn) {
		t.Errorf("result %s does not mention %q", blob, tt.wantIn)
	}
	if fmt.Sprint(got.VerifiedBy) != fmt.Sprint(tt.wantSigner) {
		t.Errorf("VerifiedBy = %+v, want %+v", got.VerifiedBy, tt.wantSigner)
	}
	if strings.ContainsAny(got.Error, "\n\r") {
		t.Errorf("Error %q is not one line", got.Error)
	}
}

// keylessWorld is what the keyless tests share: a trusted VirtualSigstore
// (vs) and another (other), a key (kp, its file pub, keys), identities A
// and B of the trusted issuer.
type keylessWorld struct {
	vs, other *ca.VirtualSigstore
	kp        *sign.EphemeralKeypair
	pub       string
	keys      []Key
	A, B      trustpolicy.Identity
}

func newKeylessWorld(t *testing.T) keylessWorld {
	t.Helper()
	w := keylessWorld{vs: virtualSigstore(t), other: virtualSigstore(t),
		A: trustpolicy.Identity{Issuer: issuer, Subject: idA}, B: trustpolicy.Identity{Issuer: issuer, Subject: idB}}
	w.kp, w.pub = keypair(t)
	var err error
	if w.keys, err = LoadKeys([]string{w.pub}); err != nil {
		t.Fatal(err)
	}
	return w
}

// keyless trusts vs for ids. VirtualSigstore's leaves carry no SCT:
// IgnoreSCT unless the SCT is what a case is about.
func (w keylessWorld) keyless(ids ...trustpolicy.Identity) *Keyless {
	return &Keyless{Material: w.vs, Identities: ids, IgnoreSCT: true}
}

// private trusts vs for A as a private PKI: no log, no SCT.
func (w keylessWorld) private() *Keyless {
	return &Keyless{Material: w.vs, Identities: []trustpolicy.Identity{w.A}, IgnoreTlog: true, IgnoreSCT: true}
}

// TestKeyless goes through the registry: each bundle is a referrer (the
// API and the fallback tag), checked as audit checks it.
func TestKeyless(t *testing.T) {
	w := newKeylessWorld(t)
	vs, other, kp, pub, keys, A, B, keyless := w.vs, w.other, w.kp, w.pub, w.keys, w.A, w.B, w.keyless
	signedA := func(o keylessOpts) func(f *fixture) {
		return func(f *fixture) {
			f.rawBundle(keylessBundle(t, vs, idA, f.repo.Name(), f.digest.Hex, o), predicateCosignSignV1)
		}
	}
	wantA := []Signer{{Kind: "keyless", Subject: idA, Issuer: issuer}}
	tests := []keylessCase{
		{"identity A configured: verified", signedA(keylessOpts{}), Options{Keyless: keyless(A)},
			StatusVerified, wantA, idA + " (" + issuer + ")"},
		{"A among other identities: verified", signedA(keylessOpts{}), Options{Keyless: keyless(B, A)},
			StatusVerified, wantA, ""},
		{"only identity B: signed by another identity, named", signedA(keylessOpts{}), Options{Keyless: keyless(B)},
			StatusOtherKey, nil, `"signedBy":"` + idA + " (" + issuer + `)"`},
		{"subject and issuer regexps matching A: verified", signedA(keylessOpts{}),
			Options{Keyless: keyless(trustpolicy.Identity{IssuerRegExp: `^https://issuer\.example$`, SubjectRegExp: `^alice@`})},
			StatusVerified, wantA, ""},
		{"right subject, another issuer: other identity", signedA(keylessOpts{}),
			Options{Keyless: keyless(trustpolicy.Identity{Issuer: "https://accounts.google.com", Subject: idA})},
			StatusOtherKey, nil, idA},
		{"another CA and log: invalid with the reason", func(f *fixture) {
			f.rawBundle(keylessBundle(t, other, idA, f.repo.Name(), f.digest.Hex, keylessOpts{}), predicateCosignSignV1)
		}, Options{Keyless: keyless(A)}, StatusInvalid, nil, "does not verify: failed to verify log inclusion"},
		{"another CA, no log required: invalid, the chain named", func(f *fixture) {
			f.rawBundle(keylessBundle(t, other, idA, f.repo.Name(), f.digest.Hex, keylessOpts{noTlog: true}), predicateCosignSignV1)
		}, Options{Keyless: w.private()},
			StatusInvalid, nil, "failed to verify leaf certificate"},
		{"statement changed after signing: invalid, the log disagrees", signedA(keylessOpts{tamper: true}), Options{Keyless: keyless(A)},
			StatusInvalid, nil, "does not match envelope payload hash"},
		{"statement changed after signing, no log: invalid, the signature fails", signedA(keylessOpts{tamper: true, noTlog: true}),
			Options{Keyless: w.private()},
			StatusInvalid, nil, "failed to verify signature"},
		{"signed for another digest: invalid", func(f *fixture) {
			f.rawBundle(keylessBundle(t, vs, idA, f.repo.Name(), strings.Repeat("0", 64), keylessOpts{}), predicateCosignSignV1)
		}, Options{Keyless: keyless(A)}, StatusInvalid, nil, "another digest"},
		{"SCT required, the leaf has none: invalid", signedA(keylessOpts{}),
			Options{Keyless: &Keyless{Material: vs, Identities: []trustpolicy.Identity{A}}},
			StatusInvalid, nil, "signed certificate timestamp"},
		{"no log entry, log required: invalid", signedA(keylessOpts{noTlog: true}), Options{Keyless: keyless(A)},
			StatusInvalid, nil, "does not verify"},
		{"no log entry, IgnoreTlog: verified at the current time", signedA(keylessOpts{noTlog: true}),
			Options{Keyless: w.private()},
			StatusVerified, wantA, ""},
		{"v0.3 certificate chain (private CA): verified", signedA(keylessOpts{chain: true}), Options{Keyless: keyless(A)},
			StatusVerified, wantA, ""},
		{"v0.3 chain, no keyless configured, a key: refused unparsed as before", signedA(keylessOpts{chain: true}), Options{Keys: keys},
			StatusInvalid, nil, "the bundle does not parse"},
		{"no keyless configured, no keys: unverified, the identity named", signedA(keylessOpts{}), Options{},
			StatusUnverified, nil, idA + " (" + issuer + ")"},
		{"no keyless configured, a key: other-key as before", signedA(keylessOpts{}), Options{Keys: keys},
			StatusOtherKey, nil, ""},
		{"keyed bundle, Keyless and the key: verified by the key", func(f *fixture) { f.bundle(kp, f.digest.Hex, predicateCosignSignV1) },
			Options{Keys: keys, Keyless: keyless(A)}, StatusVerified, []Signer{{Kind: "key", KeyID: keys[0].ID, File: pub}}, ""},
		{"keyed bundle, Keyless only: other-key", func(f *fixture) { f.bundle(kp, f.digest.Hex, predicateCosignSignV1) },
			Options{Keyless: keyless(A)}, StatusOtherKey, nil, ""},
		{"unsigned with Keyless: unsigned", func(f *fixture) {}, Options{Keyless: keyless(A)}, StatusUnsigned, nil, ""},
	}
	for _, api := range []bool{true, false} {
		for _, tt := range tests {
			t.Run(fmt.Sprintf("api=%v/%s", api, tt.name), func(t *testing.T) { tt.run(t, api) })
		}
	}
}

func TestKeylessOptions(t *testing.T) {
	vs := virtualSigstore(t)
	A := trustpolicy.Identity{Issuer: issuer, Subject: idA}
	for _, tt := range []struct {
		name   string
		k      *Keyless
		wantIn string
	}{
		{"no material", &Keyless{Identities: []trustpolicy.Identity{A}}, "no trusted root"},
		{"no identities", &Keyless{Material: vs}, "no identities"},
		{"no subject", &Keyless{Material: vs, Identities: []trustpolicy.Identity{{Issuer: issuer}}}, "identity 0: no subject"},
		{"no issuer", &Keyless{Material: vs, Identities: []trustpolicy.Identity{A, {Subject: idA}}}, "identity 1: no issuer"},
		{"bad regexp", &Keyless{Material: vs, Identities: []trustpolicy.Identity{{Issuer: issuer, SubjectRegExp: "("}}}, "identity 0"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(Options{Keyless: tt.k})
			if err == nil || !strings.Contains(err.Error(), tt.wantIn) {
				t.Fatalf("New: %v, want an error with %q", err, tt.wantIn)
			}
		})
	}
	c, err := New(Options{Keyless: &Keyless{Material: vs, Identities: []trustpolicy.Identity{A}}})
	if err != nil || !c.Keyed() {
		t.Fatalf("New = %v, Keyed %v: want a keyed checker", err, c != nil && c.Keyed())
	}
}

// TestLoadTrustedRoot writes VirtualSigstore's material as a
// trusted_root.json, as a private Sigstore publishes it, and verifies
// through it; bad files give one line naming the file.
func TestLoadTrustedRoot(t *testing.T) {
	vs := virtualSigstore(t)
	dir := t.TempDir()
	// The trusted root keys its logs by raw log ID; VirtualSigstore's are hex.
	logs := map[string]*root.TransparencyLog{}
	for id, l := range vs.RekorLogs() {
		raw, err := hex.DecodeString(string(l.ID))
		if err != nil {
			t.Fatal(err)
		}
		cp := *l
		cp.ID = raw
		logs[id] = &cp
	}
	tr, err := root.NewTrustedRoot(root.TrustedRootMediaType01, vs.FulcioCertificateAuthorities(), vs.CTLogs(), vs.TimestampingAuthorities(), logs)
	if err != nil {
		t.Fatal(err)
	}
	js, err := tr.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	good := filepath.Join(dir, "trusted_root.json")
	if err := os.WriteFile(good, js, 0o600); err != nil {
		t.Fatal(err)
	}
	material, err := LoadTrustedRoot(good)
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, true)
	f.rawBundle(keylessBundle(t, vs, idA, f.repo.Name(), f.digest.Hex, keylessOpts{}), predicateCosignSignV1)
	got := f.checkWith(t, Options{Keyless: &Keyless{Material: material, Identities: []trustpolicy.Identity{{Issuer: issuer, Subject: idA}}, IgnoreSCT: true}})
	if got.Status != StatusVerified {
		t.Fatalf("through %s: %+v, want verified", good, got)
	}

	notJSON := filepath.Join(dir, "notjson.json")
	empty := filepath.Join(dir, "empty.json")
	_ = os.WriteFile(notJSON, []byte("not json\n"), 0o600)
	_ = os.WriteFile(empty, []byte(`{"mediaType":"application/vnd.dev.sigstore.trustedroot+json;version=0.1"}`), 0o600)
	for _, p := range []string{filepath.Join(dir, "missing.json"), notJSON, empty} {
		_, err := LoadTrustedRoot(p)
		if err == nil || !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), "cosign trusted-root create") || strings.ContainsAny(err.Error(), "\n\r") {
			t.Errorf("LoadTrustedRoot(%s) = %v, want one line naming the file and what to do", p, err)
		}
	}
}
