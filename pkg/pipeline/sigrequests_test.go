package pipeline

import (
	"context"
	"crypto/elliptic"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/imgtrust/kubectl-imgtrust/internal/testregistry"
	"github.com/imgtrust/kubectl-imgtrust/pkg/audit"
	"github.com/imgtrust/kubectl-imgtrust/pkg/imageref"
	"github.com/imgtrust/kubectl-imgtrust/pkg/provenance"
	"github.com/imgtrust/kubectl-imgtrust/pkg/registry"
	"github.com/imgtrust/kubectl-imgtrust/pkg/sign"
	"github.com/imgtrust/kubectl-imgtrust/pkg/signature"
	"github.com/imgtrust/kubectl-imgtrust/pkg/workload"
)

// requestKind names a registry request by what it asks.
func requestKind(r testregistry.Request) string {
	switch {
	case strings.Contains(r.Path, "/referrers/"):
		return r.Method + " referrers-api"
	case strings.Contains(r.Path, "/blobs/"):
		return r.Method + " blob"
	case strings.Contains(r.Path, "/manifests/"):
		ref := r.Path[strings.LastIndex(r.Path, "/")+1:]
		switch {
		case strings.HasSuffix(ref, ".sig"):
			return r.Method + " .sig"
		case strings.HasSuffix(ref, ".att"):
			return r.Method + " .att"
		case strings.HasPrefix(ref, "sha256-"):
			return r.Method + " referrers-tag"
		case strings.HasPrefix(ref, "sha256:"):
			return r.Method + " manifest"
		}
		return r.Method + " tag"
	}
	return r.Method + " " + r.Path
}

// kinds counts requests by kind, sorted: "GET blob=1 HEAD tag=1".
func kinds(reqs []testregistry.Request) string {
	n := map[string]int{}
	for _, r := range reqs {
		n[requestKind(r)]++
	}
	var out []string
	for k, v := range n {
		out = append(out, fmt.Sprintf("%s=%d", k, v))
	}
	sort.Strings(out)
	return strings.Join(out, " ")
}

// sigReqFixture is one digest on a registry without the referrers API
// (as the bench's and most registries), signed and attested.
type sigReqFixture struct {
	reg   *testregistry.Registry
	found *workload.Discovery
	key   *sign.Key
}

// newSigReqFixture signs one digest. bundles: as kubectl imgtrust sign
// signs it (its checks attestation and a sigstore bundle, referrers
// written with pkg/sign) and cosign attest --type slsaprovenance1 attests
// it (a bundle referrer whose fallback-index entry has no annotations:
// cosign v3.1.3 is built with go-containerregistry v0.21.7, whose fallback
// index drops them). Else the legacy formats: the .sig tag and both
// attestations in the .att tag.
func newSigReqFixture(t *testing.T, bundles bool) sigReqFixture {
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	ctx := context.Background()
	reg := testregistry.New(t)
	h := reg.PushImage(t, "app:1.0.0")
	repo := reg.Repo(t, "app")
	d := repo.Digest(h.String())
	priv, _, err := cryptoutils.GeneratePEMEncodedECDSAKeyPair(elliptic.P256(), cryptoutils.StaticPasswordFunc([]byte{}))
	if err != nil {
		t.Fatal(err)
	}
	key, err := sign.LoadKey("cosign.key", priv, sign.Password{})
	if err != nil {
		t.Fatal(err)
	}
	w, err := registry.New(registry.Options{Insecure: []string{reg.Host}})
	if err != nil {
		t.Fatal(err)
	}
	checks, _ := sign.StatementOf(d, sign.PredicateChecks, sign.Checks{Checks: []sign.Check{}})
	slsa, _ := sign.StatementOf(d, provenance.PredicateSLSAv1, map[string]any{"buildDefinition": map[string]any{"externalParameters": map[string]any{}}})
	for _, a := range []struct {
		stmt []byte
		pt   string
	}{{checks, sign.PredicateChecks}, {slsa, provenance.PredicateSLSAv1}} {
		var e *registry.Error
		if bundles {
			b, err := sign.BundleOf(key, a.stmt)
			if err != nil {
				t.Fatal(err)
			}
			e = sign.WriteBundle(ctx, w, authn.Anonymous, d, b, a.pt, time.Unix(1700000000, 0))
		} else {
			env, err := sign.Envelope(key, a.stmt)
			if err != nil {
				t.Fatal(err)
			}
			e = sign.WriteLegacyAttestation(ctx, w, authn.Anonymous, d, env, a.pt)
		}
		if e != nil {
			t.Fatal(e)
		}
	}
	if bundles {
		b, err := sign.Bundle(key, d)
		if err != nil {
			t.Fatal(err)
		}
		if e := sign.WriteBundle(ctx, w, authn.Anonymous, d, b, sign.PredicateCosignSign, time.Unix(1700000000, 0)); e != nil {
			t.Fatal(e)
		}
		dropAnnotations(t, reg, d, provenance.PredicateSLSAv1)
	} else {
		payload, _ := sign.Payload(d)
		sig, _ := key.Sign(payload)
		if e := sign.WriteLegacy(ctx, w, authn.Anonymous, d, payload, sig); e != nil {
			t.Fatal(e)
		}
	}
	img := reg.Host + "/app:1.0.0"
	return sigReqFixture{reg: reg, key: key, found: &workload.Discovery{Workloads: []workload.Workload{{
		Object: workload.Object{Kind: "Deployment", Namespace: "shop", Name: "web"}, Pods: 1,
		Containers: []workload.Usage{{
			ContainerSpec: workload.ContainerSpec{Name: "app", Type: workload.Container, Image: img},
			Running:       []imageref.RunningImage{{ImageID: repo.Name() + "@" + h.String(), Digest: h.String(), Kind: imageref.KindManifest, Repository: repo.Name()}},
		}},
	}}}}
}

