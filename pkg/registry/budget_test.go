package registry_test

// The per-image lookup budget, through the stages an audit runs: the
// resolution, the signature check (pkg/signature), the provenance read
// (pkg/provenance) and the tag listing (--updates).

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/imgtrust/kubectl-imgtrust/internal/testregistry"
	"github.com/imgtrust/kubectl-imgtrust/pkg/provenance"
	"github.com/imgtrust/kubectl-imgtrust/pkg/registry"
	"github.com/imgtrust/kubectl-imgtrust/pkg/signature"
)

const budgetLimit = 600 * time.Millisecond

// hang answers nothing until the client gives up.
func hang(w http.ResponseWriter, r *http.Request) {
	<-r.Context().Done()
}

// hangUnless hangs every request but the ping and those answer says to serve.
func hangUnless(answer func(r *http.Request) bool) func(w http.ResponseWriter, r *http.Request) bool {
	return func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path == "/v2/" || answer(r) {
			return false
		}
		hang(w, r)
		return true
	}
}

func budgetResolver(t *testing.T, reg *testregistry.Registry, o registry.Options) *registry.Resolver {
	t.Helper()
	o.Insecure = []string{reg.Host}
	o.LookupTimeout = budgetLimit
	o.Timeout = 10 * time.Second // the budget, not the attempt timeout, must end the stall
	o.RetryBackoff = 10 * time.Millisecond
	r, err := registry.New(o)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// stages runs what an audit with --verify-key --provenance --updates runs
// for one image after its resolution, and returns their errors.
func stages(ctx context.Context, t *testing.T, r *registry.Resolver, image, digest string) (sig signature.Result, prov provenance.Provenance, tagsErr *registry.Error) {
	t.Helper()
	repo, err := r.RepositoryOf(image)
	if err != nil {
		t.Fatal(err)
	}
	checker, err := signature.New(signature.Options{})
	if err != nil {
		t.Fatal(err)
	}
	arts := r.Artifacts(registry.Anonymous).ForImage(image)
	sig = checker.Check(ctx, arts.ForDigest(repo.Digest(digest)), repo, digest)
	prov = provenance.Read(ctx, arts.ForDigest(repo.Digest(digest)), repo, digest, nil, nil)
	_, _, tagsErr = arts.Tags(ctx, repo)
	return sig, prov, tagsErr
}

// TestBudgetBoundsAllStagesOfAnImage: a registry that answers the
// resolution but hangs on every artifact read costs about one lookup
// timeout for the image in total, not one per stage, and every stage says
// it timed out (never unsigned, never "no provenance").
func TestBudgetBoundsAllStagesOfAnImage(t *testing.T) {
	reg := testregistry.New(t)
	d := reg.PushImage(t, "app:v1")
	image := reg.Host + "/app:v1"
	reg.Set(func(h *testregistry.Hooks) {
		h.Fault = hangUnless(func(r *http.Request) bool {
			return r.Method == http.MethodHead && strings.HasSuffix(r.URL.Path, "/manifests/v1")
		})
	})
	r := budgetResolver(t, reg, registry.Options{})
	start := time.Now()
	res := r.Resolve(t.Context(), registry.Request{Image: image})
	if res.Err != nil || res.Digest != d.String() {
		t.Fatalf("Resolve = %+v, want %s", res, d)
	}
	sig, prov, tagsErr := stages(t.Context(), t, r, image, res.Digest)
	elapsed := time.Since(start)
	t.Logf("after %s: signatures: %s; provenance: %s; tags: %v", elapsed.Round(time.Millisecond), sig.Error, prov.Error, tagsErr)

	if sig.Status != signature.StatusLookupFailed || !strings.Contains(sig.Error, "timeout") {
		t.Errorf("signatures = %s (%s), want lookup-failed on a timeout", sig.Status, sig.Error)
	}
	if prov.Error == "" || !strings.Contains(prov.Error, "--registry-lookup-timeout") || !strings.Contains(prov.Error, "spent") {
		t.Errorf("provenance error = %q, want the image's spent budget named", prov.Error)
	}
	if tagsErr == nil || tagsErr.Reason != registry.ReasonTimeout || !strings.Contains(tagsErr.Message, "lookup budget of "+reg.Host+"/app:v1 (600ms, --registry-lookup-timeout) was spent") {
		t.Errorf("tags error = %v, want a timeout naming the image's spent budget", tagsErr)
	}
	// One budget (600ms) plus overhead; one per stage would be 1.8s or more.
	if elapsed > budgetLimit+500*time.Millisecond {
		t.Errorf("the image's stages took %s in all, want about one budget (%s)", elapsed, budgetLimit)
	}
}

// TestBudgetSpentByResolutionCoversRunningDigest: when the tag itself
// cannot be resolved in time, the digest its pods run (read by the later
// stages) is the same image and fails at once.
func TestBudgetSpentByResolutionCoversRunningDigest(t *testing.T) {
	reg := testregistry.New(t)
	d := reg.PushImage(t, "app:v1")
	image := reg.Host + "/app:v1"
	reg.Set(func(h *testregistry.Hooks) { h.Fault = hangUnless(func(*http.Request) bool { return false }) })
	r := budgetResolver(t, reg, registry.Options{})
	start := time.Now()
	res := r.Resolve(t.Context(), registry.Request{Image: image})
	if res.Err == nil || res.Err.Reason != registry.ReasonTimeout || !strings.Contains(res.Err.Message, "lookup budget of 600ms") {
		t.Fatalf("Resolve err = %v, want a timeout naming the budget", res.Err)
	}
	sig, prov, tagsErr := stages(t.Context(), t, r, image, d.String())
	elapsed := time.Since(start)
	if sig.Status != signature.StatusLookupFailed || prov.Error == "" || tagsErr == nil || tagsErr.Reason != registry.ReasonTimeout {
		t.Errorf("stages = %s / %q / %v, want each failed on the timeout", sig.Status, prov.Error, tagsErr)
	}
	if elapsed > budgetLimit+500*time.Millisecond {
		t.Errorf("resolution and stages took %s in all, want about one budget (%s)", elapsed, budgetLimit)
	}
	// Nothing was sent once the budget was spent.
	reg.Reset()
	_, _, _ = stages(t.Context(), t, r, image, d.String())
	if hits := reg.Hits(); len(hits) != 0 {
		t.Errorf("requests after the budget was spent: %v", hits)
	}
}

// TestBudgetNotDrawnWhileQueued: an image waiting for a registry's only
// slot behind a stalled one has spent nothing, and another image's spent
// budget changes nothing for it.
func TestBudgetNotDrawnWhileQueued(t *testing.T) {
	reg := testregistry.New(t)
	d := reg.PushImage(t, "fine:v1")
	reg.PushImage(t, "stuck:v1")
	reg.Set(func(h *testregistry.Hooks) {
		h.Fault = hangUnless(func(r *http.Request) bool { return !strings.Contains(r.URL.Path, "/stuck/") })
	})
	r := budgetResolver(t, reg, registry.Options{PerHost: 1})
	// The stalled image first, so the other waits its whole budget in the queue.
	got := r.ResolveAll(t.Context(), []registry.Request{{Image: reg.Host + "/stuck:v1"}, {Image: reg.Host + "/fine:v1"}})
	if got[0].Err == nil || got[0].Err.Reason != registry.ReasonTimeout {
		t.Errorf("stuck = %+v, want a timeout", got[0])
	}
	if got[1].Err != nil || got[1].Digest != d.String() {
		t.Errorf("fine = %+v, want %s resolved after waiting for the slot", got[1], d)
	}
	repo, _ := name.NewRepository(reg.Host+"/fine", name.Insecure)
	if _, e := r.Artifacts(registry.Anonymous).ForImage(reg.Host+"/fine:v1").Head(t.Context(), repo.Tag("v1")); e != nil {
		t.Errorf("the healthy image's later read = %v, want it answered", e)
	}
}

// TestUnboundReadsHaveABudgetEach: a reader not bound to an image (pin,
// sign, mirror) bounds each lookup by the whole budget.
func TestUnboundReadsHaveABudgetEach(t *testing.T) {
	reg := testregistry.New(t)
	reg.PushImage(t, "app:v1")
	reg.Set(func(h *testregistry.Hooks) { h.Fault = hangUnless(func(*http.Request) bool { return false }) })
	r := budgetResolver(t, reg, registry.Options{})
	repo, _ := name.NewRepository(reg.Host+"/app", name.Insecure)
	arts := r.Artifacts(registry.Anonymous)
	for i := range 2 {
		start := time.Now()
		_, e := arts.Head(t.Context(), repo.Tag("v1"))
		if e == nil || e.Reason != registry.ReasonTimeout || !strings.Contains(e.Message, "lookup limit of 600ms") || time.Since(start) < budgetLimit-50*time.Millisecond {
			t.Errorf("read %d: %v after %s, want a timeout after a whole budget", i, e, time.Since(start))
		}
	}
}

// TestHugeErrorBodyKeepsItsStatus: a 403 whose body runs past what
// go-containerregistry parses is still forbidden, and its message short.
func TestHugeErrorBodyKeepsItsStatus(t *testing.T) {
	reg := testregistry.New(t)
	reg.PushImage(t, "app:v1")
	reg.Set(func(h *testregistry.Hooks) {
		h.Fault = func(w http.ResponseWriter, r *http.Request) bool {
			if r.URL.Path == "/v2/" {
				return false
			}
			testregistry.WriteError(w, http.StatusForbidden, "DENIED", strings.Repeat("no. ", 50000))
			return true
		}
	})
	r := budgetResolver(t, reg, registry.Options{})
	for _, method := range []string{"resolve", "artifact read"} {
		var e *registry.Error
		if method == "resolve" {
			e = r.Resolve(t.Context(), registry.Request{Image: reg.Host + "/app:v1"}).Err
		} else {
			repo, _ := name.NewRepository(reg.Host+"/app", name.Insecure)
			_, e = r.Artifacts(registry.Anonymous).Manifest(t.Context(), repo.Tag("v1"))
		}
		if e == nil || e.Reason != registry.ReasonForbidden || len(e.Message) > 1000 {
			t.Errorf("%s: %v, want forbidden with a short message", method, e)
		}
	}
}
