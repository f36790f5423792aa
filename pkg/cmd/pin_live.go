package cmd

import (
	"context"
	"fmt"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/client-go/dynamic"

	"github.com/imgtrust/kubectl-imgtrust/pkg/pin"
	"github.com/imgtrust/kubectl-imgtrust/pkg/pin/apply"
	"github.com/imgtrust/kubectl-imgtrust/pkg/pipeline"
	"github.com/imgtrust/kubectl-imgtrust/pkg/workload"
)

// pinTally is the summary of a pin run. untouched and unknown count only
// what an interrupt left: objects never patched, and objects whose cut
// request could not be checked.
type pinTally struct {
	pinned, alreadyPinned, skipped, failed int
	// refused counts objects with a container pin refused (exit 1).
	refused            int
	interrupted        bool
	untouched, unknown int
}

// recheckTimeout bounds the re-read that tells whether a patch cut by an
// interrupt landed; it runs on a fresh context, the run's being cancelled.
const recheckTimeout = 10 * time.Second

func (o *PinOptions) runLive(ctx context.Context) error {
	found, err := workload.Discover(ctx, o.configFlags, o.scope)
	if err != nil {
		return &exitError{Code: ExitError, Err: err}
	}
	for _, w := range found.Warnings {
		fmt.Fprintf(o.ErrOut, "warning: %s\n", w)
	}
	dyn, mapper, err := o.dynamicClient()
	if err != nil {
		return &exitError{Code: ExitError, Err: err}
	}
	chooserFor, err := o.choosers(ctx, found)
	if err != nil {
		return &exitError{Code: ExitError, Err: err}
	}
	tally := o.pinAll(ctx, found.Workloads, func(obj workload.Object) (dynamic.ResourceInterface, error) {
		return apply.ResourceFor(dyn, mapper, obj)
	}, chooserFor)
	verb := "to pin (nothing changed; --apply patches them)"
	if o.sends() {
		verb = "pinned"
		if o.DryRun == "server" {
			verb = "pinned (server dry run, nothing persisted)"
		}
	}
	fmt.Fprintf(o.ErrOut, "%d objects %s, %d already pinned, %d skipped, %d failed\n", tally.pinned, verb, tally.alreadyPinned, tally.skipped, tally.failed)
	o.mirrorSummary()
	if tally.interrupted {
		return &exitError{Code: ExitError, Err: fmt.Errorf("interrupted: %d objects patched, %d untouched, %d unknown; run again to pin the rest", tally.pinned, tally.untouched, tally.unknown)}
	}
	if tally.failed > 0 || tally.refused > 0 {
		return &exitError{Code: ExitFindings}
	}
	return nil
}

// pinAll pins each workload in turn. Once ctx is cancelled (Ctrl-C) it
// starts no new patch and names every object left as untouched, so each
// object ends patched or untouched and the user is told which.
func (o *PinOptions) pinAll(ctx context.Context, workloads []workload.Workload, resource func(workload.Object) (dynamic.ResourceInterface, error), chooserFor func(workload.Object) pin.Chooser) pinTally {
	named := len(o.scope.Args) > 0
	var tally pinTally
	multiple := len(workloads) > 1
	for i, w := range workloads {
		if ctx.Err() != nil {
			tally.interrupted = true
			for _, rest := range workloads[i:] {
				o.untouched(rest.Object, "interrupted before its patch was sent", &tally)
			}
			break
		}
		label := objectLabel(w.Object)
		if w.Kind == "Pod" && !named {
			fmt.Fprintf(o.ErrOut, "skipped %s: a bare Pod is pinned only when named explicitly (pod/%s)\n", label, w.Name)
			tally.skipped++
			continue
		}
		if w.Kind == "Job" {
			// The API server rejects any change to a Job's pod template.
			fmt.Fprintf(o.ErrOut, "skipped %s: a Job's pod template is immutable; pin its manifest (-f) or its CronJob\n", label)
			tally.skipped++
			if named {
				tally.refused++
			}
			continue
		}
		if o.ResourceVersion != "" {
			w.ResourceVersion = o.ResourceVersion
		}
		res, err := resource(w.Object)
		if err != nil {
			fmt.Fprintf(o.ErrOut, "failed %s: %v\n", label, err)
			tally.failed++
			continue
		}
		o.pinObject(ctx, apply.Target{Workload: w, Resource: res}, chooserFor(w.Object), multiple, &tally)
	}
	return tally
}

// untouched says an interrupt left obj as it was. Without --apply nothing
// is ever patched, so there is nothing to say.
func (o *PinOptions) untouched(obj workload.Object, why string, tally *pinTally) {
	if o.sends() {
		fmt.Fprintf(o.ErrOut, "untouched %s: %s\n", objectLabel(obj), why)
	}
	tally.untouched++
}

