package sarif

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/imgtrust/kubectl-imgtrust/pkg/audit"
	"github.com/imgtrust/kubectl-imgtrust/pkg/coverage"
	"github.com/imgtrust/kubectl-imgtrust/pkg/pin"
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
	log := FromAudit(sample(""), "v1.2.3", nil)
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
	again := FromAudit(sample(""), "v9", nil)
	if again.Runs[0].Results[0].PartialFingerprints[fingerprintKey] != r.PartialFingerprints[fingerprintKey] {
		t.Error("the partial fingerprint changed between runs")
	}
	for _, rule := range run.Tool.Driver.Rules {
		if rule.ShortDescription.Text == rule.ID || rule.DefaultConfiguration.Level == "" || rule.Properties.Severity == "" {
			t.Errorf("rule %+v lacks a description or level", rule)
		}
	}
}

func TestManifestAuditPointsAtTheLine(t *testing.T) {
	manifest := "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  template:\n    spec:\n      containers:\n        - name: web\n          image: nginx:latest\n"
	sites := func(path string) []pin.ImageSite {
		s, err := pin.LocateImages([]byte(manifest))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	log := FromAudit(sample("k8s/web.yaml"), "v1.2.3", sites)
	doc, _ := json.Marshal(log)
	if err := sarifcheck.Validate(doc, schemaPath); err != nil {
		t.Fatalf("not valid SARIF 2.1.0: %v\n%s", err, doc)
	}
	loc := log.Runs[0].Results[0].Locations[0].PhysicalLocation
	if loc == nil || loc.ArtifactLocation.URI != "k8s/web.yaml" || loc.Region == nil || loc.Region.StartLine != 10 || loc.Region.StartColumn != 18 {
		t.Errorf("location %+v, want k8s/web.yaml line 10 column 18", loc)
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
