package pipeline

import (
	"context"
	"time"

	"github.com/imgtrust/kubectl-imgtrust/pkg/pin"
	"github.com/imgtrust/kubectl-imgtrust/pkg/pin/apply"
	"github.com/imgtrust/kubectl-imgtrust/pkg/workload"
)

// recheckTimeout bounds the re-read that tells whether a patch cut by an
// interrupt landed; it runs on a fresh context, the run's being cancelled.
const recheckTimeout = 10 * time.Second

// pinObject plans, renders or sends one object's patch, and tallies it.
func (l *livePin) pinObject(ctx context.Context, t apply.Target, chooser pin.Chooser) {
	changes, skipped := l.plan(t, chooser)
	if ctx.Err() != nil {
		// Interrupted while choosing digests: nothing was sent.
		l.interrupted(t.Object)
		return
	}
	failed := l.tellSkips(t.Object, skipped)
	if len(changes) == 0 {
		switch {
		case failed:
			l.result.Failed++
		case len(skipped) > 0 && allAlreadyPinned(skipped):
			l.Events(PinEvent{Kind: PinAlreadyPinned, Object: t.Object})
			l.result.AlreadyPinned++
		default:
			l.result.Skipped++
		}
		return
	}
	for _, c := range changes {
		l.Events(PinEvent{Kind: PinChange, Object: t.Object, Change: c})
	}
	if err := l.render(ctx, t, changes); err != nil {
		if ctx.Err() != nil {
			l.interrupted(t.Object)
			return
		}
		l.failed(t.Object, err)
		return
	}
	if err := l.mirrorBefore(ctx, t, changes); err != nil {
		l.failed(t.Object, err)
		return
	}
	if l.cfg.sends() && !l.send(ctx, t, chooser, changes) {
		return
	}
	if failed {
		l.result.Failed++
		return
	}
	l.result.Pinned++
}

// tellSkips tells the containers left as they are (already pinned ones
// go without saying), counts a refusal, and reports whether one failed.
func (l *livePin) tellSkips(obj workload.Object, skipped []pin.Skip) (failed bool) {
	refused := false
	for _, s := range skipped {
		if s.Reason == pin.ReasonAlreadyPinned || s.Reason == pin.ReasonAlreadyMirrored {
			continue
		}
		switch {
		case s.Failed():
			failed = true
		case s.Reason != pin.ReasonEphemeralContainer:
			refused = true // asked for, and not pinned: the exit says so
		}
		l.Events(PinEvent{Kind: PinContainerSkipped, Object: obj, Skip: s})
	}
	if refused {
		l.result.Refused++
	}
	return failed
}

// send patches t; false means the object is done with (failed or
// interrupted) and tallied.
func (l *livePin) send(ctx context.Context, t apply.Target, chooser pin.Chooser, changes []pin.Change) bool {
	l.warnBeforeApply(t.Object)
	err := apply.Send(ctx, t, changes, apply.Options{
		DryRun:               l.cfg.ServerDryRun,
		FixedResourceVersion: l.cfg.ResourceVersion != "",
		Replan: func(w workload.Workload) ([]pin.Change, error) {
			t.Workload = w
			changes, _ := l.plan(t, chooser)
			if len(changes) == 0 {
				return nil, nil
			}
			return changes, l.mirrorBefore(ctx, t, changes)
		},
		Retrying:   func() { l.Events(PinEvent{Kind: PinRetrying, Object: t.Object}) },
		ImagePaths: l.cfg.Cluster.Scope.ImagePaths,
	})
	if err != nil && ctx.Err() != nil {
		// The interrupt cut the request: it landed whole or not at all.
		l.result.Interrupted = true
		l.afterCut(ctx, t, changes)
		return false
	}
	if err != nil {
		l.failed(t.Object, err)
		return false
	}
	if !l.cfg.ServerDryRun {
		l.Events(PinEvent{Kind: PinPatched, Object: t.Object})
	}
	return true
}

// afterCut finds out whether a patch whose request the interrupt cut was
// applied, by re-reading the object on a fresh, short context.
func (l *livePin) afterCut(ctx context.Context, t apply.Target, changes []pin.Change) {
	if l.cfg.ServerDryRun {
		l.untouched(t.Object, UntouchedDryRun)
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), recheckTimeout)
	defer cancel()
	applied, err := apply.Landed(ctx, t, changes)
	switch {
	case err != nil:
		l.Events(PinEvent{Kind: PinUnknown, Object: t.Object, Err: err})
		l.result.Unknown++
	case applied:
		l.Events(PinEvent{Kind: PinPatched, Object: t.Object, Cut: true})
		l.result.Pinned++
	default:
		l.untouched(t.Object, UntouchedCutUnchanged)
	}
}

// plan picks the changes of one object: pins, or pins to the mirror.
func (l *livePin) plan(t apply.Target, chooser pin.Chooser) ([]pin.Change, []pin.Skip) {
	if l.session != nil {
		return pin.PlanMirror(t.Object, t.Containers, chooser, l.DropTag, l.session.Target)
	}
	return pin.Plan(t.Object, t.Containers, chooser, l.DropTag)
}

func allAlreadyPinned(skipped []pin.Skip) bool {
	for _, s := range skipped {
		if s.Reason != pin.ReasonAlreadyPinned && s.Reason != pin.ReasonAlreadyMirrored {
			return false
		}
	}
	return true
}