// afterCut finds out whether a patch whose request the interrupt cut was
// applied, by re-reading the object on a fresh, short context.
func (o *PinOptions) afterCut(ctx context.Context, t apply.Target, changes []pin.Change, tally *pinTally) {
	label := objectLabel(t.Object)
	if o.DryRun == "server" {
		o.untouched(t.Object, "interrupted during a server dry run, which persists nothing", tally)
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), recheckTimeout)
	defer cancel()
	applied, err := apply.Landed(ctx, t, changes)
	switch {
	case err != nil:
		fmt.Fprintf(o.ErrOut, "unknown %s: the interrupt cut its patch request and re-reading it failed: %v\n", label, err)
		tally.unknown++
	case applied:
		fmt.Fprintf(o.ErrOut, "patched %s: the interrupt cut its patch request; re-read: the pinned images are there\n", label)
		tally.pinned++
	default:
		o.untouched(t.Object, "the interrupt cut its patch request; re-read: the images are unchanged", tally)
	}
}

// sends reports whether patches go to the API server.
func (o *PinOptions) sends() bool { return o.Apply || o.DryRun == "server" }

// pinObject plans, prints or sends one object's patch, and tallies it.
func (o *PinOptions) pinObject(ctx context.Context, t apply.Target, chooser pin.Chooser, multiple bool, tally *pinTally) {
	label := objectLabel(t.Object)
	changes, skipped := o.plan(t, chooser)
	if ctx.Err() != nil {
		// Interrupted while choosing digests: nothing was sent.
		tally.interrupted = true
		o.untouched(t.Object, "interrupted before its patch was sent", tally)
		return
	}
	failed, refused := false, false
	for _, s := range skipped {
		if s.Reason == pin.ReasonAlreadyPinned || s.Reason == pin.ReasonAlreadyMirrored {
			continue
		}
		what := "skipped"
		switch {
		case s.Failed():
			what, failed = "failed", true
		case s.Reason != pin.ReasonEphemeralContainer:
			refused = true // asked for, and not pinned: the exit says so
		}
		fmt.Fprintf(o.ErrOut, "%s %s %s %q: %s\n", what, label, s.Container.Type, s.Container.Name, s.Message)
	}
	if refused {
		tally.refused++
	}
	if len(changes) == 0 {
		switch {
		case failed:
			tally.failed++
		case len(skipped) > 0 && allAlreadyPinned(skipped):
			fmt.Fprintf(o.ErrOut, "already pinned %s\n", label)
			tally.alreadyPinned++
		default:
			tally.skipped++
		}
		return
	}
	for _, c := range changes {
		fmt.Fprintf(o.ErrOut, "%s %s: %s %q %s -> %s (from %s)\n", o.pinVerb(), label, c.Container.Type, c.Container.Name, c.Old, c.New, c.Source)
	}
	if err := o.printChanges(ctx, t, changes, multiple); err != nil {
		if ctx.Err() != nil {
			tally.interrupted = true
			o.untouched(t.Object, "interrupted before its patch was sent", tally)
			return
		}
		fmt.Fprintf(o.ErrOut, "failed %s: %v\n", label, err)
		tally.failed++
		return
	}
	if err := o.mirrorBefore(ctx, t, changes); err != nil {
		fmt.Fprintf(o.ErrOut, "failed %s: %v\n", label, err)
		tally.failed++
		return
	}
	if o.sends() {
		o.warnBeforeApply(t.Object)
		err := o.apply(ctx, t, chooser, changes)
		if err != nil && ctx.Err() != nil {
			// The interrupt cut the request: it landed whole or not at all.
			tally.interrupted = true
			o.afterCut(ctx, t, changes, tally)
			return
		}
		if err != nil {
			fmt.Fprintf(o.ErrOut, "failed %s: %v\n", label, err)
			tally.failed++
			return
		}
		if o.DryRun != "server" {
			fmt.Fprintf(o.ErrOut, "patched %s\n", label)
		}
	}
	if failed {
		tally.failed++
		return
	}
	tally.pinned++
}

func (o *PinOptions) pinVerb() string {
	if o.sends() {
		return "pinning"
	}
	return "would pin"
}

func allAlreadyPinned(skipped []pin.Skip) bool {
	for _, s := range skipped {
		if s.Reason != pin.ReasonAlreadyPinned && s.Reason != pin.ReasonAlreadyMirrored {
			return false
		}
	}
	return true
}

