package cmd

import (
	"bytes"
	"errors"
	"testing"

	"github.com/imgtrust/kubectl-imgtrust/pkg/mirror"
	"github.com/imgtrust/kubectl-imgtrust/pkg/pin"
	"github.com/imgtrust/kubectl-imgtrust/pkg/pipeline"
	"github.com/imgtrust/kubectl-imgtrust/pkg/registry"
	"github.com/imgtrust/kubectl-imgtrust/pkg/workload"
)

// Each pin event becomes the line it always was on stderr: scripts and
// the e2e suite read them.
func TestPinEventLines(t *testing.T) {
	web := workload.Object{Kind: "Deployment", Name: "web", Namespace: "shop"}
	app := workload.ContainerSpec{Name: "app", Type: workload.Container}
	boom := errors.New("boom")
	for _, tt := range []struct {
		e     pipeline.PinEvent
		apply bool
		want  string
	}{
		{pipeline.PinEvent{Kind: pipeline.PinWarning, Message: "cannot list jobs"}, false, "warning: cannot list jobs\n"},
		{pipeline.PinEvent{Kind: pipeline.PinSkippedPod, Object: workload.Object{Kind: "Pod", Name: "p", Namespace: "shop"}}, false,
			"skipped pod/p -n shop: a bare Pod is pinned only when named explicitly (pod/p)\n"},
		{pipeline.PinEvent{Kind: pipeline.PinSkippedJob, Object: workload.Object{Kind: "Job", Name: "j"}}, false,
			"skipped job/j: a Job's pod template is immutable; pin its manifest (-f) or its CronJob\n"},
		{pipeline.PinEvent{Kind: pipeline.PinFailed, Object: web, Err: boom}, false, "failed deployment/web -n shop: boom\n"},
		{pipeline.PinEvent{Kind: pipeline.PinContainerSkipped, Object: web, Skip: pin.Skip{Container: app, Message: "mixed"}}, false,
			"skipped deployment/web -n shop container \"app\": mixed\n"},
		{pipeline.PinEvent{Kind: pipeline.PinContainerSkipped, Object: web, Skip: pin.Skip{Container: app, Message: "down", Err: boom}}, false,
			"failed deployment/web -n shop container \"app\": down\n"},
		{pipeline.PinEvent{Kind: pipeline.PinAlreadyPinned, Object: web}, false, "already pinned deployment/web -n shop\n"},
		{pipeline.PinEvent{Kind: pipeline.PinChange, Object: web, Change: pin.Change{Container: app, Old: "a:1", New: "a:1@sha256:x", Source: pin.SourceRunning}}, false,
			"would pin deployment/web -n shop: container \"app\" a:1 -> a:1@sha256:x (from running)\n"},
		{pipeline.PinEvent{Kind: pipeline.PinChange, Object: web, Change: pin.Change{Container: app, Old: "a:1", New: "a:1@sha256:x", Source: pin.SourceRegistry}}, true,
			"pinning deployment/web -n shop: container \"app\" a:1 -> a:1@sha256:x (from registry)\n"},
		{pipeline.PinEvent{Kind: pipeline.PinRollout, Object: web, SameImage: true}, true,
			"warning: deployment/web -n shop: changing the pod template starts a rollout; the new pods run the same image\n"},
		{pipeline.PinEvent{Kind: pipeline.PinRollout, Object: web}, true,
			"warning: deployment/web -n shop: changing the pod template starts a rollout\n"},
		{pipeline.PinEvent{Kind: pipeline.PinGitOps, Object: web, Manager: "Helm"}, true,
			"warning: deployment/web -n shop looks managed by Helm: a live patch will be reverted; pin the manifests instead (kubectl imgtrust pin -f ... --write)\n"},
		{pipeline.PinEvent{Kind: pipeline.PinRetrying, Object: web}, true, "retrying deployment/web -n shop: it changed while we worked (resourceVersion conflict)\n"},
		{pipeline.PinEvent{Kind: pipeline.PinPatched, Object: web}, true, "patched deployment/web -n shop\n"},
		{pipeline.PinEvent{Kind: pipeline.PinPatched, Object: web, Cut: true}, true,
			"patched deployment/web -n shop: the interrupt cut its patch request; re-read: the pinned images are there\n"},
		{pipeline.PinEvent{Kind: pipeline.PinUntouched, Object: web, Untouched: pipeline.UntouchedBeforeSend}, true,
			"untouched deployment/web -n shop: interrupted before its patch was sent\n"},
		{pipeline.PinEvent{Kind: pipeline.PinUntouched, Object: web, Untouched: pipeline.UntouchedDryRun}, true,
			"untouched deployment/web -n shop: interrupted during a server dry run, which persists nothing\n"},
		{pipeline.PinEvent{Kind: pipeline.PinUntouched, Object: web, Untouched: pipeline.UntouchedCutUnchanged}, true,
			"untouched deployment/web -n shop: the interrupt cut its patch request; re-read: the images are unchanged\n"},
		// Without --apply nothing is ever patched: nothing to say.
		{pipeline.PinEvent{Kind: pipeline.PinUntouched, Object: web, Untouched: pipeline.UntouchedBeforeSend}, false, ""},
		{pipeline.PinEvent{Kind: pipeline.PinUnknown, Object: web, Err: boom}, true,
			"unknown deployment/web -n shop: the interrupt cut its patch request and re-reading it failed: boom\n"},
		{pipeline.PinEvent{Kind: pipeline.PinMirrorCopy, Copy: mirror.Result{Source: "a@sha256:x", Target: "m/a:1@sha256:x", Planned: true}}, false,
			"would copy a@sha256:x -> m/a:1@sha256:x\n"},
		{pipeline.PinEvent{Kind: pipeline.PinMirrorCopy, Copy: mirror.Result{Source: "a@sha256:x", Target: "m/a:1@sha256:x",
			CopyResult: registry.CopyResult{Manifests: 2, Blobs: 3, Bytes: 2048, Signatures: 1}, PullCredential: "anonymous", PushCredential: "local-docker-config"}}, true,
			"copied a@sha256:x -> m/a:1@sha256:x (manifests checked: 2, blobs: 3, 2.0 KiB, signatures: 1; pulled with anonymous, pushed with local-docker-config)\n"},
		{pipeline.PinEvent{Kind: pipeline.PinFileFailed, Path: "k8s/web.yaml", Err: boom}, false, "failed k8s/web.yaml: boom\n"},
		{pipeline.PinEvent{Kind: pipeline.PinFileEdit, Path: "k8s/web.yaml", Edit: pin.ManifestEdit{ImageSite: pin.ImageSite{Line: 7, Image: "a:1"}, New: "a:1@sha256:x"}}, false,
			"k8s/web.yaml:7: a:1 -> a:1@sha256:x (from registry)\n"},
	} {
		var errOut bytes.Buffer
		o := &PinOptions{Apply: tt.apply, DryRun: "none"}
		o.ErrOut = &errOut
		o.printEvent(tt.e)
		if errOut.String() != tt.want {
			t.Errorf("event %d: got %q, want %q", tt.e.Kind, errOut.String(), tt.want)
		}
	}
}

