package signature

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	sgbundle "github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/sign"

	"github.com/imgtrust/kubectl-imgtrust/internal/testregistry"
	"github.com/imgtrust/kubectl-imgtrust/pkg/registry"
)

// fixture is the in-process test registry with an image and helpers that
// write signatures the way cosign does.
type fixture struct {
	t      *testing.T
	reg    *testregistry.Registry
	repo   name.Repository
	digest v1.Hash
	desc   v1.Descriptor
}

func newFixture(t *testing.T, referrersAPI bool) *fixture {
	t.Helper()
	f := &fixture{t: t, reg: testregistry.New(t, testregistry.WithReferrers(referrersAPI))}
	f.repo = f.reg.Repo(t, "app")
	img := testregistry.RandomImage(t, 1)
	f.digest = f.reg.Push(t, "app:v1", img)
	raw, _ := img.RawManifest()
	mt, _ := img.MediaType()
	f.desc = v1.Descriptor{MediaType: mt, Digest: f.digest, Size: int64(len(raw))}
	return f
}

// deny answers 403 to signature lookups (the .sig and fallback tags, the
// referrers API).
func (f *fixture) deny() {
	f.reg.Set(func(h *testregistry.Hooks) {
		h.Fault = testregistry.Refuse(http.StatusForbidden, "/referrers/", "/manifests/sha256-")
	})
}

func (f *fixture) blob(b []byte, mt types.MediaType) v1.Descriptor {
	f.t.Helper()
	return f.reg.PutBlob(f.t, f.repo, b, mt)
}

// put writes a manifest (by tag when tag is set) and returns its descriptor.
func (f *fixture) put(m v1.Manifest, tag string) v1.Descriptor {
	f.t.Helper()
	return f.reg.PutManifest(f.t, f.repo, m, types.OCIManifestSchema1, tag)
}

// legacy writes a cosign .sig tag: a simple-signing payload naming
// payloadDigest, signed with kp.
func (f *fixture) legacy(kp *sign.EphemeralKeypair, payloadDigest string) {
	f.t.Helper()
	payload := []byte(fmt.Sprintf(`{"critical":{"identity":{"docker-reference":%q},"image":{"docker-manifest-digest":%q},"type":"cosign container image signature"},"optional":null}`, f.repo.Name(), payloadDigest))
	sig, _, err := kp.SignData(context.Background(), payload)
	if err != nil {
		f.t.Fatal(err)
	}
	layer := f.blob(payload, mtSimpleSigning)
	layer.Annotations = map[string]string{annotationCosignSig: base64.StdEncoding.EncodeToString(sig)}
	cfg := f.blob([]byte("{}"), types.OCIConfigJSON)
	f.put(v1.Manifest{SchemaVersion: 2, MediaType: types.OCIManifestSchema1, Config: cfg, Layers: []v1.Descriptor{layer}},
		strings.Replace(f.digest.String(), ":", "-", 1)+".sig")
}

// bundle attaches a sigstore bundle as a referrer: a DSSE statement over
// subjectHex with predicate, signed with kp.
func (f *fixture) bundle(kp *sign.EphemeralKeypair, subjectHex, predicate string) {
	f.bundleWith(kp, subjectHex, predicate, false)
}

// bundleWith can tamper with the signed statement after signing.
func (f *fixture) bundleWith(kp *sign.EphemeralKeypair, subjectHex, predicate string, tamper bool) {
	f.t.Helper()
	stmt := fmt.Sprintf(`{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":%q,"digest":{"sha256":%q}}],"predicateType":%q,"predicate":{}}`, f.repo.Name(), subjectHex, predicate)
	pb, err := sign.Bundle(&sign.DSSEData{Data: []byte(stmt), PayloadType: "application/vnd.in-toto+json"}, kp, sign.BundleOptions{})
	if err != nil {
		f.t.Fatal(err)
	}
	if tamper {
		env := pb.GetDsseEnvelope()
		env.Payload = bytes.Replace(env.Payload, []byte(`"predicate":{}`), []byte(`"predicate":{"x":1}`), 1)
	}
	raw, err := (&sgbundle.Bundle{Bundle: pb}).MarshalJSON()
	if err != nil {
		f.t.Fatal(err)
	}
	f.rawBundle(raw, predicate)
}

// rawBundle attaches bundle JSON as a referrer, as cosign v3 does.
func (f *fixture) rawBundle(raw []byte, predicate string) {
	f.t.Helper()
	layer := f.blob(raw, mtSigstoreBundle)
	cfg := f.blob([]byte("{}"), mtOCIEmpty)
	subject := f.desc
	m := v1.Manifest{SchemaVersion: 2, MediaType: types.OCIManifestSchema1, ArtifactType: mtSigstoreBundle, Config: cfg, Layers: []v1.Descriptor{layer}, Subject: &subject,
		Annotations: map[string]string{annotationBundleType: predicate}}
	f.reg.PutReferrer(f.t, f.repo, m)
}