// printChanges writes what -o asks for to stdout.
func (o *PinOptions) printChanges(ctx context.Context, t apply.Target, changes []pin.Change, multiple bool) error {
	switch o.Output {
	case pinOutputPatch, pinOutputJSONPatch:
		p, _, err := apply.PatchFor(t.Object, changes, o.Output == pinOutputJSONPatch)
		if err != nil {
			return err
		}
		if multiple {
			fmt.Fprintf(o.Out, "# %s\n", objectLabel(t.Object))
		}
		_, err = fmt.Fprintf(o.Out, "%s\n", p)
		return err
	}
	before, after, err := apply.Preview(ctx, t, changes)
	if err != nil {
		return err
	}
	if o.Output == pinOutputYAML {
		if multiple {
			fmt.Fprintln(o.Out, "---")
		}
		_, err = o.Out.Write(after)
		return err
	}
	name := strings.ToLower(t.Kind) + "/" + t.Name
	_, err = fmt.Fprint(o.Out, pin.UnifiedDiff("a/"+name, "b/"+name, string(before), string(after)))
	return err
}

// apply sends the patch; on a conflict it re-reads the object and
// recomputes once (unless the user fixed the resourceVersion).
func (o *PinOptions) apply(ctx context.Context, t apply.Target, chooser pin.Chooser, changes []pin.Change) error {
	return apply.Send(ctx, t, changes, apply.Options{
		DryRun:               o.DryRun == "server",
		FixedResourceVersion: o.ResourceVersion != "",
		Replan: func(w workload.Workload) ([]pin.Change, error) {
			t.Workload = w
			changes, _ := o.plan(t, chooser)
			if len(changes) == 0 {
				return nil, nil
			}
			return changes, o.mirrorBefore(ctx, t, changes)
		},
		Retrying: func() {
			fmt.Fprintf(o.ErrOut, "retrying %s: it changed while we worked (resourceVersion conflict)\n", objectLabel(t.Object))
		},
	})
}

// warnBeforeApply says what a live patch will do beyond changing strings.
func (o *PinOptions) warnBeforeApply(obj workload.Object) {
	label := objectLabel(obj)
	switch obj.Kind {
	case "Deployment", "StatefulSet", "DaemonSet":
		note := ""
		if o.Source == string(pin.SourceRunning) {
			note = "; the new pods run the same image"
		}
		fmt.Fprintf(o.ErrOut, "warning: %s: changing the pod template starts a rollout%s\n", label, note)
	}
	if manager := gitOpsManager(obj); manager != "" {
		fmt.Fprintf(o.ErrOut, "warning: %s looks managed by %s: a live patch will be reverted; pin the manifests instead (kubectl imgtrust pin -f ... --write)\n", label, manager)
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

func objectLabel(obj workload.Object) string {
	s := strings.ToLower(obj.Kind) + "/" + obj.Name
	if obj.Namespace != "" {
		s += " -n " + obj.Namespace
	}
	return s
}

func (o *PinOptions) dynamicClient() (dynamic.Interface, meta.RESTMapper, error) {
	cfg, err := o.configFlags.ToRESTConfig()
	if err != nil {
		return nil, nil, err
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, nil, err
	}
	mapper, err := o.configFlags.ToRESTMapper()
	return dyn, mapper, err
}

// choosers returns, per workload, the chooser of its digests: from its pods,
// or from the registry with the workload's own pull credentials.
func (o *PinOptions) choosers(ctx context.Context, found *workload.Discovery) (func(workload.Object) pin.Chooser, error) {
	if o.Source == string(pin.SourceRunning) && o.authorities == nil && !o.mirroring() {
		return func(workload.Object) pin.Chooser { return pin.RunningChooser() }, nil
	}
	client, err := workload.NewClient(o.configFlags)
	if err != nil {
		return nil, err
	}
	plan, warnings := pipeline.LoadCredentialPlan(ctx, client, found)
	for _, w := range warnings {
		fmt.Fprintf(o.ErrOut, "warning: %s\n", w)
	}
	o.mirrorFlags.plan = plan
	return func(obj workload.Object) pin.Chooser {
		c := pin.RunningChooser()
		if o.Source == string(pin.SourceRegistry) {
			c = pin.RegistryChooser(func(u workload.Usage) (string, error) {
				return pipeline.DigestFor(ctx, o.resolver, plan, obj, u.Image)
			})
		}
		if o.authorities == nil {
			return c
		}
		choose := c.Choose
		c.Choose = func(u workload.Usage) (string, error) {
			d, err := choose(u)
			if err != nil {
				return "", err
			}
			return d, pipeline.VerifyDigest(ctx, o.resolver, o.authorities, plan, obj, u.Image, d)
		}
		return c
	}, nil
}
