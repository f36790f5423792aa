package registry_test

// The per-image budget of artifact reads (Options.MaxArtifactRequests).

import (
	"bytes"
	"context"
	"net/http"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/imgtrust/kubectl-imgtrust/internal/testregistry"
	"github.com/imgtrust/kubectl-imgtrust/pkg/registry"
)

// Every read of one image's artifacts, of any kind, draws from one count:
// past it nothing is sent, each refusal is request-budget (never
// not-found) and counted as skipped; another image keeps its own.
func TestArtifactReadsShareOneBudgetPerImage(t *testing.T) {
	reg := testregistry.New(t)
	d := reg.PushImage(t, "app:v1")
	other := reg.PushImage(t, "other:v1")
	r, err := registry.New(registry.Options{Insecure: []string{reg.Host}, MaxArtifactRequests: 5})
	if err != nil {
		t.Fatal(err)
	}
	repo := reg.Repo(t, "app")
	ctx := context.Background()
	var arts *registry.Artifacts
	reg.Reset()
	var refused []*registry.Error
	for i := range 4 {
		// A handle per round, as each stage of an audit has its own: what
		// one handle read it does not read again (memo.go), but the
		// handles of one image share its reads.
		arts = r.Artifacts(registry.Anonymous).ForImage(reg.Host + "/app:v1").ForDigest(repo.Digest(d.String()))
		// A HEAD, a GET and a blob read per round: three kinds, one count.
		if _, e := arts.Head(ctx, repo.Digest(d.String())); e != nil {
			refused = append(refused, e)
		}
		desc, e := arts.Manifest(ctx, repo.Digest(d.String()))
		if e != nil {
			refused = append(refused, e)
			continue
		}
		if i == 0 {
			m, err := v1.ParseManifest(bytes.NewReader(desc.Manifest))
			if err != nil {
				t.Fatal(err)
			}
			if _, e := arts.Blob(ctx, repo, m.Config.Digest); e != nil {
				t.Fatalf("blob: %v", e)
			}
		}
	}
	if sent := len(reg.Hits()); sent != 5 {
		t.Errorf("%d requests sent, want 5 (%v)", sent, reg.Hits())
	}
	if len(refused) == 0 || arts.Skipped() != len(refused) {
		t.Fatalf("%d refused, Skipped() = %d", len(refused), arts.Skipped())
	}
	for _, e := range refused {
		if e.Reason != registry.ReasonRequestBudget {
			t.Errorf("refused read: %v, want request-budget", e)
		}
	}
	if e := arts.Spent("the rest"); e == nil || e.Reason != registry.ReasonRequestBudget {
		t.Errorf("Spent = %v, want request-budget", e)
	}
	arts.Skip(10)
	if arts.Skipped() != len(refused)+10 {
		t.Errorf("Skipped() = %d after Skip(10), want %d", arts.Skipped(), len(refused)+10)
	}
	// The same digest read through another handle is the same image.
	again := r.Artifacts(registry.Anonymous).ForDigest(repo.Digest(d.String()))
	if _, e := again.Head(ctx, repo.Digest(d.String())); e == nil || e.Reason != registry.ReasonRequestBudget {
		t.Errorf("the same digest through another handle: %v, want request-budget", e)
	}
	// Another image keeps its own reads.
	otherRepo := reg.Repo(t, "other")
	oa := r.Artifacts(registry.Anonymous).ForDigest(otherRepo.Digest(other.String()))
	if _, e := oa.Head(ctx, otherRepo.Digest(other.String())); e != nil {
		t.Errorf("another image: %v", e)
	}
}

// One handle's reads are remembered for its lifetime (memo.go): asked
// again, a manifest, a blob, a HEAD or a not-found costs no request and no
// read; a read the budget refused is refused again but skipped once; a
// failed read is asked again; another handle reads for itself.
func TestArtifactReadsRememberedPerHandle(t *testing.T) {
	reg := testregistry.New(t)
	d := reg.PushImage(t, "app:v1")
	r, err := registry.New(registry.Options{Insecure: []string{reg.Host}, MaxArtifactRequests: 5})
	if err != nil {
		t.Fatal(err)
	}
	repo := reg.Repo(t, "app")
	ctx := context.Background()
	dig := repo.Digest(d.String())
	missing := repo.Tag("nothing-here.sig")
	arts := r.Artifacts(registry.Anonymous).ForDigest(dig)
	if arts.ForDigest(dig) != arts {
		t.Fatal("ForDigest of a handle for the same digest is another handle: its reads would not be shared")
	}
	reg.Reset()
	for range 3 {
		if _, e := arts.Head(ctx, dig); e != nil {
			t.Fatal(e)
		}
		desc, e := arts.Manifest(ctx, dig)
		if e != nil {
			t.Fatal(e)
		}
		m, err := v1.ParseManifest(bytes.NewReader(desc.Manifest))
		if err != nil {
			t.Fatal(err)
		}
		if b, e := arts.Blob(ctx, repo, m.Config.Digest); e != nil || len(b) == 0 {
			t.Fatalf("blob: %d bytes, %v", len(b), e)
		}
		if _, e := arts.Head(ctx, missing); e == nil || e.Reason != registry.ReasonNotFound {
			t.Fatalf("missing tag: %v, want not-found", e)
		}
	}
	if sent := len(reg.Hits()); sent != 4 {
		t.Errorf("%d requests for 3 rounds of the same 4 reads, want 4 (%v)", sent, reg.Hits())
	}
	// One read is left: a 500 is not remembered and asked again while it
	// lasts; then refused, and counted skipped once however often asked.
	reg.Set(func(h *testregistry.Hooks) {
		h.Fault = testregistry.Refuse(http.StatusInternalServerError, "/manifests/v1")
	})
	tag := repo.Tag("v1")
	if _, e := arts.Manifest(ctx, tag); e == nil {
		t.Fatal("the 500 was not reported")
	}
	reg.Reset()
	for range 3 {
		if _, e := arts.Manifest(ctx, tag); e == nil || e.Reason != registry.ReasonRequestBudget {
			t.Fatalf("asked again with no read left: %v, want request-budget", e)
		}
	}
	if len(reg.Hits()) != 0 || arts.Skipped() != 1 {
		t.Errorf("%d requests and %d skipped after asking 3 times with no read left, want 0 and 1", len(reg.Hits()), arts.Skipped())
	}
	// Another handle of the image remembers nothing (and shares the spent
	// budget).
	if _, e := r.Artifacts(registry.Anonymous).ForImage(reg.Host+"/app:v1").ForDigest(dig).Head(ctx, dig); e == nil || e.Reason != registry.ReasonRequestBudget {
		t.Errorf("another handle: %v, want request-budget (not a remembered answer)", e)
	}
}
