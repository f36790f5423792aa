package mirror

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/imgtrust/kubectl-imgtrust/internal/testregistry"
	"github.com/imgtrust/kubectl-imgtrust/pkg/registry"
	"github.com/imgtrust/kubectl-imgtrust/pkg/signature"
)

// pin --verify-key --mirror-to (and sign) read one image in stages: its
// resolution, its signature check, its copy and its referrers' copies.
// A registry that stalls on the signatures costs about one
// --registry-lookup-timeout for the image in all, not one per stage: the
// stages after the stall fail at once, as timeouts, never as verdicts.
func TestPinStagesShareOneBudgetPerImage(t *testing.T) {
	const budget = 600 * time.Millisecond
	srcReg, dstReg := testregistry.New(t, withReferrers), testregistry.New(t, withReferrers)
	digest := pushRandom(t, srcReg, "team/app:1.0")
	image := srcReg.Host + "/team/app:1.0"
	// The tag and the image's content answer; its signatures and
	// referrers (cosign's sha256-* tags, the referrers API) hang.
	srcReg.Set(func(h *testregistry.Hooks) {
		h.Fault = func(w http.ResponseWriter, r *http.Request) bool {
			if strings.Contains(r.URL.Path, "/referrers/") || strings.Contains(r.URL.Path, "/manifests/sha256-") {
				<-r.Context().Done()
				return true
			}
			return false
		}
	})
	r, err := registry.New(registry.Options{Insecure: []string{srcReg.Host, dstReg.Host}, LookupTimeout: budget, Timeout: 10 * time.Second, RetryBackoff: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	checker, err := signature.New(signature.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	start := time.Now()
	res := r.Resolve(ctx, registry.Request{Image: image})
	if res.Err != nil || res.Digest != digest {
		t.Fatalf("Resolve = %+v, want %s", res, digest)
	}
	repo, _ := r.RepositoryOf(image)
	// As pipeline.VerifyDigest and sign's gate call it: a reader with no
	// image of its own; the check finds the digest's budget.
	sig := checker.Check(ctx, r.Artifacts(registry.Anonymous), repo, digest)
	afterCheck := time.Since(start)
	s := NewSession(SessionOptions{Resolver: r, Prefix: dstReg.Host + "/mirror"})
	_, err = s.Copy(ctx, CopyRequest{Image: image, Digest: digest, Target: dstReg.Host + "/mirror/app:1.0"})
	total := time.Since(start)
	var cerr *CopyError
	if !errors.As(err, &cerr) {
		t.Fatalf("copy: %v, want a CopyError", err)
	}
	t.Logf("check after %s: %s %.200s; copy after %s: %v", afterCheck.Round(time.Millisecond), sig.Status, sig.Error, total.Round(time.Millisecond), cerr.Err)

	if sig.Status != signature.StatusLookupFailed || !strings.Contains(sig.Error, "timeout") {
		t.Errorf("signature = %s (%s), want lookup-failed on a timeout", sig.Status, sig.Error)
	}
	if cerr.Err == nil || cerr.Err.Reason != registry.ReasonTimeout || !strings.Contains(cerr.Err.Message, "--registry-lookup-timeout") {
		t.Errorf("mirror copy error = %v, want a timeout naming the image's spent budget", cerr.Err)
	}
	if dstReg.Count("PUT", "") != 0 {
		t.Errorf("%d writes to the mirror after the image's budget was spent, want none", dstReg.Count("PUT", ""))
	}
	// One budget plus the run; a budget per stage would be 1.2s or more.
	if total > budget+400*time.Millisecond {
		t.Errorf("resolution, check and copy took %s in all, want about one budget (%s)", total, budget)
	}
}