func keypair(t *testing.T) (*sign.EphemeralKeypair, string) {
	t.Helper()
	kp, err := sign.NewEphemeralKeypair(nil)
	if err != nil {
		t.Fatal(err)
	}
	pem, err := kp.GetPublicKeyPem()
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "cosign.pub")
	if err := os.WriteFile(p, []byte(pem), 0o600); err != nil {
		t.Fatal(err)
	}
	return kp, p
}

func (f *fixture) check(t *testing.T, keyFiles ...string) Result {
	t.Helper()
	keys, err := LoadKeys(keyFiles)
	if err != nil {
		t.Fatal(err)
	}
	return f.checkWith(t, Options{Keys: keys})
}

func (f *fixture) checkWith(t *testing.T, o Options) Result {
	t.Helper()
	c, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	r, err := registry.New(registry.Options{Insecure: []string{f.repo.RegistryStr()}})
	if err != nil {
		t.Fatal(err)
	}
	res := c.Check(t.Context(), r.Artifacts(registry.Anonymous), f.repo, f.digest.String())
	t.Logf("%+v (requests %d)", res, r.Stats().Requests)
	return res
}

func TestCosign(t *testing.T) {
	const otherPredicate = "https://slsa.dev/provenance/v1"
	for _, api := range []bool{true, false} {
		via := registry.ViaReferrersTag
		if api {
			via = registry.ViaReferrersAPI
		}
		t.Run(via, func(t *testing.T) {
			kpA, pubA := keypair(t)
			_, pubB := keypair(t)
			tests := []struct {
				name   string
				setup  func(f *fixture)
				keys   []string
				want   Status
				wantIn string // in the artifacts' via/format or the error
			}{
				{"unsigned", func(f *fixture) {}, []string{pubA}, StatusUnsigned, ""},
				{"legacy .sig by our key", func(f *fixture) { f.legacy(kpA, f.digest.String()) }, []string{pubA}, StatusVerified, ViaSigTag},
				{"legacy .sig by another key", func(f *fixture) { f.legacy(kpA, f.digest.String()) }, []string{pubB}, StatusOtherKey, ""},
				{"legacy .sig, presence only", func(f *fixture) { f.legacy(kpA, f.digest.String()) }, nil, StatusUnverified, ""},
				{"legacy payload names another digest", func(f *fixture) { f.legacy(kpA, "sha256:"+strings.Repeat("0", 64)) }, []string{pubA}, StatusInvalid, "for digest"},
				{"bundle by our key", func(f *fixture) { f.bundle(kpA, f.digest.Hex, predicateCosignSignV1) }, []string{pubA}, StatusVerified, via},
				{"bundle by another key", func(f *fixture) { f.bundle(kpA, f.digest.Hex, predicateCosignSignV1) }, []string{pubB}, StatusOtherKey, ""},
				{"bundle for another digest", func(f *fixture) { f.bundle(kpA, strings.Repeat("0", 64), predicateCosignSignV1) }, []string{pubA}, StatusInvalid, "another digest"},
				{"tampered bundle claiming our key", func(f *fixture) { f.bundleWith(kpA, f.digest.Hex, predicateCosignSignV1, true) }, []string{pubA}, StatusInvalid, "does not verify"},
				{"an attestation is not a signature", func(f *fixture) { f.bundle(kpA, f.digest.Hex, otherPredicate) }, []string{pubA}, StatusUnsigned, ""},
				{"lookups refused: never unsigned", func(f *fixture) { f.deny() }, []string{pubA}, StatusLookupFailed, "forbidden"},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					f := newFixture(t, api)
					tt.setup(f)
					got := f.check(t, tt.keys...)
					if got.Status != tt.want {
						t.Fatalf("Status = %s, want %s (%+v)", got.Status, tt.want, got)
					}
					blob, _ := json.Marshal(got)
					if !strings.Contains(string(blob), tt.wantIn) {
						t.Errorf("result %s does not mention %q", blob, tt.wantIn)
					}
					// Only a result every lookup answered may be kept between runs.
					if got.Complete != (tt.want != StatusLookupFailed) {
						t.Errorf("Complete = %t for %s", got.Complete, got.Status)
					}
					if got.Status == StatusVerified && (len(got.VerifiedBy) != 1 || got.VerifiedBy[0].File != pubA) {
						t.Errorf("VerifiedBy = %+v, want key %s", got.VerifiedBy, pubA)
					}
				})
			}
		})
	}
}

