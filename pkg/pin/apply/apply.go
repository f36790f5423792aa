// Package apply sends pin's changes to the API server through the dynamic
// client: the patch (strategic merge for built-in kinds, JSON patch with
// tests for custom resources), our field manager, server-side dry run,
// the resourceVersion precondition with one re-plan after a conflict, and
// the re-read that tells whether a patch cut by an interrupt landed. It
// prints nothing: callers say what happened.
package apply

import (
	"context"
	"errors"
	"fmt"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"sigs.k8s.io/yaml"

	"github.com/imgtrust/kubectl-imgtrust/pkg/pin"
	"github.com/imgtrust/kubectl-imgtrust/pkg/workload"
)

// FieldManager names our changes in managedFields.
const FieldManager = "kubectl-imgtrust"

// Target is one object to pin, with how to reach it through the API.
type Target struct {
	workload.Workload
	Resource dynamic.ResourceInterface
}

// Options say how a patch is sent.
type Options struct {
	// DryRun sends it with server-side dry run: nothing persists.
	DryRun bool
	// FixedResourceVersion is set when the user named the version
	// (--resource-version): a conflict then fails, without a re-plan.
	FixedResourceVersion bool
	// Replan recomputes the changes for the object as re-read after a
	// conflict (and does what must precede its patch, e.g. mirroring); no
	// changes means someone else pinned it meanwhile.
	Replan func(workload.Workload) ([]pin.Change, error)
	// Retrying is told before the second patch is sent.
	Retrying func()
	// ImagePaths reads a re-read custom resource's images (nil: the
	// built-in catalogue).
	ImagePaths *workload.Catalog
}

// Send patches t with changes; on a conflict it re-reads the object,
// re-plans and sends once more (unless the version was fixed).
func Send(ctx context.Context, t Target, changes []pin.Change, o Options) error {
	err := send(ctx, t, changes, o.DryRun)
	if err == nil || !isConflict(err) || o.FixedResourceVersion {
		return conflictMessage(err, o.FixedResourceVersion)
	}
	fresh, err := t.Resource.Get(ctx, t.Name, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("re-reading after a conflict: %w", err)
	}
	obj, ok, err := o.ImagePaths.FromUnstructured(fresh)
	var fields *workload.FieldErrors
	if errors.As(err, &fields) {
		err = nil // the other images are there to re-plan
	}
	if err != nil || !ok {
		return fmt.Errorf("re-reading after a conflict: the object no longer holds a pod spec")
	}
	t.Workload = Refreshed(t.Workload, obj)
	changes, err = o.Replan(t.Workload)
	if err != nil || len(changes) == 0 {
		return err
	}
	if o.Retrying != nil {
		o.Retrying()
	}
	return conflictMessage(send(ctx, t, changes, o.DryRun), true)
}

func send(ctx context.Context, t Target, changes []pin.Change, dryRun bool) error {
	p, typ, err := PatchFor(t.Object, changes, false)
	if err != nil {
		return err
	}
	opts := metav1.PatchOptions{FieldManager: FieldManager}
	if dryRun {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	_, err = t.Resource.Patch(ctx, t.Name, typ, p, opts)
	return err
}

// Landed re-reads t to tell whether a patch whose request was cut (an
// interrupt) was applied: every change is there.
func Landed(ctx context.Context, t Target, changes []pin.Change) (bool, error) {
	cur, err := t.Resource.Get(ctx, t.Name, metav1.GetOptions{})
	if err != nil {
		return false, err
	}
	return pin.Landed(cur.Object, changes)
}

// Preview reads t and returns it as YAML before and after changes (without
// managedFields), for a diff or the pinned object.
func Preview(ctx context.Context, t Target, changes []pin.Change) (before, after []byte, err error) {
	current, err := t.Resource.Get(ctx, t.Name, metav1.GetOptions{})
	if err != nil {
		return nil, nil, err
	}
	unstructured.RemoveNestedField(current.Object, "metadata", "managedFields")
	if before, err = yaml.Marshal(current.Object); err != nil {
		return nil, nil, err
	}
	if err := pin.ApplyChanges(current.Object, changes); err != nil {
		return nil, nil, err
	}
	after, err = yaml.Marshal(current.Object)
	return before, after, err
}

// PatchFor builds the patch sent to the server: strategic merge for
// built-in kinds, JSON patch (with tests) for custom resources or when
// asked.
func PatchFor(obj workload.Object, changes []pin.Change, jsonPatch bool) ([]byte, types.PatchType, error) {
	if jsonPatch || !pin.StrategicMergeSupported(obj.APIVersion, obj.Kind) {
		p, err := pin.JSONPatch(obj, changes)
		return p, types.JSONPatchType, err
	}
	p, err := pin.StrategicMergePatch(obj, changes)
	return p, types.StrategicMergePatchType, err
}

// isConflict: a strategic merge patch carrying a stale resourceVersion gets
// 409; a JSON patch whose test op fails gets 422.
func isConflict(err error) bool {
	if apierrors.IsConflict(err) {
		return true
	}
	return (apierrors.IsInvalid(err) || apierrors.IsBadRequest(err)) && strings.Contains(err.Error(), "test")
}

func conflictMessage(err error, final bool) error {
	if err != nil && final && isConflict(err) {
		return errors.New("the object changed while we worked (resourceVersion conflict): nothing was applied; run again")
	}
	return err
}

// Refreshed rebuilds a workload from its re-read object, keeping what its
// pods run (matched by container type and name).
func Refreshed(w workload.Workload, obj workload.Object) workload.Workload {
	running := map[workload.ContainerKey]workload.Usage{}
	for _, u := range w.Containers {
		running[workload.ContainerKey{Type: u.Type, Name: u.Name}] = u
	}
	out := workload.Workload{Object: obj, Pods: w.Pods}
	for _, c := range obj.Spec.Containers {
		u := workload.Usage{ContainerSpec: c}
		if old, ok := running[workload.ContainerKey{Type: c.Type, Name: c.Name}]; ok {
			u.Running = old.Running
		}
		out.Containers = append(out.Containers, u)
	}
	return out
}

// ResourceFor is how obj is reached through the dynamic client.
func ResourceFor(dyn dynamic.Interface, mapper meta.RESTMapper, obj workload.Object) (dynamic.ResourceInterface, error) {
	gv, err := schema.ParseGroupVersion(obj.APIVersion)
	if err != nil {
		return nil, err
	}
	mapping, err := mapper.RESTMapping(gv.WithKind(obj.Kind).GroupKind(), gv.Version)
	if err != nil {
		return nil, err
	}
	if mapping.Scope.Name() == meta.RESTScopeNameNamespace {
		return dyn.Resource(mapping.Resource).Namespace(obj.Namespace), nil
	}
	return dyn.Resource(mapping.Resource), nil
}
