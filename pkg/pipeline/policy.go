package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	"github.com/imgtrust/kubectl-imgtrust/pkg/admission"
)

// PolicyConfig is one run of `policy`: preview, and apply or delete.
type PolicyConfig struct {
	Cluster Cluster
	Policy  admission.Policy
	Apply   bool
	Delete  bool
	// Force applies Deny although the preview is not empty, takes over
	// fields another manager owns, and deletes objects we did not make.
	Force bool
}

// PolicyResult is what the run found and did.
type PolicyResult struct {
	Impact   admission.Impact
	Warnings []string
	// Done names what was applied or deleted, e.g.
	// "validatingadmissionpolicy/imgtrust-images applied".
	Done []string
}

// DenyRefused refuses a Deny rollout while workloads still break the
// rules: the next rollout of each would be refused.
type DenyRefused struct{ Workloads int }

func (e *DenyRefused) Error() string {
	return fmt.Sprintf("refusing --actions Deny while %d workloads would be denied (their next rollout would fail): fix them first (each row names its fix), stage with --actions Warn,Audit, or pass --force", e.Workloads)
}

// Policy previews the policy against the cluster's workloads and, when
// asked, server-side applies it (or deletes what we made).
func Policy(ctx context.Context, cfg PolicyConfig) (PolicyResult, error) {
	client, err := cfg.Cluster.Client()
	if err != nil {
		return PolicyResult{}, err
	}
	if err := requireVAP(client); err != nil {
		return PolicyResult{}, err
	}
	if cfg.Delete {
		done, err := deletePolicy(ctx, client, cfg.Policy.Name, cfg.Force)
		return PolicyResult{Done: done}, err
	}
	var out PolicyResult
	covered, err := coveredNamespaces(ctx, client, cfg.Policy.Scope)
	if err != nil {
		return out, err
	}
	found, err := cfg.Cluster.Discover(ctx)
	if err != nil {
		return out, err
	}
	out.Warnings = found.Warnings
	out.Impact = admission.Preview(cfg.Policy, found.Workloads, covered)
	if !cfg.Apply {
		return out, nil
	}
	if cfg.Policy.Denies() && len(out.Impact.Denied) > 0 && !cfg.Force {
		return out, &DenyRefused{Workloads: len(out.Impact.Denied)}
	}
	out.Done, err = applyPolicy(ctx, client, cfg.Policy, cfg.Force)
	return out, err
}

// requireVAP checks that the API server serves ValidatingAdmissionPolicy
// at v1 (Kubernetes 1.30 and later).
func requireVAP(client kubernetes.Interface) error {
	list, err := client.Discovery().ServerResourcesForGroupVersion(admissionv1.SchemeGroupVersion.String())
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("cannot read the API server's admission resources: %s", ErrorLine(err))
	}
	if list != nil && slices.ContainsFunc(list.APIResources, func(r metav1.APIResource) bool { return r.Name == "validatingadmissionpolicies" }) {
		return nil
	}
	return errors.New("the API server does not serve admissionregistration.k8s.io/v1 ValidatingAdmissionPolicy (Kubernetes 1.30 or later): upgrade the cluster, or enforce with a webhook engine (--for kyverno|policy-controller)")
}

// coveredNamespaces checks that named namespaces exist and, with a label
// selector, reads which namespaces it selects.
func coveredNamespaces(ctx context.Context, client kubernetes.Interface, scope admission.Scope) (func(string) bool, error) {
	for _, ns := range scope.Namespaces {
		_, err := client.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil, fmt.Errorf("namespace %q does not exist: `kubectl get namespaces` lists them", ns)
		}
		if err != nil && !apierrors.IsForbidden(err) {
			return nil, fmt.Errorf("cannot read namespace %q: %s", ns, ErrorLine(err))
		}
	}
	if scope.Selector == nil {
		return scope.Covers, nil
	}
	sel, err := metav1.LabelSelectorAsSelector(scope.Selector)
	if err != nil {
		return nil, fmt.Errorf("--namespace-selector: %w", err)
	}
	list, err := client.CoreV1().Namespaces().List(ctx, metav1.ListOptions{LabelSelector: sel.String()})
	if err != nil {
		return nil, fmt.Errorf("cannot list the namespaces --namespace-selector selects: %s", ErrorLine(err))
	}
	selected := map[string]bool{} // the API server applied the selector
	for _, ns := range list.Items {
		selected[ns.Name] = true
	}
	return func(ns string) bool { return selected[ns] && scope.Covers(ns) }, nil
}