func TestKeyIDIsCosignsHint(t *testing.T) {
	kp, pub := keypair(t)
	keys, err := LoadKeys([]string{pub})
	if err != nil {
		t.Fatal(err)
	}
	if keys[0].ID != string(kp.GetHint()) {
		t.Errorf("ID = %s, want the bundle hint %s", keys[0].ID, kp.GetHint())
	}
	if _, err := LoadKeys([]string{filepath.Join(t.TempDir(), "missing.pub")}); err == nil || !strings.Contains(err.Error(), "--verify-key") {
		t.Errorf("missing key file: %v, want an error naming --verify-key", err)
	}
}

// TestRequestBudget: the requests per digest, exactly. Where a manifest
// GET counts as a pull (Docker Hub; here Options.HeadFirst) presence is a
// HEAD of the .sig tag and one referrers lookup, and each tag found is
// then read with a GET; elsewhere a GET of the tag asks both at once (a
// 404 is absent), one request fewer per tag that exists. Each signature
// read costs a manifest and a blob.
func TestRequestBudget(t *testing.T) {
	kp, pub := keypair(t)
	for _, tt := range []struct {
		name           string
		api            bool
		setup          func(f *fixture)
		hub, elsewhere int
	}{
		{"unsigned, referrers API", true, func(f *fixture) {}, 2, 2},
		{"unsigned, fallback tag", false, func(f *fixture) {}, 2, 2},
		{"one bundle, referrers API", true, func(f *fixture) { f.bundle(kp, f.digest.Hex, predicateCosignSignV1) }, 2 + 2, 2 + 2},
		{"one bundle, fallback tag", false, func(f *fixture) { f.bundle(kp, f.digest.Hex, predicateCosignSignV1) }, 2 + 1 + 2, 2 + 2}, // on Hub + the index GET after its HEAD
		{"legacy .sig", true, func(f *fixture) { f.legacy(kp, f.digest.String()) }, 2 + 2, 1 + 2},
	} {
		for _, hub := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s, head first %t", tt.name, hub), func(t *testing.T) {
				f := newFixture(t, tt.api)
				tt.setup(f)
				keys, err := LoadKeys([]string{pub})
				if err != nil {
					t.Fatal(err)
				}
				c, _ := New(Options{Keys: keys})
				o := registry.Options{Insecure: []string{f.repo.RegistryStr()}}
				want := tt.elsewhere
				if hub {
					o.HeadFirst, want = []string{f.repo.RegistryStr()}, tt.hub
				}
				r, err := registry.New(o)
				if err != nil {
					t.Fatal(err)
				}
				// A first check learns whether the host has the referrers API
				// (one request per host and run); the second shows the cost
				// per digest.
				c.Check(t.Context(), r.Artifacts(registry.Anonymous), f.repo, f.digest.String())
				f.reg.Reset()
				got := c.Check(t.Context(), r.Artifacts(registry.Anonymous), f.repo, f.digest.String())
				reqs := f.reg.Hits()
				if len(reqs) != want {
					t.Errorf("%d requests (%v), want %d", len(reqs), reqs, want)
				}
				for _, r := range reqs {
					if hub && r.Method == http.MethodGet && strings.Contains(r.Path, "/manifests/sha256-") && got.Status == StatusUnsigned {
						t.Errorf("%s: a manifest GET just to learn presence (Docker Hub counts it as a pull)", r)
					}
				}
				if got.Status != StatusUnsigned && got.Status != StatusVerified {
					t.Errorf("status %s (%s), want unsigned or verified", got.Status, got.Error)
				}
				t.Logf("%s: %d requests: %v", got.Status, len(reqs), reqs)
			})
		}
	}
}

// A verified signature with a failed referrers lookup is no complete
// answer: the attestations that lookup would have found are missing, so
// the result must not be kept between runs.
func TestVerifiedWithAFailedLookupIsIncomplete(t *testing.T) {
	kp, pub := keypair(t)
	f := newFixture(t, true)
	f.legacy(kp, f.digest.String())
	f.reg.Set(func(h *testregistry.Hooks) { h.Fault = testregistry.Refuse(http.StatusForbidden, "/referrers/") })
	got := f.check(t, pub)
	if got.Status != StatusVerified {
		t.Fatalf("Status = %s, want verified by the .sig tag (%+v)", got.Status, got)
	}
	if got.Complete {
		t.Error("Complete with the referrers lookup refused")
	}
	f.reg.Set(func(h *testregistry.Hooks) { h.Fault = nil })
	if got := f.check(t, pub); got.Status != StatusVerified || !got.Complete {
		t.Errorf("every lookup answered: Status %s, Complete %t", got.Status, got.Complete)
	}
}
