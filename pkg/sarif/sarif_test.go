package sarif

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/imgtrust/kubectl-imgtrust/pkg/audit"
	"github.com/imgtrust/kubectl-imgtrust/pkg/coverage"
	"github.com/imgtrust/kubectl-imgtrust/pkg/workload"
	"github.com/imgtrust/kubectl-imgtrust/test/sarifcheck"
)

const schemaPath = "../../test/sarifcheck/" + sarifcheck.SchemaFile

func sample(source string) audit.Report {
	w := workload.Workload{Object: workload.Object{APIVersion: "apps/v1", Kind: "Deployment", Namespace: "shop", Name: "web", Source: source,
		Spec: &workload.PodSpec{Containers: []workload.ContainerSpec{{Name: "web", Type: workload.Container, Image: "nginx:latest", Path: "/spec/template/spec/containers/0/image"}}}}}
	w.Containers = []workload.Usage{{ContainerSpec: w.Spec.Containers[0]}}
	return audit.NewReport("imgtrust.dev/v1alpha1", audit.Evaluate([]workload.Workload{w}, audit.Options{FromFiles: source != ""}), false, nil)
}

func TestLiveAuditIsValidSARIF(t *testing.T) {
	log := FromAudit(sample(""), "v1.2.3", "")
	doc, _ := json.Marshal(log)
	if err := sarifcheck.Validate(doc, schemaPath); err != nil {
		t.Fatalf("not valid SARIF 2.1.0: %v\n%s", err, doc)
	}
	run := log.Runs[0]
	if len(run.Results) == 0 || len(run.Tool.Driver.Rules) == 0 {
		t.Fatalf("no results or rules: %s", doc)
	}
	r := run.Results[0]
	if r.Locations[0].LogicalLocations[0].FullyQualifiedName != "shop/Deployment/web/web" || r.Locations[0].PhysicalLocation != nil {
		t.Errorf("a live result names the container logically: %+v", r.Locations)
	}
	if r.Level != "error" || !strings.Contains(r.Message.Text, "Fix: ") {
		t.Errorf("level %q, message %q", r.Level, r.Message.Text)
	}
	// The fingerprint follows what and where, not the wording or the run.
	again := FromAudit(sample(""), "v9", "")
	if again.Runs[0].Results[0].PartialFingerprints[fingerprintKey] != r.PartialFingerprints[fingerprintKey] {
		t.Error("the partial fingerprint changed between runs")
	}
	for _, rule := range run.Tool.Driver.Rules {
		if rule.ShortDescription.Text == rule.ID || rule.DefaultConfiguration.Level == "" || rule.Properties.Severity == "" {
			t.Errorf("rule %+v lacks a description or level", rule)
		}
	}
}

// fromFiles audits manifest files as audit -f does (pkg/workload reads
// them) and builds the SARIF log with srcRoot as %SRCROOT%.
func fromFiles(t *testing.T, srcRoot string, files map[string]string) Log {
	t.Helper()
	var paths []string
	for name, text := range files {
		path := filepath.Join(srcRoot, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, path)
	}
	d, err := workload.Discover(context.Background(), nil, workload.Scope{Filenames: paths})
	if err != nil {
		t.Fatal(err)
	}
	rep := audit.NewReport("imgtrust.dev/v1alpha1", audit.Evaluate(d.Workloads, audit.Options{FromFiles: true}), false, nil)
	rep.Summary.InputErrors = d.InputErrors
	log := FromAudit(rep, "v1.2.3", srcRoot)
	doc, _ := json.Marshal(log)
	if err := sarifcheck.Validate(doc, schemaPath); err != nil {
		t.Fatalf("not valid SARIF 2.1.0: %v\n%s", err, doc)
	}
	return log
}

func TestManifestAuditPointsAtTheLine(t *testing.T) {
	root := t.TempDir()
	twoNamespaces := "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: blue}\nspec:\n  template:\n    spec:\n      containers:\n        - name: web\n          image: nginx:latest\n" +
		"---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: green}\nspec:\n  template:\n    spec:\n      containers:\n        - name: web\n          image: nginx:latest\n"
	log := fromFiles(t, root, map[string]string{"k8s dir/web:1.yaml": twoNamespaces})
	run := log.Runs[0]
	if run.ColumnKind != "utf16CodeUnits" || run.OriginalURIBaseIDs[srcRootID].URI != "file://"+root+"/" {
		t.Errorf("columnKind %q, base %+v", run.ColumnKind, run.OriginalURIBaseIDs)
	}
	if len(run.Invocations) != 1 || !run.Invocations[0].ExecutionSuccessful {
		t.Errorf("invocations %+v, want one successful", run.Invocations)
	}
	lines := map[int]bool{}
	for _, r := range run.Results {
		loc := r.Locations[0].PhysicalLocation
		if loc == nil || loc.ArtifactLocation.URI != "k8s%20dir/web%3A1.yaml" || loc.ArtifactLocation.URIBaseID != srcRootID || loc.Region == nil || loc.Region.StartColumn != 18 {
			t.Fatalf("location %+v, want k8s%%20dir/web%%3A1.yaml under %%SRCROOT%%, column 18", loc)
		}
		lines[loc.Region.StartLine] = true
		if r.RuleID == audit.IDLatestTag && !strings.Contains(r.Message.Text, "kubectl imgtrust pin -f '"+filepath.Join(root, "k8s dir/web:1.yaml")+"' --write") {
			t.Errorf("message %q: the fix of a manifest is a file command", r.Message.Text)
		}
	}
	// Two objects of one name in two namespaces: each at its own line.
	if !lines[9] || !lines[19] || len(lines) != 2 {
		t.Errorf("result lines %v, want 9 and 19", lines)
	}
	for _, rule := range run.Tool.Driver.Rules {
		if rule.Help.Text == "" || rule.Help.Text != audit.GeneralFix(rule.ID) {
			t.Errorf("rule %s help %q: want the general fix, not one image's", rule.ID, rule.Help.Text)
		}
	}
}