// applyPolicy server-side applies the policy, then its binding (a binding
// to a missing policy would be an error in the API server's eyes).
func applyPolicy(ctx context.Context, client kubernetes.Interface, p admission.Policy, force bool) ([]string, error) {
	objects, err := p.Manifests()
	if err != nil {
		return nil, err
	}
	opts := metav1.PatchOptions{FieldManager: admission.ManagedBy, Force: &force}
	api := client.AdmissionregistrationV1()
	var done []string
	for i, obj := range objects {
		data, err := json.Marshal(obj)
		if err != nil {
			return done, err
		}
		kind := "validatingadmissionpolicy"
		if i == 0 {
			_, err = api.ValidatingAdmissionPolicies().Patch(ctx, p.Name, types.ApplyPatchType, data, opts)
		} else {
			kind = "validatingadmissionpolicybinding"
			_, err = api.ValidatingAdmissionPolicyBindings().Patch(ctx, p.Name, types.ApplyPatchType, data, opts)
		}
		if err != nil {
			return done, applyError(kind, p.Name, err)
		}
		done = append(done, kind+"/"+p.Name+" applied")
	}
	return done, nil
}

func applyError(kind, name string, err error) error {
	switch {
	case apierrors.IsConflict(err):
		return fmt.Errorf("%s/%s has fields another manager owns: pick another --name, or pass --force to take them over", kind, name)
	case apierrors.IsForbidden(err):
		return fmt.Errorf("forbidden: applying %s/%s needs create and patch on it (deploy/rbac/imgtrust-policy.yaml grants them)", kind, name)
	}
	return fmt.Errorf("applying %s/%s: %s", kind, name, ErrorLine(err))
}

// deletePolicy removes the binding and the policy we made; an object
// without our managed-by label is someone else's and is left unless force.
func deletePolicy(ctx context.Context, client kubernetes.Interface, name string, force bool) ([]string, error) {
	api := client.AdmissionregistrationV1()
	type target struct {
		kind   string
		get    func() (metav1.Object, error)
		delete func() error
	}
	targets := []target{
		{"validatingadmissionpolicybinding",
			func() (metav1.Object, error) {
				return api.ValidatingAdmissionPolicyBindings().Get(ctx, name, metav1.GetOptions{})
			},
			func() error { return api.ValidatingAdmissionPolicyBindings().Delete(ctx, name, metav1.DeleteOptions{}) }},
		{"validatingadmissionpolicy",
			func() (metav1.Object, error) {
				return api.ValidatingAdmissionPolicies().Get(ctx, name, metav1.GetOptions{})
			},
			func() error { return api.ValidatingAdmissionPolicies().Delete(ctx, name, metav1.DeleteOptions{}) }},
	}
	var done []string
	for _, t := range targets {
		obj, err := t.get()
		if apierrors.IsNotFound(err) {
			done = append(done, t.kind+"/"+name+" not found")
			continue
		}
		if err != nil {
			return done, fmt.Errorf("reading %s/%s: %s", t.kind, name, ErrorLine(err))
		}
		if obj.GetLabels()[admission.ManagedByLabel] != admission.ManagedBy && !force {
			return done, fmt.Errorf("%s/%s was not made by kubectl-imgtrust (no %s=%s label): delete it with kubectl, or pass --force", t.kind, name, admission.ManagedByLabel, admission.ManagedBy)
		}
		if err := t.delete(); err != nil && !apierrors.IsNotFound(err) {
			return done, fmt.Errorf("deleting %s/%s: %s", t.kind, name, ErrorLine(err))
		}
		done = append(done, t.kind+"/"+name+" deleted")
	}
	return done, nil
}