// -o renders as it always did: a "# label" before each of several
// patches, "---" between pinned objects, diffs as they are.
func TestPinOutputText(t *testing.T) {
	web := workload.Object{Kind: "Deployment", Name: "web", Namespace: "shop"}
	for _, tt := range []struct {
		out  pipeline.PinOutput
		want string
	}{
		{pipeline.PinOutput{Object: web, Format: pipeline.PinPatch, Data: []byte(`{"a":1}`)}, "{\"a\":1}\n"},
		{pipeline.PinOutput{Object: web, Format: pipeline.PinJSONPatch, Data: []byte(`[]`), Multiple: true}, "# deployment/web -n shop\n[]\n"},
		{pipeline.PinOutput{Object: web, Format: pipeline.PinYAML, Data: []byte("kind: X\n"), Multiple: true}, "---\nkind: X\n"},
		{pipeline.PinOutput{Object: web, Format: pipeline.PinYAML, Data: []byte("kind: X\n")}, "kind: X\n"},
		{pipeline.PinOutput{Path: "f.yaml", Format: pipeline.PinDiff, Data: []byte("--- a/f.yaml\n"), Multiple: true}, "--- a/f.yaml\n"},
	} {
		var out bytes.Buffer
		o := &PinOptions{}
		o.Out = &out
		if err := o.writeOutput(tt.out); err != nil {
			t.Fatal(err)
		}
		if out.String() != tt.want {
			t.Errorf("%s: got %q, want %q", tt.out.Format, out.String(), tt.want)
		}
	}
}
