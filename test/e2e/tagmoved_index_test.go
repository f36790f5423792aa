//go:build e2e

package e2e

import (
	"slices"
	"strings"
	"testing"

	"github.com/imgtrust/kubectl-imgtrust/pkg/audit"
	"github.com/imgtrust/kubectl-imgtrust/test/fixture"
)

// TestTagMovedIndexPlatforms audits, through the real kubectl, pods that
// report a platform manifest of the multi-arch index their tag points at
// (as CRI-O reports the imageID): not tag-moved. Pods running another
// digest of the repository are tag-moved, as before.
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

	rep, r := auditJSON(t, "-n", ns)
	if r.Code != 0 && r.Code != 1 {
		t.Fatalf("audit: %s", r)
	}
	for name, moved := range map[string]bool{"amd": false, "arm": false, "moved": true} {
		it := item(t, rep, "Deployment", name, "app")
		if got := slices.Contains(findingIDs(it), audit.IDTagMoved); got != moved {
			t.Errorf("%s: findings %v, tag-moved %v, want %v", name, findingIDs(it), got, moved)
		}
	}
	table := kubectl(t, "imgtrust", "audit", "-n", ns)
	t.Logf("audit -n %s:\n%s", ns, table.Stdout)
	if !strings.Contains(table.Stdout, "deployment/amd") {
		t.Errorf("the table lists no deployment/amd:\n%s", table)
	}
}
