//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/imgtrust/kubectl-imgtrust/pkg/audit"
	"github.com/imgtrust/kubectl-imgtrust/pkg/registry"
	"github.com/imgtrust/kubectl-imgtrust/pkg/signature"
	"github.com/imgtrust/kubectl-imgtrust/test/faultregistry"
	"github.com/imgtrust/kubectl-imgtrust/test/fixture"
)

// TestRegistryFaultsBoundedAndNamed runs one `resolve` through the real
// kubectl over every fault of test/faultregistry, with healthy images of
// the real stack's registries beside them: the run ends in bounded time,
// each fault costs a bounded number of requests and has its own named
// reason, every healthy image resolves right, and no output format shows
// a secret or the registry's stray bytes.
func TestRegistryFaultsBoundedAndNamed(t *testing.T) {
	reg, ca := faultregistry.StartForTest(t)
	dir := t.TempDir()
	ns := "faults-" + randomSuffix()
	private, public := push(t, stack.Registry+"/"+ns+"/private:1"), push(t, stack.PublicRegistry+"/"+ns+"/public:1")
	auths := map[string]any{}
	for host, login := range map[string][2]string{
		reg.Host: {reg.User, reg.Password}, reg.BearerHost: {reg.User, reg.Password}, reg.BadTokenHost: {reg.User, reg.Password},
		reg.RealmLoopbackHost: {reg.User, reg.Password}, reg.RedirectLoopbackHost: {reg.User, reg.Password},
		stack.Registry: {stack.RegistryUser, stack.RegistryPassword},
	} {
		auths[host] = map[string]string{"auth": base64.StdEncoding.EncodeToString([]byte(login[0] + ":" + login[1]))}
	}
	b, _ := json.Marshal(map[string]any{"auths": auths})
	if err := os.WriteFile(filepath.Join(dir, "config.json"), b, 0o600); err != nil {
		t.Fatal(err)
	}
	env := []string{"DOCKER_CONFIG=" + dir}

	images := reg.Images()
	args := []string{"--registry-ca-file", ca, "--registry-timeout", "1s", "--registry-lookup-timeout", "8s", "--concurrency-per-registry", "32", "--concurrency", "64"}
	var names []string
	for image := range images {
		names = append(names, image)
	}
	sort.Strings(names)
	args = append(append(args, names...), private.Ref, public.Ref)

	start := time.Now()
	rep, r := resolveJSON(t, env, args...)
	wall := time.Since(start)
	if r.Code != 1 {
		t.Fatalf("resolve over the faults: want exit 1 (some images failed), got %s", r)
	}
	if wall > 30*time.Second {
		t.Errorf("resolve took %s, want it bounded well under 30s", wall)
	}
	var table []string
	for _, image := range names {
		key := images[image]
		res := resolved(t, rep, image)
		got := ""
		if res.Err != nil {
			got = string(res.Err.Reason)
			if !strings.Contains(res.Err.Message, strings.Split(image, "/")[0]) {
				t.Errorf("%s: message %q does not name the registry", key, res.Err.Message)
			}
		}
		want := faultregistry.Expected[key]
		if got != want {
			t.Errorf("%s: reason %q, want %q (%+v)", key, got, want, res.Err)
		}
		if want == "" && res.Digest != reg.Digest {
			t.Errorf("%s: digest %s, want %s", key, res.Digest, reg.Digest)
		}
		n := reg.Requests(key)
		if n > 12 {
			t.Errorf("%s: %d requests reached the registry, want at most 12", key, n)
		}
		table = append(table, fmt.Sprintf("| %s | %s | %d |", key, orOK(got), n))
	}
	for _, p := range []struct{ ref, digest string }{{private.Ref, private.Digest}, {public.Ref, public.Digest}} {
		if res := resolved(t, rep, p.ref); res.Err != nil || res.Digest != p.digest {
			t.Errorf("healthy %s: %s %v, want %s", p.ref, res.Digest, res.Err, p.digest)
		}
	}
	if leaks := reg.Leaks(); len(leaks) > 0 {
		t.Errorf("credentials reached a host they were not for: %v", leaks)
	}
	// A token service named "localhost" for a registry on 127.0.0.2 is
	// another service of this machine: refused before any request.
	if n := reg.Requests(faultregistry.RealmLoopbackToken); n != 0 {
		t.Errorf("%s: the token service got %d requests, want none (the credential must not be sent there)", faultregistry.RealmLoopbackName, n)
	}
	// So is a manifest redirect there: refused before anything is sent.
	if n := reg.Requests(faultregistry.RedirectLoopbackTarget); n != 0 {
		t.Errorf("%s: the redirect target got %d requests, want none", faultregistry.RedirectLoopbackName, n)
	}
	t.Logf("one run, %d images, wall %s, stats %+v\n| fault | reason | requests |\n|---|---|---|\n%s", len(names)+2, wall.Round(10*time.Millisecond), rep.Stats, strings.Join(table, "\n"))

	// Every output format: no secret, none of the registry's stray bytes.
	outputs := []result{r}
	for _, o := range []string{"yaml"} {
		outputs = append(outputs, kubectlEnv(t, env, append(append([]string{"imgtrust", "resolve"}, args...), "-o", o)...))
	}
	outputs = append(outputs, kubectlEnv(t, env, append([]string{"imgtrust", "resolve"}, args...)...))
	for _, out := range outputs {
		all := out.Stdout + out.Stderr
		for _, bad := range []string{reg.Password, stack.RegistryPassword, "good-token", "REGISTRY-BYTES", "Unsolicited response"} {
			if strings.Contains(all, bad) {
				t.Errorf("output holds %q:\n%s", bad, out)
			}
		}
	}
}

