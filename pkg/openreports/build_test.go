package openreports

import (
	"testing"
	"time"

	v1alpha1 "github.com/openreports/reports-api/apis/openreports.io/v1alpha1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/imgtrust/kubectl-imgtrust/pkg/audit"
	"github.com/imgtrust/kubectl-imgtrust/pkg/workload"
)

func deployment(ns, name, image string) workload.Workload {
	w := workload.Workload{Object: workload.Object{APIVersion: "apps/v1", Kind: "Deployment", Namespace: ns, Name: name, UID: types.UID("uid-" + name),
		Spec: &workload.PodSpec{Containers: []workload.ContainerSpec{{Name: "app", Type: workload.Container, Image: image}}}}}
	w.Containers = []workload.Usage{{ContainerSpec: w.Spec.Containers[0]}}
	return w
}

const pinned = "reg.example.com/shop/api@sha256:1111111111111111111111111111111111111111111111111111111111111111"

func TestOneReportPerNamespaceWithAResultPerFinding(t *testing.T) {
	items := audit.Evaluate([]workload.Workload{
		deployment("shop", "web", "nginx:latest"),
		deployment("shop", "api", pinned),
		deployment("billing", "db", "reg.example.com/db:1.2"),
	}, audit.Options{})
	// A registry that could not answer: a check not made.
	for i := range items {
		if items[i].Name == "db" {
			items[i].Findings = append(items[i].Findings, audit.Finding{ID: audit.IDUnresolvable, Severity: audit.SeverityMedium, Message: "registry answered 503", Fix: "retry"})
		}
	}
	now := time.Unix(1700000000, 0)
	reports := FromAudit(audit.NewReport("imgtrust.dev/v1alpha1", items, true, nil), now)
	if len(reports) != 2 || reports[0].Namespace != "billing" || reports[1].Namespace != "shop" {
		t.Fatalf("want Reports for billing and shop, got %d: %+v", len(reports), reports)
	}
	for _, r := range reports {
		if r.Name != ReportName || r.Source != Source || r.Labels[ManagedByLabel] != Source || r.APIVersion != "openreports.io/v1alpha1" || r.Kind != "Report" {
			t.Errorf("%s: metadata %+v source %q", r.Namespace, r.ObjectMeta, r.Source)
		}
	}

	byPolicy := func(r v1alpha1.Report) map[string]v1alpha1.ReportResult {
		m := map[string]v1alpha1.ReportResult{}
		for _, res := range r.Results {
			m[res.Subjects[0].Name+"/"+res.Policy] = res
		}
		return m
	}
	shop := byPolicy(reports[1])
	latest, ok := shop["web/latest-tag"]
	if !ok || latest.Result != ResultFail || latest.Severity != "high" || latest.Category != "pinning" || latest.Properties["fix"] == "" || latest.Properties["image"] != "nginx:latest" || latest.Properties["registry"] != "index.docker.io" {
		t.Errorf("latest-tag result: %+v", latest)
	}
	if implicit := shop["web/implicit-registry"]; implicit.Result != ResultWarn || implicit.Severity != "low" {
		t.Errorf("a low finding warns: %+v", implicit)
	}
	pass, ok := shop["api/"+PassPolicy]
	if !ok || pass.Result != ResultPass || pass.Properties["digest"] != "sha256:1111111111111111111111111111111111111111111111111111111111111111" {
		t.Errorf("a clean container has one pass result with its digest: %+v", pass)
	}
	subject := latest.Subjects[0]
	if subject.APIVersion != "apps/v1" || subject.Kind != "Deployment" || subject.Namespace != "shop" || subject.UID != "uid-web" {
		t.Errorf("subject %+v", subject)
	}
	if latest.Timestamp.Seconds != now.Unix() || latest.Source != Source {
		t.Errorf("timestamp %+v source %q", latest.Timestamp, latest.Source)
	}
	if s := reports[1].Summary; s.Pass != 1 || s.Fail != len(reports[1].Results)-1-s.Warn || s.Warn == 0 || s.Error != 0 {
		t.Errorf("shop summary %+v of %d results", s, len(reports[1].Results))
	}

	billing := byPolicy(reports[0])
	if res := billing["db/"+audit.IDUnresolvable]; res.Result != ResultError {
		t.Errorf("a lookup failure is an error result, never a fail: %+v", res)
	}
	if reports[0].Summary.Error != 1 {
		t.Errorf("billing summary %+v", reports[0].Summary)
	}
}

func TestNoItemsNoReports(t *testing.T) {
	if got := FromAudit(audit.NewReport("imgtrust.dev/v1alpha1", nil, false, nil), time.Now()); len(got) != 0 {
		t.Errorf("got %d Reports for an empty audit", len(got))
	}
}
