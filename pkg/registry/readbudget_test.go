package registry_test

// The per-image budget of artifact reads (Options.MaxArtifactRequests).

import (
	"bytes"
	"context"
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
	arts := r.Artifacts(registry.Anonymous).ForImage(reg.Host + "/app:v1").ForDigest(repo.Digest(d.String()))
	reg.Reset()
	var refused []*registry.Error
	for i := range 4 {
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
