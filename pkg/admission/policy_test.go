package admission

import (
	"slices"
	"strings"
	"testing"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/imgtrust/kubectl-imgtrust/pkg/workload"
)

func TestParseActions(t *testing.T) {
	got, err := ParseActions([]string{"warn", "Audit", "Warn"})
	if err != nil || !slices.Equal(got, []admissionv1.ValidationAction{admissionv1.Warn, admissionv1.Audit}) {
		t.Errorf("got %v, %v", got, err)
	}
	for _, bad := range [][]string{{"Block"}, {"Deny", "Warn"}, {}} {
		if _, err := ParseActions(bad); err == nil || !strings.Contains(err.Error(), "--actions") {
			t.Errorf("%v: err %v, want a refusal naming --actions", bad, err)
		}
	}
}

func TestObjectsMatchEveryPodSpecHolder(t *testing.T) {
	p := Policy{Name: DefaultName, Rules: Rules{RequireDigest: true, Allowed: []string{"registry.acme.example/"}}, Actions: []admissionv1.ValidationAction{admissionv1.Deny}}
	vap, binding := p.Objects()
	var resources []string
	for _, r := range vap.Spec.MatchConstraints.ResourceRules {
		resources = append(resources, r.Resources...)
		if !slices.Equal(r.Operations, []admissionv1.OperationType{admissionv1.Create, admissionv1.Update}) {
			t.Errorf("operations %v", r.Operations)
		}
	}
	for _, want := range []string{"pods", "pods/ephemeralcontainers", "podtemplates", "replicationcontrollers", "deployments", "replicasets", "statefulsets", "daemonsets", "jobs", "cronjobs"} {
		if !slices.Contains(resources, want) {
			t.Errorf("%s not matched: kubectl could add an image through it", want)
		}
	}
	if len(vap.Spec.Validations) != 2 || *vap.Spec.FailurePolicy != admissionv1.Fail {
		t.Fatalf("validations %d, failurePolicy %v", len(vap.Spec.Validations), *vap.Spec.FailurePolicy)
	}
	for _, v := range vap.Spec.Validations {
		if !strings.Contains(v.MessageExpression, "fix: ") || !strings.Contains(v.MessageExpression, "kubectl imgtrust pin -f FILE --write") {
			t.Errorf("message %q names no fix", v.MessageExpression)
		}
	}
	if binding.Spec.PolicyName != vap.Name || !slices.Equal(binding.Spec.ValidationActions, p.Actions) {
		t.Errorf("binding %+v", binding.Spec)
	}
	sel := binding.Spec.MatchResources.NamespaceSelector.MatchExpressions
	if len(sel) != 1 || sel[0].Operator != metav1.LabelSelectorOpNotIn || !slices.Equal(sel[0].Values, []string{"kube-system"}) {
		t.Errorf("namespace selector %+v, want kube-system left out", sel)
	}
}

func TestScope(t *testing.T) {
	all := Scope{Exclude: []string{"monitoring"}}
	if all.Covers("kube-system") || all.Covers("monitoring") || !all.Covers("shop") {
		t.Errorf("-A --exclude-namespaces monitoring: %v", all.Excluded())
	}
	named := Scope{Namespaces: []string{"kube-system"}}
	if !named.Covers("kube-system") || named.Covers("shop") {
		t.Error("a named kube-system is checked, and only it")
	}
	p := Policy{Scope: Scope{Namespaces: []string{"shop"}, Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"env": "prod"}}}}
	sel := p.namespaceSelector()
	if sel.MatchLabels["env"] != "prod" || sel.MatchExpressions[0].Operator != metav1.LabelSelectorOpIn {
		t.Errorf("selector %+v", sel)
	}
}

func TestCELQuotesPrefixes(t *testing.T) {
	if got := celList([]string{`a'b/`, `c\d/`}); got != `['a\'b/', 'c\\d/']` {
		t.Errorf("celList = %s", got)
	}
}

func TestPreview(t *testing.T) {
	spec := func(images ...string) *workload.PodSpec {
		s := &workload.PodSpec{}
		for i, img := range images {
			typ := workload.Container
			if i == 2 {
				typ = workload.EphemeralContainer
			}
			s.Containers = append(s.Containers, workload.ContainerSpec{Name: "c", Type: typ, Image: img})
		}
		return s
	}
	pinned := "registry.acme.example/web@sha256:" + hex64
	wl := func(ns, kind, name string, s *workload.PodSpec) workload.Workload {
		return workload.Workload{Object: workload.Object{Namespace: ns, Kind: kind, Name: name, Spec: s}}
	}
	p := Policy{Rules: Rules{RequireDigest: true, Allowed: []string{"registry.acme.example/"}}, Scope: Scope{}}
	impact := Preview(p, []workload.Workload{
		wl("shop", "Deployment", "web", spec("nginx:1.27", pinned)),
		wl("shop", "Deployment", "ok", spec(pinned, pinned, "busybox")), // the ephemeral busybox is not the template's
		wl("billing", "CronJob", "report", spec("registry.acme.example/report:1")),
		wl("kube-system", "DaemonSet", "kube-proxy", spec("registry.k8s.io/kube-proxy:v1.37.0")),
		wl("shop", "Service", "svc", nil),
	}, p.Scope.Covers)
	if impact.Workloads != 3 || impact.Namespaces != 2 || len(impact.Denied) != 2 {
		t.Fatalf("impact %+v", impact)
	}
	web := impact.Denied[0]
	if web.Name != "web" || len(web.Violations) != 2 || web.Fix != "kubectl imgtrust pin deployment/web -n shop --mirror-to registry.acme.example --apply" {
		t.Errorf("web: %+v", web)
	}
	report := impact.Denied[1]
	if report.Name != "report" || len(report.Violations) != 1 || report.Violations[0].Rule != RuleRequireDigest || report.Fix != "kubectl imgtrust pin cronjob/report -n billing --apply" {
		t.Errorf("report: %+v", report)
	}
}
