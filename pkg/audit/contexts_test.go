package audit

import "testing"

func TestSummarizeContexts(t *testing.T) {
	items := []Item{
		{Context: "prod", Namespace: "shop", Kind: "Deployment", Name: "web", Findings: []Finding{{ID: IDLatestTag, Severity: SeverityHigh}}},
		{Context: "prod", Namespace: "shop", Kind: "Deployment", Name: "web", Container: "sidecar"},
		{Context: "dev", Namespace: "shop", Kind: "Deployment", Name: "web", Findings: []Finding{{ID: IDImplicitRegistry, Severity: SeverityLow}}},
	}
	got := SummarizeContexts(items, []string{"prod", "dev", "gone"}, map[string]string{"gone": "cannot reach the API server"})
	if len(got) != 3 {
		t.Fatalf("got %d summaries", len(got))
	}
	if p := got[0]; p.Name != "prod" || p.Workloads != 1 || p.Usages != 2 || p.Findings[SeverityHigh] != 1 || p.Error != "" {
		t.Errorf("prod: %+v", p)
	}
	if d := got[1]; d.Name != "dev" || d.Workloads != 1 || d.Findings[SeverityLow] != 1 || d.Findings[SeverityHigh] != 0 {
		t.Errorf("dev: %+v", d)
	}
	if g := got[2]; g.Name != "gone" || g.Error == "" || g.Usages != 0 {
		t.Errorf("gone: %+v", g)
	}
}

func TestCostAdd(t *testing.T) {
	var total *Cost
	total = total.Add(nil)
	if total != nil {
		t.Errorf("nil + nil = %+v", total)
	}
	total = total.Add(&Cost{Provenance: &ReadCost{Lookups: 2, Requests: 5}})
	total = total.Add(&Cost{Provenance: &ReadCost{Lookups: 1, Requests: 1}, Updates: &ReadCost{Lookups: 1, Requests: 2}})
	if total.Provenance.Lookups != 3 || total.Provenance.Requests != 6 || total.Updates.Requests != 2 {
		t.Errorf("sum %+v %+v", total.Provenance, total.Updates)
	}
}
