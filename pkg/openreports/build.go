// Package openreports turns an audit into OpenReports Report objects
// (openreports.io/v1alpha1, what Kyverno 1.15+ and Policy Reporter read) and
// writes them to the cluster: one Report per namespace, applied server-side,
// with the reports of namespaces that no longer hold workloads pruned.
package openreports

import (
	"sort"
	"time"

	v1alpha1 "github.com/openreports/reports-api/apis/openreports.io/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/imgtrust/kubectl-imgtrust/pkg/audit"
)

const (
	// Source names us in every Report and result.
	Source = "kubectl-imgtrust"
	// ReportName is the one Report we own in each namespace.
	ReportName = "kubectl-imgtrust"
	// FieldManager owns the fields we apply.
	FieldManager = "kubectl-imgtrust"
	// ManagedByLabel marks our Reports, so that pruning finds them and
	// nobody else's.
	ManagedByLabel = "app.kubernetes.io/managed-by"
	// PassPolicy is the policy of the one pass result of a container
	// without findings.
	PassPolicy = "imgtrust-audit"
)

// Result values of the OpenReports API.
const (
	ResultPass  v1alpha1.Result = "pass"
	ResultFail  v1alpha1.Result = "fail"
	ResultWarn  v1alpha1.Result = "warn"
	ResultError v1alpha1.Result = "error"
)

// FromAudit builds one Report per namespace of the report's items, sorted
// by namespace: a result per finding (policy = finding ID), and a pass
// result for each container without one. now stamps every result.
func FromAudit(rep audit.Report, now time.Time) []v1alpha1.Report {
	stamp := metav1.Timestamp{Seconds: now.Unix()}
	byNS := map[string]*v1alpha1.Report{}
	var order []string
	for _, it := range rep.Items {
		r, ok := byNS[it.Namespace]
		if !ok {
			r = newReport(it.Namespace)
			byNS[it.Namespace] = r
			order = append(order, it.Namespace)
		}
		if len(it.Findings) == 0 {
			add(r, base(it, stamp, PassPolicy, ResultPass, "no findings"))
			continue
		}
		for _, f := range it.Findings {
			res := base(it, stamp, f.ID, resultOf(f), f.Message)
			res.Severity = severityOf(f.Severity)
			res.Category = audit.Category(f.ID)
			res.Properties["fix"] = f.Fix
			add(r, res)
		}
	}
	sort.Strings(order)
	out := make([]v1alpha1.Report, 0, len(order))
	for _, ns := range order {
		out = append(out, *byNS[ns])
	}
	return out
}

func newReport(namespace string) *v1alpha1.Report {
	return &v1alpha1.Report{
		TypeMeta: metav1.TypeMeta{APIVersion: v1alpha1.GroupVersion.String(), Kind: "Report"},
		ObjectMeta: metav1.ObjectMeta{
			Name: ReportName, Namespace: namespace,
			Labels: map[string]string{ManagedByLabel: Source},
		},
		Source:  Source,
		Results: []v1alpha1.ReportResult{},
	}
}

// base is a result for one container of one workload.
func base(it audit.Item, stamp metav1.Timestamp, policy string, result v1alpha1.Result, message string) v1alpha1.ReportResult {
	obj := it.Object()
	props := map[string]string{"container": it.Container, "image": it.Image}
	if it.Reference != nil {
		props["registry"] = it.Reference.Registry
	}
	if d := digestOf(it); d != "" {
		props["digest"] = d
	}
	return v1alpha1.ReportResult{
		Source: Source, Policy: policy, Result: result, Description: message,
		Timestamp: stamp, Properties: props,
		Subjects: []corev1.ObjectReference{{
			APIVersion: obj.APIVersion, Kind: it.Kind, Namespace: it.Namespace, Name: it.Name, UID: obj.UID,
		}},
	}
}

// digestOf is the digest the result is about: what runs, else what the
// spec names, else what the tag points at now.
func digestOf(it audit.Item) string {
	switch {
	case len(it.RunningDigests) > 0:
		return it.RunningDigests[0]
	case it.Reference != nil && it.Reference.Digest != "":
		return it.Reference.Digest
	}
	return it.ResolvedDigest
}

// resultOf: a registry that could not answer is an error (the check was
// not made), never a fail; low findings warn, the rest fail.
func resultOf(f audit.Finding) v1alpha1.Result {
	switch {
	case audit.IsLookupFailure(f.ID):
		return ResultError
	case f.Severity == audit.SeverityLow:
		return ResultWarn
	}
	return ResultFail
}

func severityOf(s audit.Severity) v1alpha1.ResultSeverity {
	switch s {
	case audit.SeverityHigh, audit.SeverityMedium, audit.SeverityLow:
		return v1alpha1.ResultSeverity(s)
	}
	return "info"
}

func add(r *v1alpha1.Report, res v1alpha1.ReportResult) {
	r.Results = append(r.Results, res)
	switch res.Result {
	case ResultPass:
		r.Summary.Pass++
	case ResultFail:
		r.Summary.Fail++
	case ResultWarn:
		r.Summary.Warn++
	case ResultError:
		r.Summary.Error++
	}
}
