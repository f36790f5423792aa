package admission

import (
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Request is what `policy` is asked for, as the flags say it.
type Request struct {
	Name                     string
	RequireDigest            bool
	Allowed, Exempt, Actions []string
	NamespaceSelector        string
	// AllNamespaces binds everywhere but Exclude (and kube-system);
	// otherwise only Namespace.
	AllNamespaces bool
	Namespace     string
	Exclude       []string
}

// Policy parses the request; errors name the flag and what to write.
func (r Request) Policy() (Policy, error) {
	p := Policy{Name: r.Name, Rules: Rules{RequireDigest: r.RequireDigest}}
	var err error
	if p.Rules.Allowed, err = ParsePrefixes("--allowed-registries", r.Allowed); err != nil {
		return p, err
	}
	if p.Rules.Exempt, err = ParseExempt(r.Exempt); err != nil {
		return p, err
	}
	if p.Actions, err = ParseActions(r.Actions); err != nil {
		return p, err
	}
	if r.NamespaceSelector != "" {
		if p.Scope.Selector, err = metav1.ParseToLabelSelector(r.NamespaceSelector); err != nil {
			return p, fmt.Errorf("--namespace-selector %q: %w", r.NamespaceSelector, err)
		}
	}
	if r.AllNamespaces {
		p.Scope.Exclude = r.Exclude
	} else {
		p.Scope.Namespaces = []string{r.Namespace}
	}
	return p, nil
}