func orOK(s string) string {
	if s == "" {
		return "ok"
	}
	return s
}

// TestAuditArtifactFaultsIsolated runs one `audit --verify-key --provenance
// --updates` through the real kubectl over a signed image with a newer
// release on the real stack's registry and over test/faultregistry's
// artifact faults: a registry that answers manifests but hangs on every
// other read, thousands of untyped referrers, 403s with 64 KiB messages,
// and an index of 48 MiB. The hanging image costs about one lookup budget
// in all (not one per stage), each fault is reported as a failure with its
// reason and never as a negative verdict, the JSON stays small, and the
// healthy image's signature, provenance and updates are what they would be
// alone.
func TestAuditArtifactFaultsIsolated(t *testing.T) {
	ctx := testContext(t)
	ns := newNamespace(t, "artfaults")
	dir := t.TempDir()
	keyA, pubA := cosignKeys(t, dir, "a")
	healthy := push(t, stack.Registry+"/"+ns+"/healthy:1.0.0")
	newer := push(t, stack.Registry+"/"+ns+"/healthy:1.1.0")
	if err := stack.CosignSign(ctx, keyA, healthy.Repo()+"@"+healthy.Digest, false); err != nil {
		t.Fatalf("signing: %v", err)
	}
	w := deployEach(t, ns, map[string]fixture.Pushed{"healthy": healthy})

	reg, ca := faultregistry.StartForTest(t)
	if _, err := kube.CoreV1().Secrets(ns).Create(ctx, fixture.PullSecret(ns, "faultcred", reg.Host, reg.User, reg.Password), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, f := range faultregistry.ArtifactFaults {
		if err := w.Deployment(ctx, f, 0, fixture.PodSpec([]string{"faultcred"}, fixture.Container("app", reg.Image(f), corev1.PullAlways))); err != nil {
			t.Fatal(err)
		}
	}

	const budget = 6 * time.Second
	start := time.Now()
	rep, r := auditJSON(t, "-n", ns, "--verify-key", pubA, "--provenance", "--updates", "--registry-ca-file", ca,
		"--registry-timeout", "30s", "--registry-lookup-timeout", budget.String())
	wall := time.Since(start)
	if r.Code != 0 && r.Code != 1 {
		t.Fatalf("audit: %s", r)
	}
	// Signatures, provenance and updates each waiting out the stall would
	// take three budgets; the image's one budget covers all of them.
	if wall > 2*budget {
		t.Errorf("audit took %s, want about one lookup budget (%s) plus the run", wall, budget)
	}

	h := item(t, rep, "Deployment", "healthy", "app")
	if h.Signature == nil || h.Signature.Status != signature.StatusVerified {
		t.Errorf("healthy: signature %+v, want verified", h.Signature)
	}
	if h.Provenance == nil || h.Provenance.Error != "" {
		t.Errorf("healthy: provenance %+v, want read without error", h.Provenance)
	}
	if h.Updates == nil || h.Updates.Error != "" || h.Updates.NewestMinor != "1.1.0" {
		t.Errorf("healthy: updates %+v, want 1.1.0 (%s) found", h.Updates, newer.Ref)
	}

	hang := item(t, rep, "Deployment", faultregistry.ArtifactsHang, "app")
	if hang.Signature == nil || hang.Signature.Status != signature.StatusLookupFailed || !strings.Contains(hang.Signature.Error, "timeout") {
		t.Errorf("%s: signature %+v, want lookup-failed on a timeout", faultregistry.ArtifactsHang, hang.Signature)
	}
	if hang.Provenance == nil || !strings.Contains(hang.Provenance.Error, "--registry-lookup-timeout") {
		t.Errorf("%s: provenance %+v, want a timeout naming the spent lookup budget", faultregistry.ArtifactsHang, hang.Provenance)
	}
	if hang.Updates == nil || !strings.Contains(hang.Updates.Error, "--registry-lookup-timeout") {
		t.Errorf("%s: updates %+v, want a timeout naming the spent lookup budget", faultregistry.ArtifactsHang, hang.Updates)
	}
	findingFor(t, hang, audit.IDSignatureLookupFailed)

	// Thousands of referrers, untyped or attestations whose kind only their
	// manifest tells: every read of the image's artifacts (cosign tags,
	// referrer pages, referrer manifests, provenance) draws from one budget
	// of --max-artifact-requests (64); beyond it only the resolution and
	// the tag list reach the registry. The result says how many were
	// skipped, and the verdict is a failed lookup, never "unsigned".
	for f, total := range map[string]int{faultregistry.UntypedReferrers: faultregistry.UntypedReferrerCount, faultregistry.ManyAttestations: faultregistry.ManyAttestationCount} {
		it := item(t, rep, "Deployment", f, "app")
		if it.Signature == nil || it.Signature.Status != signature.StatusLookupFailed || !strings.Contains(it.Signature.Error, fmt.Sprintf("of %d referrers to classify read", total)) ||
			!strings.Contains(it.Signature.Error, "--max-artifact-requests") || it.Signature.ReadsSkipped < total-registry.DefaultMaxArtifactRequests {
			t.Errorf("%s: signature %+v, want lookup-failed saying how many of the %d were skipped", f, it.Signature, total)
		}
		findingFor(t, it, audit.IDSignatureLookupFailed)
		if n := reg.Requests(f); n > registry.DefaultMaxArtifactRequests+4 {
			t.Errorf("%s: %d requests for one image, want at most its %d artifact reads, the resolution and the tag list", f, n, registry.DefaultMaxArtifactRequests)
		}
		t.Logf("%s: %d requests; signature: %s (readsSkipped %d)", f, reg.Requests(f), it.Signature.Error, it.Signature.ReadsSkipped)
	}

	huge := item(t, rep, "Deployment", faultregistry.HugeError, "app")
	if huge.Signature == nil || huge.Signature.Status != signature.StatusLookupFailed || !strings.Contains(huge.Signature.Error, "forbidden") ||
		!strings.Contains(huge.Signature.Error, fmt.Sprintf("and %d more", faultregistry.HugeErrorReferrers-3)) {
		t.Errorf("%s: signature %+v, want lookup-failed, forbidden, 3 problems and the count of the rest", faultregistry.HugeError, huge.Signature)
	}
	if b, _ := json.Marshal(huge); len(b) > 16<<10 {
		t.Errorf("%s: its item is %d bytes of JSON, want it bounded (each registry message is %d bytes)", faultregistry.HugeError, len(b), faultregistry.HugeErrorBytes)
	}

	large := item(t, rep, "Deployment", faultregistry.LargeIndex, "app")
	if large.Provenance == nil || !strings.Contains(large.Provenance.Error, "too-large") {
		t.Errorf("%s: provenance %+v, want too-large", faultregistry.LargeIndex, large.Provenance)
	}
	if len(r.Stdout) > 256<<10 {
		t.Errorf("the audit's JSON is %d bytes, want it bounded", len(r.Stdout))
	}
	t.Logf("audit over %d images: wall %s, %d bytes of JSON; untyped-referrers %d requests; hang: %s | %s | %s; huge-error: %s; large-index: %s",
		len(rep.Items), wall.Round(10*time.Millisecond), len(r.Stdout), reg.Requests(faultregistry.UntypedReferrers),
		hang.Signature.Error, hang.Provenance.Error, hang.Updates.Error, huge.Signature.Error, large.Provenance.Error)

	// Four reads of the 48 MiB index at once (--platform needs its
	// content): each stops at the 4 MiB cap, so the plugin's peak memory
	// stays far below one index's size.
	auths, _ := json.Marshal(map[string]any{"auths": map[string]any{reg.Host: map[string]string{"auth": base64.StdEncoding.EncodeToString([]byte(reg.User + ":" + reg.Password))}}})
	if err := os.WriteFile(filepath.Join(dir, "config.json"), auths, 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{"imgtrust", "resolve", "--platform", "linux/amd64", "--registry-ca-file", ca, "-o", "json"}
	for i := range 4 { // four tags: four lookups
		args = append(args, fmt.Sprintf("%s/%s/app:v%d", reg.Host, faultregistry.LargeIndex, i+1))
	}
	res, rss := kubectlPeakRSS(t, []string{"DOCKER_CONFIG=" + dir}, args...)
	if res.Code != 1 || !strings.Contains(res.Stdout, `"too-large"`) {
		t.Errorf("resolve --platform of the large index: want exit 1 and too-large\n%s", res)
	}
	if rss > 200<<10 {
		t.Errorf("resolve of four 48 MiB indexes peaked at %d MiB of RSS, want it bounded by the 4 MiB cap", rss>>10)
	}
	t.Logf("resolve --platform over the 48 MiB index: peak RSS %d MiB", rss>>10)
}

// kubectlPeakRSS is kubectlEnv that also returns the peak resident memory
// (KiB) of kubectl and the plugin it runs (kubectl execs plugins, so they
// are one process).
func kubectlPeakRSS(t *testing.T, env []string, args ...string) (result, int64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "kubectl", args...)
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := result{Stdout: stdout.String(), Stderr: stderr.String()}
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		r.Code = exit.ExitCode()
	case err != nil:
		t.Fatalf("running kubectl %s: %v", strings.Join(args, " "), err)
	}
	var rss int64
	if u, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		rss = u.Maxrss
	}
	return r, rss
}