func TestManifestOutsideTheWorkingDirectory(t *testing.T) {
	outside := t.TempDir()
	log := fromFiles(t, outside, map[string]string{"p.yaml": "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: a, image: nginx}]}\n"})
	// Same files, seen from another working directory.
	d, _ := workload.Discover(context.Background(), nil, workload.Scope{Filenames: []string{filepath.Join(outside, "p.yaml")}})
	rep := audit.NewReport("imgtrust.dev/v1alpha1", audit.Evaluate(d.Workloads, audit.Options{FromFiles: true}), false, nil)
	log = FromAudit(rep, "v1", t.TempDir())
	loc := log.Runs[0].Results[0].Locations[0].PhysicalLocation
	if loc == nil || loc.ArtifactLocation.URI != "file://"+filepath.Join(outside, "p.yaml") || loc.ArtifactLocation.URIBaseID != "" {
		t.Errorf("location %+v, want an absolute file:// URI", loc)
	}
}

func TestUnreadableInputIsANotification(t *testing.T) {
	root := t.TempDir()
	log := fromFiles(t, root, map[string]string{
		"ok.yaml":  "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: a, image: nginx}]}\n",
		"bad.yaml": "not: [yaml\n",
		"tpl.yaml": "apiVersion: v1\nkind: Pod\nmetadata:\n  name: {{ .Release.Name }}\n",
	})
	inv := log.Runs[0].Invocations
	if len(inv) != 1 || inv[0].ExecutionSuccessful || len(inv[0].ToolExecutionNotifications) != 2 {
		t.Fatalf("invocations %+v, want one unsuccessful with two notifications", inv)
	}
	byFile := map[string]Notification{}
	for _, n := range inv[0].ToolExecutionNotifications {
		byFile[n.Locations[0].PhysicalLocation.ArtifactLocation.URI] = n
	}
	// A template's line is known; yaml.v3's own line numbers are not
	// trusted for a region (they count from 0 or 1 by error).
	if r := byFile["tpl.yaml"].Locations[0].PhysicalLocation.Region; r == nil || r.StartLine != 4 {
		t.Errorf("template notification region %+v, want line 4", r)
	}
	n := byFile["bad.yaml"]
	if pl := n.Locations[0].PhysicalLocation; n.Level != "error" || pl.ArtifactLocation.URI != "bad.yaml" || pl.Region != nil || !strings.Contains(n.Message.Text, "not plain YAML") {
		t.Errorf("notification %+v", n)
	}
	if len(log.Runs[0].Results) == 0 {
		t.Error("the readable file's results are gone")
	}
}

// The validator can fail: a log without its version is refused.
func TestValidateRefusesInvalidSARIF(t *testing.T) {
	if err := sarifcheck.Validate([]byte(`{"runs":[]}`), schemaPath); err == nil {
		t.Error("a log without version validated")
	}
}

func TestSecretsIsValidSARIF(t *testing.T) {
	rep := coverage.Report{
		Items: []coverage.Row{
			{Namespace: "shop", Kind: "Deployment", Name: "web", Registry: "ghcr.io", Status: coverage.MissingSecret, Detail: "secret regcred does not exist"},
			{Namespace: "shop", Kind: "Deployment", Name: "api", Registry: "ghcr.io", Status: coverage.Covered},
		},
		NamespaceFindings: []coverage.Finding{{Namespace: "shop", Type: coverage.FindingUnused, Object: "secret/old", Detail: "no workload uses it", Fix: "kubectl delete secret old -n shop"}},
	}
	log := FromSecrets(rep, "v1")
	doc, _ := json.Marshal(log)
	if err := sarifcheck.Validate(doc, schemaPath); err != nil {
		t.Fatalf("not valid SARIF 2.1.0: %v\n%s", err, doc)
	}
	var ids []string
	for _, r := range log.Runs[0].Results {
		ids = append(ids, r.RuleID+":"+r.Level)
	}
	if strings.Join(ids, ",") != "missing-secret:error,unused-secret:note" || len(log.Runs[0].Tool.Driver.Rules) != 2 {
		t.Errorf("results %v (covered rows are not results), rules %+v", ids, log.Runs[0].Tool.Driver.Rules)
	}
}

// An image volume and a container of the same name are two locations.
func TestImageVolumeLocation(t *testing.T) {
	w := workload.Workload{Object: workload.Object{APIVersion: "apps/v1", Kind: "Deployment", Namespace: "shop", Name: "web"}}
	w.Containers = []workload.Usage{
		{ContainerSpec: workload.ContainerSpec{Name: "data", Type: workload.Container, Image: "nginx:latest"}},
		{ContainerSpec: workload.ContainerSpec{Name: "data", Type: workload.ImageVolume, Image: "nginx:latest"}},
	}
	log := FromAudit(audit.NewReport("imgtrust.dev/v1alpha1", audit.Evaluate([]workload.Workload{w}, audit.Options{}), false, nil), "v1", "")
	names := map[string]bool{}
	prints := map[string]bool{}
	for _, r := range log.Runs[0].Results {
		names[r.Locations[0].LogicalLocations[0].FullyQualifiedName] = true
		prints[r.PartialFingerprints[fingerprintKey]] = true
	}
	if !names["shop/Deployment/web/data"] || !names["shop/Deployment/web/volume/data"] || len(prints) != len(log.Runs[0].Results) {
		t.Errorf("locations %v, %d fingerprints for %d results", names, len(prints), len(log.Runs[0].Results))
	}
}
