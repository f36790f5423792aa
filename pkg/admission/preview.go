package admission

import (
	"slices"
	"strings"

	"github.com/imgtrust/kubectl-imgtrust/pkg/workload"
)

// Denial is a workload the policy would refuse if it were created (or its
// images changed) today.
type Denial struct {
	Namespace  string      `json:"namespace,omitempty"`
	Kind       string      `json:"kind"`
	Name       string      `json:"name"`
	Source     string      `json:"source,omitempty"`
	Violations []Violation `json:"violations"`
	Fix        string      `json:"fix"`
}

// Impact is the preview: what the policy would deny among the workloads
// in its scope.
type Impact struct {
	// Workloads counts the workloads in scope.
	Workloads int `json:"workloads"`
	// Namespaces counts the namespaces of the denied workloads.
	Namespaces int      `json:"namespaces"`
	Denied     []Denial `json:"denied"`
}

// Preview applies the policy's rules to each workload in a namespace
// covered says the binding matches. Ephemeral containers found on pods are
// left out: the API server checks them when they are added, not when the
// workload is applied.
func Preview(p Policy, workloads []workload.Workload, covered func(ns string) bool) Impact {
	out := Impact{Denied: []Denial{}}
	namespaces := map[string]bool{}
	for _, w := range workloads {
		if w.Spec == nil || !covered(w.Namespace) {
			continue
		}
		out.Workloads++
		var broken []Violation
		for _, c := range w.Spec.Containers {
			if c.Type == workload.EphemeralContainer {
				continue
			}
			for _, v := range p.Rules.Check(c.Image) {
				if !slices.Contains(broken, v) {
					broken = append(broken, v)
				}
			}
		}
		if len(broken) == 0 {
			continue
		}
		namespaces[w.Namespace] = true
		out.Denied = append(out.Denied, Denial{
			Namespace: w.Namespace, Kind: w.Kind, Name: w.Name, Source: w.Source,
			Violations: broken, Fix: p.fix(w.Object, broken),
		})
	}
	out.Namespaces = len(namespaces)
	return out
}

// fix is the command that removes the violations: pin (to the mirror when
// the registry is not allowed), for a manifest or a live object.
func (p Policy) fix(obj workload.Object, broken []Violation) string {
	cmd := "kubectl imgtrust pin "
	if obj.Source != "" {
		cmd += "-f " + obj.Source + " --write"
	} else {
		cmd += obj.Label()
		if obj.Kind == "Job" || obj.Kind == "Pod" && obj.Owner == nil {
			return "pin its manifest and recreate it (" + cmd + " prints the pinned object)"
		}
	}
	if slices.ContainsFunc(broken, func(v Violation) bool { return v.Rule == RuleAllowedRegistries }) {
		cmd += " --mirror-to " + strings.TrimSuffix(p.Rules.Allowed[0], "/")
	}
	if obj.Source == "" {
		cmd += " --apply"
	}
	return cmd
}
