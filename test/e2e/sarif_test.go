//go:build e2e

package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/imgtrust/kubectl-imgtrust/pkg/sarif"
	"github.com/imgtrust/kubectl-imgtrust/test/fixture"
	"github.com/imgtrust/kubectl-imgtrust/test/sarifcheck"
)

// sarifOf runs a command (audit, secrets) with -o sarif through kubectl
// and checks the output against the official SARIF 2.1.0 schema.
func sarifOf(t *testing.T, command string, args ...string) sarif.Log {
	t.Helper()
	r := kubectl(t, append(append([]string{"imgtrust", command}, args...), "-o", "sarif")...)
	if r.Code != 0 {
		t.Fatalf("%s -o sarif: %s", command, r)
	}
	if err := sarifcheck.Validate([]byte(r.Stdout), filepath.Join(repoRoot, "test", "sarifcheck", sarifcheck.SchemaFile)); err != nil {
		t.Fatalf("%s -o sarif is not valid SARIF 2.1.0: %v\n%s", command, err, r.Stdout)
	}
	var log sarif.Log
	if err := json.Unmarshal([]byte(r.Stdout), &log); err != nil {
		t.Fatal(err)
	}
	return log
}

// TestAuditSARIF: live results name the workload's container; -f
// results point at the file, line and column of the image value.
func TestAuditSARIF(t *testing.T) {
	ctx := testContext(t)
	ns := newNamespace(t, "sarif")
	w := fixture.Workloads{CS: kube, NS: ns}
	if err := w.Deployment(ctx, "web", 0, fixture.PodSpec(nil, fixture.Container("web", "nginx:latest", corev1.PullIfNotPresent))); err != nil {
		t.Fatal(err)
	}
	live := sarifOf(t, "audit", "-n", ns, "--offline")
	found := false
	for _, r := range live.Runs[0].Results {
		ll := r.Locations[0].LogicalLocations
		if r.RuleID == "latest-tag" && len(ll) == 1 && ll[0].FullyQualifiedName == ns+"/Deployment/web/web" {
			found = true
		}
	}
	if !found {
		t.Errorf("no latest-tag result for %s/Deployment/web/web: %+v", ns, live.Runs[0].Results)
	}

	dir := t.TempDir()
	path := filepath.Join(dir, "app.yaml")
	manifest := "# app\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: api\nspec:\n  template:\n    spec:\n      initContainers:\n        - name: migrate\n          image: ghcr.io/acme/migrate:1.0\n      containers:\n        - name: api\n          image:   \"nginx\"\n"
	if err := os.WriteFile(path, []byte(manifest), 0o644); err != nil {
		t.Fatal(err)
	}
	files := sarifOf(t, "audit", "-f", path)
	want := map[string][2]int{"mutable-tag": {11, 18}, "implicit-latest": {14, 20}}
	for _, r := range files.Runs[0].Results {
		pos, ok := want[r.RuleID]
		if !ok {
			continue
		}
		pl := r.Locations[0].PhysicalLocation
		if pl == nil || !strings.HasSuffix(pl.ArtifactLocation.URI, "app.yaml") || pl.Region == nil || pl.Region.StartLine != pos[0] || pl.Region.StartColumn != pos[1] {
			t.Errorf("%s: location %+v, want app.yaml line %d column %d", r.RuleID, pl, pos[0], pos[1])
		}
		delete(want, r.RuleID)
	}
	if len(want) != 0 {
		t.Errorf("no results for %v", want)
	}

	// secrets: a private image and a pull secret that does not exist.
	if err := w.Deployment(ctx, "private", 0, fixture.PodSpec([]string{"gone"}, fixture.Container("app", stack.Registry+"/"+ns+"/app:1", corev1.PullAlways))); err != nil {
		t.Fatal(err)
	}
	secrets := sarifOf(t, "secrets", "-n", ns)
	hit := false
	for _, r := range secrets.Runs[0].Results {
		hit = hit || r.RuleID == "missing-secret" && r.Level == "error" && r.Locations[0].LogicalLocations[0].FullyQualifiedName == ns+"/Deployment/private"
	}
	if !hit {
		t.Errorf("secrets -o sarif: no missing-secret error for deployment/private: %+v", secrets.Runs[0].Results)
	}
}
