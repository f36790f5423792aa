package pipeline

import (
	"context"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/client-go/dynamic"

	"github.com/imgtrust/kubectl-imgtrust/pkg/mirror"
	"github.com/imgtrust/kubectl-imgtrust/pkg/pin"
	"github.com/imgtrust/kubectl-imgtrust/pkg/pin/apply"
	"github.com/imgtrust/kubectl-imgtrust/pkg/report"
	"github.com/imgtrust/kubectl-imgtrust/pkg/workload"
)

// PinFormat is what live pin renders of each object for stdout.
type PinFormat string

// The -o formats of pin.
const (
	PinPatch     PinFormat = "patch" // strategic merge (JSON patch for custom resources)
	PinJSONPatch PinFormat = "json-patch"
	PinYAML      PinFormat = "yaml" // the pinned object
	PinDiff      PinFormat = "diff"
)

// PinConfig pins live objects to digests.
type PinConfig struct {
	PinSettings
	Cluster Cluster
	// Source is where digests come from: what the pods run, or the registry.
	Source pin.Source
	// Apply patches the objects; ServerDryRun sends the patches with
	// server-side dry run. Neither: the patches are only rendered.
	Apply, ServerDryRun bool
	// ResourceVersion, when set, is the version the one named object must
	// still be at (no re-plan after a conflict).
	ResourceVersion string
	// Output is what is rendered of each object, for Write.
	Output PinFormat
	Write  func(PinOutput) error

	// backend replaces Cluster in tests.
	backend pinBackend
}

// pinBackend is where live pin reads and patches; Cluster is one.
type pinBackend interface {
	Discover(ctx context.Context) (*workload.Discovery, error)
	Dynamic() (dynamic.Interface, meta.RESTMapper, error)
	Credentials(ctx context.Context, found *workload.Discovery) (*CredentialPlan, []string, error)
}

// PinResult is the tally of a live pin. Untouched and Unknown count only
// what an interrupt left: objects never patched, and objects whose cut
// request could not be checked.
type PinResult struct {
	Pinned, AlreadyPinned, Skipped, Failed int
	// Refused counts objects with a container pin refused.
	Refused            int
	Interrupted        bool
	Untouched, Unknown int
	// Mirror totals the copies, when the run copied; Signed what
	// --sign-key signed in the mirror.
	Mirror *mirror.Totals
	Signed *report.SignTotals
}

// sends reports whether patches go to the API server.
func (c PinConfig) sends() bool { return c.Apply || c.ServerDryRun }

// Pin pins every workload Cluster finds, in turn, telling each step to
// Events. Once ctx is cancelled (Ctrl-C) it starts no new patch and tells
// every object left as untouched, so each object ends patched or
// untouched. The error is for a run that cannot start.
func Pin(ctx context.Context, cfg PinConfig) (PinResult, error) {
	r, err := newPinRun(ctx, cfg.PinSettings, cfg.Source == pin.SourceRegistry, cfg.Apply && !cfg.ServerDryRun)
	if err != nil {
		return PinResult{}, err
	}
	backend := cfg.backend
	if backend == nil {
		backend = cfg.Cluster
	}
	found, err := backend.Discover(ctx)
	if err != nil {
		return PinResult{}, err
	}
	for _, w := range found.Warnings {
		r.Events(PinEvent{Kind: PinWarning, Message: w})
	}
	dyn, mapper, err := backend.Dynamic()
	if err != nil {
		return PinResult{}, err
	}
	chooserFor, err := r.choosers(ctx, cfg, backend, found)
	if err != nil {
		return PinResult{}, err
	}
	l := &livePin{pinRun: r, cfg: cfg, chooserFor: chooserFor, multiple: len(found.Workloads) > 1}
	l.resource = func(obj workload.Object) (dynamic.ResourceInterface, error) {
		return apply.ResourceFor(dyn, mapper, obj)
	}
	l.pinAll(ctx, found.Workloads)
	l.result.Mirror, l.result.Signed = r.mirrorTotals(), r.signTotals()
	return l.result, nil
}

// livePin is one live run: its settings, clients and tally.
type livePin struct {
	*pinRun
	cfg        PinConfig
	chooserFor func(workload.Object) pin.Chooser
	resource   func(workload.Object) (dynamic.ResourceInterface, error)
	multiple   bool
	result     PinResult
}

func (l *livePin) pinAll(ctx context.Context, workloads []workload.Workload) {
	named := len(l.cfg.Cluster.Scope.Args) > 0
	for i, w := range workloads {
		if ctx.Err() != nil {
			l.result.Interrupted = true
			for _, rest := range workloads[i:] {
				l.untouched(rest.Object, UntouchedBeforeSend)
			}
			return
		}
		if why := ownedRefusal(w.Object, l.cfg.Cluster.Scope.ImagePaths); why != "" && (named || w.Kind != "Pod") {
			// Its controller (or the kubelet) would undo the patch.
			l.Events(PinEvent{Kind: PinRefused, Object: w.Object, Message: why})
			l.result.Skipped++
			if named {
				l.result.Refused++
			}
			continue
		}
		if w.Kind == "Pod" && !named {
			l.Events(PinEvent{Kind: PinSkippedPod, Object: w.Object})
			l.result.Skipped++
			continue
		}
		if w.Kind == "Job" {
			// The API server rejects any change to a Job's pod template.
			l.Events(PinEvent{Kind: PinSkippedJob, Object: w.Object})
			l.result.Skipped++
			if named {
				l.result.Refused++
			}
			continue
		}
		if l.cfg.ResourceVersion != "" {
			w.ResourceVersion = l.cfg.ResourceVersion
		}
		res, err := l.resource(w.Object)
		if err != nil {
			l.failed(w.Object, err)
			continue
		}
		l.pinObject(ctx, apply.Target{Workload: w, Resource: res}, l.chooserFor(w.Object))
	}
}

// untouched tells that an interrupt left obj as it was.
func (l *livePin) untouched(obj workload.Object, why PinUntouchedWhy) {
	l.Events(PinEvent{Kind: PinUntouched, Object: obj, Untouched: why})
	l.result.Untouched++
}

func (l *livePin) failed(obj workload.Object, err error) {
	l.Events(PinEvent{Kind: PinFailed, Object: obj, Err: err})
	l.result.Failed++
}

// interrupted tells that the interrupt came before obj's patch was sent.
func (l *livePin) interrupted(obj workload.Object) {
	l.result.Interrupted = true
	l.untouched(obj, UntouchedBeforeSend)
}
