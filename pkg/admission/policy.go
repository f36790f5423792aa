package admission

import (
	"fmt"
	"slices"
	"strings"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// Labels every object we make carries, so `--delete` and users find them.
const (
	ManagedByLabel = "app.kubernetes.io/managed-by"
	ManagedBy      = "kubectl-imgtrust"
	// DefaultName names the policy and its binding.
	DefaultName = "imgtrust-images"
)

// kubeSystem is left alone unless named: a policy that refuses the
// control plane's own images would lock the cluster.
const kubeSystem = "kube-system"

// Scope is where the binding applies.
type Scope struct {
	// Namespaces, when set, are the only namespaces checked.
	Namespaces []string
	// Exclude are namespaces never checked; kube-system is added unless
	// Namespaces names it.
	Exclude []string
	// Selector narrows to namespaces with these labels.
	Selector *metav1.LabelSelector
}

// Excluded are the namespaces the binding leaves alone.
func (s Scope) Excluded() []string {
	if len(s.Namespaces) > 0 {
		return nil
	}
	out := slices.Clone(s.Exclude)
	if !slices.Contains(out, kubeSystem) {
		out = append(out, kubeSystem)
	}
	slices.Sort(out)
	return out
}

// Covers reports whether a namespace is checked, as far as names say
// (the label selector is the API server's to apply).
func (s Scope) Covers(ns string) bool {
	if len(s.Namespaces) > 0 {
		return slices.Contains(s.Namespaces, ns)
	}
	return !slices.Contains(s.Excluded(), ns)
}

// Policy is what to generate.
type Policy struct {
	Name    string
	Rules   Rules
	Scope   Scope
	Actions []admissionv1.ValidationAction
}

// ParseActions reads --actions: Deny, Warn, Audit (Deny and Warn exclude
// each other, as the API server requires).
func ParseActions(list []string) ([]admissionv1.ValidationAction, error) {
	var out []admissionv1.ValidationAction
	for _, a := range list {
		var act admissionv1.ValidationAction
		switch strings.ToLower(strings.TrimSpace(a)) {
		case "deny":
			act = admissionv1.Deny
		case "warn":
			act = admissionv1.Warn
		case "audit":
			act = admissionv1.Audit
		default:
			return nil, fmt.Errorf("--actions %q is not an action: use Deny, Warn or Audit (e.g. --actions Warn,Audit first, then Deny)", a)
		}
		if !slices.Contains(out, act) {
			out = append(out, act)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("--actions is empty: use Warn,Audit to start, Deny to enforce")
	}
	if slices.Contains(out, admissionv1.Deny) && slices.Contains(out, admissionv1.Warn) {
		return nil, fmt.Errorf("--actions Deny and Warn exclude each other (a denied request has nothing to warn about): use Deny or Deny,Audit")
	}
	return out, nil
}

// Denies reports whether the actions refuse requests.
func (p Policy) Denies() bool { return slices.Contains(p.Actions, admissionv1.Deny) }

// matchedResources are every resource whose object holds a pod spec; a
// rule for pods does not match pods/ephemeralcontainers (kubectl debug).
func matchedResources() []admissionv1.NamedRuleWithOperations {
	rule := func(group string, resources ...string) admissionv1.NamedRuleWithOperations {
		return admissionv1.NamedRuleWithOperations{RuleWithOperations: admissionv1.RuleWithOperations{
			Operations: []admissionv1.OperationType{admissionv1.Create, admissionv1.Update},
			Rule: admissionv1.Rule{
				APIGroups: []string{group}, APIVersions: []string{"*"}, Resources: resources,
			},
		}}
	}
	return []admissionv1.NamedRuleWithOperations{
		rule("", "pods", "pods/ephemeralcontainers", "podtemplates", "replicationcontrollers"),
		rule("apps", "deployments", "replicasets", "statefulsets", "daemonsets"),
		rule("batch", "jobs", "cronjobs"),
	}
}

// Objects renders the ValidatingAdmissionPolicy and its binding.
func (p Policy) Objects() (*admissionv1.ValidatingAdmissionPolicy, *admissionv1.ValidatingAdmissionPolicyBinding) {
	fail := admissionv1.Fail
	labels := map[string]string{ManagedByLabel: ManagedBy}
	vap := &admissionv1.ValidatingAdmissionPolicy{
		TypeMeta:   metav1.TypeMeta{APIVersion: admissionv1.SchemeGroupVersion.String(), Kind: "ValidatingAdmissionPolicy"},
		ObjectMeta: metav1.ObjectMeta{Name: p.Name, Labels: labels},
		Spec: admissionv1.ValidatingAdmissionPolicySpec{
			FailurePolicy:    &fail,
			MatchConstraints: &admissionv1.MatchResources{ResourceRules: matchedResources()},
		},
	}
	for _, v := range p.Rules.celVariables() {
		vap.Spec.Variables = append(vap.Spec.Variables, admissionv1.Variable{Name: v.Name, Expression: v.Expression})
	}
	for _, v := range p.Rules.celValidations() {
		reason := metav1.StatusReasonForbidden
		vap.Spec.Validations = append(vap.Spec.Validations, admissionv1.Validation{
			Expression: v.Expression, MessageExpression: v.Message, Reason: &reason,
		})
	}
	binding := &admissionv1.ValidatingAdmissionPolicyBinding{
		TypeMeta:   metav1.TypeMeta{APIVersion: admissionv1.SchemeGroupVersion.String(), Kind: "ValidatingAdmissionPolicyBinding"},
		ObjectMeta: metav1.ObjectMeta{Name: p.Name, Labels: labels},
		Spec: admissionv1.ValidatingAdmissionPolicyBindingSpec{
			PolicyName:        p.Name,
			ValidationActions: p.Actions,
			MatchResources:    &admissionv1.MatchResources{NamespaceSelector: p.namespaceSelector()},
		},
	}
	return vap, binding
}

// namespaceSelector selects by the kubernetes.io/metadata.name label every
// namespace carries, plus the user's labels.
func (p Policy) namespaceSelector() *metav1.LabelSelector {
	sel := &metav1.LabelSelector{}
	if p.Scope.Selector != nil {
		sel = p.Scope.Selector.DeepCopy()
	}
	const nameLabel = "kubernetes.io/metadata.name"
	if len(p.Scope.Namespaces) > 0 {
		sel.MatchExpressions = append(sel.MatchExpressions, metav1.LabelSelectorRequirement{Key: nameLabel, Operator: metav1.LabelSelectorOpIn, Values: p.Scope.Namespaces})
	} else {
		sel.MatchExpressions = append(sel.MatchExpressions, metav1.LabelSelectorRequirement{Key: nameLabel, Operator: metav1.LabelSelectorOpNotIn, Values: p.Scope.Excluded()})
	}
	return sel
}

// Manifests are the policy and its binding as plain objects, without the
// empty creationTimestamp and status a typed object would print.
func (p Policy) Manifests() ([]map[string]any, error) {
	vap, binding := p.Objects()
	var out []map[string]any
	for _, obj := range []any{vap, binding} {
		m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
		if err != nil {
			return nil, err
		}
		delete(m, "status")
		if meta, ok := m["metadata"].(map[string]any); ok {
			delete(meta, "creationTimestamp")
		}
		out = append(out, m)
	}
	return out, nil
}
