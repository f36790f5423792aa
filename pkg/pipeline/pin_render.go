package pipeline

import (
	"context"
	"strings"

	"github.com/imgtrust/kubectl-imgtrust/pkg/pin"
	"github.com/imgtrust/kubectl-imgtrust/pkg/pin/apply"
	"github.com/imgtrust/kubectl-imgtrust/pkg/workload"
)

// render hands Write what Output asks for; yaml and diff read the object.
func (l *livePin) render(ctx context.Context, t apply.Target, changes []pin.Change) error {
	out := PinOutput{Object: t.Object, Format: l.cfg.Output, Multiple: l.multiple}
	switch l.cfg.Output {
	case PinPatch, PinJSONPatch:
		p, _, err := apply.PatchFor(t.Object, changes, l.cfg.Output == PinJSONPatch)
		if err != nil {
			return err
		}
		out.Data = p
		return l.write(out)
	}
	before, after, err := apply.Preview(ctx, t, changes)
	if err != nil {
		return err
	}
	out.Data = after
	if l.cfg.Output == PinDiff {
		name := strings.ToLower(t.Kind) + "/" + t.Name
		out.Data = []byte(pin.UnifiedDiff("a/"+name, "b/"+name, string(before), string(after)))
	}
	return l.write(out)
}

func (l *livePin) write(out PinOutput) error {
	if l.cfg.Write == nil {
		return nil
	}
	return l.cfg.Write(out)
}

// warnBeforeApply tells what a live patch does beyond changing strings:
// a rollout, and a GitOps manager that will revert it.
func (l *livePin) warnBeforeApply(obj workload.Object) {
	switch obj.Kind {
	case "Deployment", "StatefulSet", "DaemonSet":
		l.Events(PinEvent{Kind: PinRollout, Object: obj, SameImage: l.cfg.Source == pin.SourceRunning})
	}
	if manager := gitOpsManager(obj); manager != "" {
		l.Events(PinEvent{Kind: PinGitOps, Object: obj, Manager: manager})
	}
}

// gitOpsManager recognises the labels and annotations Argo CD, Flux and
// Helm put on what they manage.
func gitOpsManager(obj workload.Object) string {
	has := func(m map[string]string, key string) bool { _, ok := m[key]; return ok }
	switch {
	case has(obj.Annotations, "argocd.argoproj.io/tracking-id") || has(obj.Labels, "argocd.argoproj.io/instance"):
		return "Argo CD"
	case has(obj.Labels, "kustomize.toolkit.fluxcd.io/name") || has(obj.Labels, "helm.toolkit.fluxcd.io/name"):
		return "Flux"
	case obj.Labels["app.kubernetes.io/managed-by"] == "Helm" || has(obj.Annotations, "meta.helm.sh/release-name"):
		return "Helm"
	}
	return ""
}
