package cmd

import (
	"fmt"

	"github.com/imgtrust/kubectl-imgtrust/pkg/pipeline"
	"github.com/imgtrust/kubectl-imgtrust/pkg/report"
)

// untouchedWhy is what an "untouched" line says.
var untouchedWhy = map[pipeline.PinUntouchedWhy]string{
	pipeline.UntouchedBeforeSend:   "interrupted before its patch was sent",
	pipeline.UntouchedDryRun:       "interrupted during a server dry run, which persists nothing",
	pipeline.UntouchedCutUnchanged: "the interrupt cut its patch request; re-read: the images are unchanged",
}

// printEvent says one step of pin on stderr.
func (o *PinOptions) printEvent(e pipeline.PinEvent) {
	w, label := o.ErrOut, e.Object.Label()
	switch e.Kind {
	case pipeline.PinWarning:
		fmt.Fprintf(w, "warning: %s\n", e.Message)
	case pipeline.PinSkippedPod:
		fmt.Fprintf(w, "skipped %s: a bare Pod is pinned only when named explicitly (pod/%s)\n", label, e.Object.Name)
	case pipeline.PinSkippedJob:
		fmt.Fprintf(w, "skipped %s: a Job's pod template is immutable; pin its manifest (-f) or its CronJob\n", label)
	case pipeline.PinRefused:
		fmt.Fprintf(w, "refused %s: %s\n", label, e.Message)
	case pipeline.PinFailed:
		fmt.Fprintf(w, "failed %s: %v\n", label, e.Err)
	case pipeline.PinContainerSkipped:
		what, s := "skipped", e.Skip
		if s.Failed() {
			what = "failed"
		}
		fmt.Fprintf(w, "%s %s %s %q: %s\n", what, label, s.Container.Type, s.Container.Name, s.Message)
	case pipeline.PinAlreadyPinned:
		fmt.Fprintf(w, "already pinned %s\n", label)
	case pipeline.PinChange:
		c := e.Change
		fmt.Fprintf(w, "%s %s: %s %q %s -> %s (from %s)\n", o.pinVerb(), label, c.Container.Type, c.Container.Name, c.Old, c.New, c.Source)
	case pipeline.PinRollout:
		note := ""
		if e.SameImage {
			note = "; the new pods run the same image"
		}
		fmt.Fprintf(w, "warning: %s: changing the pod template starts a rollout%s\n", label, note)
	case pipeline.PinGitOps:
		fmt.Fprintf(w, "warning: %s looks managed by %s: a live patch will be reverted; pin the manifests instead (kubectl imgtrust pin -f ... --write)\n", label, e.Manager)
	default:
		o.printOutcome(e)
	}
}

// printOutcome says how a step ended: patched, untouched, copied, and the
// lines of -f.
func (o *PinOptions) printOutcome(e pipeline.PinEvent) {
	w, label := o.ErrOut, e.Object.Label()
	switch e.Kind {
	case pipeline.PinRetrying:
		fmt.Fprintf(w, "retrying %s: it changed while we worked (resourceVersion conflict)\n", label)
	case pipeline.PinPatched:
		if e.Cut {
			fmt.Fprintf(w, "patched %s: the interrupt cut its patch request; re-read: the pinned images are there\n", label)
			return
		}
		fmt.Fprintf(w, "patched %s\n", label)
	case pipeline.PinUntouched:
		// Without --apply nothing is ever patched: nothing to say.
		if o.sends() {
			fmt.Fprintf(w, "untouched %s: %s\n", label, untouchedWhy[e.Untouched])
		}
	case pipeline.PinUnknown:
		fmt.Fprintf(w, "unknown %s: the interrupt cut its patch request and re-reading it failed: %v\n", label, e.Err)
	case pipeline.PinMirrorCopy:
		report.MirrorCopy(w, e.Copy)
	case pipeline.PinMirrorSign:
		report.MirrorSign(w, string(e.Sign.Status), e.Sign.Target, e.Sign.Message)
	case pipeline.PinFileFailed:
		fmt.Fprintf(w, "failed %s: %v\n", e.Path, e.Err)
	case pipeline.PinFileEdit:
		fmt.Fprintf(w, "%s:%d: %s -> %s (from registry)\n", e.Path, e.Edit.Line, e.Edit.Image, e.Edit.New)
	}
}
