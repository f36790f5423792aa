//go:build e2e

package e2e

import (
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/imgtrust/kubectl-imgtrust/pkg/audit"
	"github.com/imgtrust/kubectl-imgtrust/test/faultregistry"
	"github.com/imgtrust/kubectl-imgtrust/test/fixture"
)

// TestTagMovedIndexPlatforms audits, through the real kubectl, pods that
// report a platform manifest of the multi-arch index their tag points at
// (as CRI-O reports the imageID): not tag-moved. Pods running another
// digest of the repository are tag-moved, as before; pods of a tag whose
// index cannot be read are unresolvable, never tag-moved. A spec pinned to the
// index whose pods report its platforms is not running-differs-from-spec,
// and a tag's pods on two platforms are not mixed-running-digests; offline
// the findings stay, saying they may be platforms of an index.
func TestTagMovedIndexPlatforms(t *testing.T) {
	ctx := testContext(t)
	ns := signNamespace(t, "tagidx")
	multi, err := stack.PushIndex(ctx, stack.Registry+"/"+ns+"/multi:1", "linux/amd64", "linux/arm64")
	if err != nil {
		t.Fatal(err)
	}
	old := push(t, stack.Registry+"/"+ns+"/multi:old")
	deployRunning(t, ns, "amd", fixture.Pushed{Ref: multi.Ref, Digest: multi.Platforms["linux/amd64"]})
	deployRunning(t, ns, "arm", fixture.Pushed{Ref: multi.Ref, Digest: multi.Platforms["linux/arm64"]})
	deployRunning(t, ns, "moved", fixture.Pushed{Ref: multi.Ref, Digest: old.Digest})
	amd, arm := multi.Platforms["linux/amd64"], multi.Platforms["linux/arm64"]
	pinned := multi.Repo() + "@" + multi.Digest
	deployPlatforms(t, ns, "pinned", pinned, multi.Repo(), amd, arm)
	deployPlatforms(t, ns, "two", multi.Ref, multi.Repo(), amd, arm)
	deployPlatforms(t, ns, "pinned-stale", pinned, multi.Repo(), old.Digest)
	// A tag on an index the registry will not list (48 MiB, over the read
	// cap): its pods may run a platform of it, so whether the tag moved is
	// not known.
	freg, ca := faultregistry.StartForTest(t)
	if _, err := kube.CoreV1().Secrets(ns).Create(ctx, fixture.PullSecret(ns, "faultcred", freg.Host, freg.User, freg.Password), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	unlisted := freg.Image(faultregistry.LargeIndex)
	unlistedRepo, _, _ := strings.Cut(unlisted, ":v1")
	w := fixture.Workloads{CS: kube, NS: ns}
	if err := w.Deployment(ctx, "unlisted", 1, fixture.PodSpec([]string{"faultcred"}, fixture.Container("app", unlisted, corev1.PullIfNotPresent))); err != nil {
		t.Fatal(err)
	}
	pods, err := fixture.WaitForPods(ctx, kube, ns, "app=unlisted", 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := fixture.SetRunning(ctx, kube, &pods[0], map[string]string{"app": unlistedRepo + "@" + amd}); err != nil {
		t.Fatal(err)
	}

	rep, r := auditJSON(t, "-n", ns, "--registry-ca-file", ca)
	if r.Code != 0 && r.Code != 1 {
		t.Fatalf("audit: %s", r)
	}
	un := item(t, rep, "Deployment", "unlisted", "app")
	if slices.Contains(findingIDs(un), audit.IDTagMoved) {
		t.Errorf("unlisted: findings %v, want no tag-moved: the index could not be read", findingIDs(un))
	}
	f := findingFor(t, un, audit.IDUnresolvable)
	if !strings.Contains(f.Message, "whether the tag moved is not known") || !strings.Contains(f.Message, "too-large") {
		t.Errorf("unlisted: unresolvable %q, want it to say the index was too large and a move is not known", f.Message)
	}
	t.Logf("unlisted: %s: %s", f.ID, f.Message)
	for name, moved := range map[string]bool{"amd": false, "arm": false, "moved": true} {
		it := item(t, rep, "Deployment", name, "app")
		if got := slices.Contains(findingIDs(it), audit.IDTagMoved); got != moved {
			t.Errorf("%s: findings %v, tag-moved %v, want %v", name, findingIDs(it), got, moved)
		}
	}
	for name, want := range map[string][]string{"pinned": nil, "two": nil, "pinned-stale": {audit.IDRunningDiffersFromSpec}} {
		ids := findingIDs(item(t, rep, "Deployment", name, "app"))
		for _, id := range []string{audit.IDRunningDiffersFromSpec, audit.IDMixedRunningDigests, audit.IDTagMoved} {
			if slices.Contains(ids, id) != slices.Contains(want, id) {
				t.Errorf("%s: findings %v, want of %s, %s and %s only %v", name, ids, audit.IDRunningDiffersFromSpec, audit.IDMixedRunningDigests, audit.IDTagMoved, want)
			}
		}
	}
	offline, r := auditJSON(t, "-n", ns, "--offline")
	if r.Code != 0 && r.Code != 1 {
		t.Fatalf("audit --offline: %s", r)
	}
	for name, id := range map[string]string{"pinned": audit.IDRunningDiffersFromSpec, "two": audit.IDMixedRunningDigests} {
		it := item(t, offline, "Deployment", name, "app")
		i := slices.IndexFunc(it.Findings, func(f audit.Finding) bool { return f.ID == id })
		if i < 0 || !strings.Contains(it.Findings[i].Message, "cannot be checked offline") {
			t.Errorf("%s offline: findings %+v, want %s saying it cannot be checked offline", name, it.Findings, id)
		} else {
			t.Logf("%s offline: %s: %s", name, id, it.Findings[i].Message)
		}
	}
	table := kubectl(t, "imgtrust", "audit", "-n", ns)
	t.Logf("audit -n %s:\n%s", ns, table.Stdout)
	if !strings.Contains(table.Stdout, "deployment/amd") {
		t.Errorf("the table lists no deployment/amd:\n%s", table)
	}
}

// deployPlatforms creates a deployment of image with one pod per digest,
// each reporting repo@digest as its imageID, as CRI-O reports the platform
// manifest a node pulled.
func deployPlatforms(t *testing.T, ns, name, image, repo string, digests ...string) {
	t.Helper()
	ctx := testContext(t)
	w := fixture.Workloads{CS: kube, NS: ns}
	if err := w.Deployment(ctx, name, int32(len(digests)), fixture.PodSpec([]string{"regcred"}, fixture.Container("app", image, corev1.PullIfNotPresent))); err != nil {
		t.Fatal(err)
	}
	pods, err := fixture.WaitForPods(ctx, kube, ns, "app="+name, len(digests))
	if err != nil {
		t.Fatal(err)
	}
	if len(pods) != len(digests) {
		t.Fatalf("deployment %s: %d pods, want %d", name, len(pods), len(digests))
	}
	for i, d := range digests {
		if err := fixture.SetRunning(ctx, kube, &pods[i], map[string]string{"app": repo + "@" + d}); err != nil {
			t.Fatal(err)
		}
	}
}