// dropAnnotations rewrites d's fallback index as older pushers write it:
// the entry of predicateType's bundle without its annotations.
func dropAnnotations(t *testing.T, reg *testregistry.Registry, d name.Digest, predicateType string) {
	t.Helper()
	tag := reg.Ref(t, "app:"+strings.Replace(d.DigestStr(), ":", "-", 1))
	desc, err := remote.Get(tag, reg.WriteOptions()...)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := v1.ParseIndexManifest(strings.NewReader(string(desc.Manifest)))
	if err != nil {
		t.Fatal(err)
	}
	dropped := 0
	for i := range idx.Manifests {
		if idx.Manifests[i].Annotations["dev.sigstore.bundle.predicateType"] == predicateType {
			idx.Manifests[i].Annotations = nil
			dropped++
		}
	}
	if dropped != 1 {
		t.Fatalf("the fallback index lists %d bundles of %s, want 1", dropped, predicateType)
	}
	reg.PutManifest(t, d.Context(), idx, types.OCIImageIndex, tag.Identifier())
}

// audit runs the registry stage with a fresh resolver and returns the
// item and the registry's requests (pings aside).
func (f sigReqFixture) audit(t *testing.T, prov bool, headFirst bool) (audit.Item, []testregistry.Request) {
	t.Helper()
	o := signature.Options{Keys: []signature.Key{f.key.Public}}
	if prov {
		o.Attestations = provenance.IsRead // what audit --provenance asks
	}
	checker, err := signature.New(o)
	if err != nil {
		t.Fatal(err)
	}
	ro := registry.Options{Insecure: []string{f.reg.Host}}
	if headFirst {
		ro.HeadFirst = []string{f.reg.Host}
	}
	r, err := registry.New(ro)
	if err != nil {
		t.Fatal(err)
	}
	items := audit.Evaluate(f.found.Workloads, audit.Options{})
	f.reg.Reset()
	stage := AuditStage{Resolver: r, Concurrency: 2, Signatures: signature.ForAll(checker), Provenance: prov}
	stage.Run(context.Background(), fake.NewClientset(), f.found, items)
	return items[0], f.reg.Hits()
}

// TestSignatureRequestsPerDigest counts, by kind, the requests audit
// --verify-key and audit --provenance --verify-key send for one signed
// digest, exactly. Of them, the referrers API probe (GET referrers-api)
// is sent once per registry and run, not per digest. head first is how
// Docker Hub is asked (a manifest GET counts as a pull there): the .sig,
// .att and referrers tags are HEADed before they are read.
func TestSignatureRequestsPerDigest(t *testing.T) {
	for _, tt := range []struct {
		name               string
		bundles, headFirst bool
		verify, prov       string
	}{
		{"bundles", true, false,
			// the resolution, the .sig tag (404), the referrers tag, the
			// signature and the unannotated SLSA bundle (read to tell its
			// kind), the signature's bundle
			"GET .sig=1 GET blob=1 GET manifest=2 GET referrers-api=1 GET referrers-tag=1 HEAD tag=1",
			// + the .att tag (404); the checks and SLSA bundles, each a
			// manifest and a blob; the digest's manifest and config
			"GET .att=1 GET .sig=1 GET blob=4 GET manifest=4 GET referrers-api=1 GET referrers-tag=1 HEAD tag=1"},
		{"bundles, head first", true, true,
			"GET blob=1 GET manifest=2 GET referrers-api=1 GET referrers-tag=1 HEAD .sig=1 HEAD referrers-tag=1 HEAD tag=1",
			"GET blob=4 GET manifest=4 GET referrers-api=1 GET referrers-tag=1 HEAD .att=1 HEAD .sig=1 HEAD referrers-tag=1 HEAD tag=1"},
		{"legacy", false, false,
			"GET .sig=1 GET blob=1 GET referrers-api=1 GET referrers-tag=1 HEAD tag=1",
			"GET .att=1 GET .sig=1 GET blob=4 GET manifest=1 GET referrers-api=1 GET referrers-tag=1 HEAD tag=1"},
		{"legacy, head first", false, true,
			"GET .sig=1 GET blob=1 GET referrers-api=1 HEAD .sig=1 HEAD referrers-tag=1 HEAD tag=1",
			"GET .att=1 GET .sig=1 GET blob=4 GET manifest=1 GET referrers-api=1 HEAD .att=1 HEAD .sig=1 HEAD referrers-tag=1 HEAD tag=1"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newSigReqFixture(t, tt.bundles)
			for _, prov := range []bool{false, true} {
				want := tt.verify
				if prov {
					want = tt.prov
				}
				it, reqs := f.audit(t, prov, tt.headFirst)
				if got := kinds(reqs); got != want {
					t.Errorf("provenance %t: %d requests: %s\nwant %s", prov, len(reqs), got, want)
				}
				if it.Signature == nil || it.Signature.Status != signature.StatusVerified {
					t.Fatalf("provenance %t: signature %+v, want verified", prov, it.Signature)
				}
				if !prov {
					continue
				}
				var pts []string
				for _, a := range it.Signature.Attestations {
					if a.Verified {
						pts = append(pts, a.PredicateType)
					}
				}
				sort.Strings(pts)
				if want := provenance.PredicateChecks + " " + provenance.PredicateSLSAv1; strings.Join(pts, " ") != want {
					t.Errorf("verified attestations %v, want %s", pts, want)
				}
				if it.Provenance == nil || it.Provenance.Error != "" || it.Provenance.CheckedBy == nil {
					t.Errorf("provenance %+v, want read, with the checks attestation", it.Provenance)
				}
			}
		})
	}
}
