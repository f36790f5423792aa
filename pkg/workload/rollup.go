package workload

import (
	"slices"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"

	"github.com/imgtrust/kubectl-imgtrust/pkg/imageref"
)

// Workload is one top-level object with every image its template and its
// pods use.
type Workload struct {
	Object
	// Pods is the number of pods rolled up into this workload.
	Pods int
	// Containers in spec order (init, regular), then ephemeral containers
	// found on pods.
	Containers []Usage
	// PodPullSecrets lists the distinct imagePullSecrets of the pods rolled
	// up into a controller, sorted. A running pod keeps the secrets it was
	// created with (the ServiceAccount admission plugin copies the service
	// account's in only then), which may differ from what the template and
	// service account give new pods today. Empty for a bare Pod.
	PodPullSecrets [][]string
	// Nodes are the distinct nodes its pods are scheduled on, sorted.
	Nodes []string
}

// Usage is one container's image with what the workload's pods run for it.
type Usage struct {
	ContainerSpec
	// Running holds one entry per pod whose status reports an image ID for
	// this container.
	Running []imageref.RunningImage
}

// RollupOptions chooses which objects are reported.
type RollupOptions struct {
	// Named, when set, makes exactly these objects the reported ones (objects
	// the user named as TYPE/NAME); their descendants roll up into them.
	// Otherwise every object without a listed controller is reported.
	Named map[types.UID]bool
	// Selector, when set, keeps a workload only if it or one of its pods
	// matches.
	Selector labels.Selector
}

// maxOwnerDepth bounds the walk up owner references, which could loop in a
// hand-crafted cluster.
const maxOwnerDepth = 8

// Rollup reports each image usage once, at its top owner: Pod → ReplicaSet →
// Deployment, Pod → Job → CronJob, Pod → StatefulSet/DaemonSet/
// ReplicationController. Workloads are sorted by namespace, kind and name.
func Rollup(objects []Object, opts RollupOptions) []Workload {
	byUID := make(map[types.UID]int, len(objects))
	for i := range objects {
		if objects[i].UID != "" {
			byUID[objects[i].UID] = i
		}
	}
	isRoot := func(i int) bool {
		if opts.Named != nil {
			return objects[i].UID != "" && opts.Named[objects[i].UID]
		}
		owner := objects[i].Owner
		if owner == nil {
			return true
		}
		o, listed := byUID[owner.UID]
		// A custom resource's images are what its rules reach, not what
		// its operator puts in the pods and controllers it makes: those
		// stay workloads of their own, so no image goes unreported.
		return !listed || objects[o].FromRules
	}
	rootOf := func(i int) (int, bool) {
		var walked [maxOwnerDepth]int
		for depth := 0; depth < maxOwnerDepth; depth++ {
			if isRoot(i) {
				return i, true
			}
			owner := objects[i].Owner
			if owner == nil {
				return 0, false
			}
			next, ok := byUID[owner.UID]
			if !ok {
				return 0, false
			}
			// An owner loop (or an object that is its own controller) has
			// no top: report the first looping object reached, rather than
			// hide the whole loop from the audit. Named roots stay exact.
			walked[depth] = i
			if opts.Named == nil && slices.Contains(walked[:depth+1], next) {
				return next, true
			}
			i = next
		}
		return 0, false
	}

	type group struct {
		root     int
		pods     []int
		selected bool
	}
	groups := map[int]*group{}
	var order []int
	for i := range objects {
		root, ok := rootOf(i)
		if !ok {
			continue
		}
		g := groups[root]
		if g == nil {
			g = &group{root: root}
			groups[root] = g
			order = append(order, root)
		}
		if objects[i].Kind == "Pod" {
			g.pods = append(g.pods, i)
		}
		if opts.Selector == nil || opts.Selector.Matches(labels.Set(objects[i].Labels)) {
			g.selected = true
		}
	}

	var out []Workload
	for _, root := range order {
		g := groups[root]
		if !g.selected || objects[root].Spec == nil {
			continue
		}
		out = append(out, buildWorkload(objects, g.root, g.pods))
	}
	sort.Slice(out, func(a, b int) bool {
		x, y := out[a], out[b]
		if x.Namespace != y.Namespace {
			return x.Namespace < y.Namespace
		}
		if x.Kind != y.Kind {
			return x.Kind < y.Kind
		}
		return x.Name < y.Name
	})
	return out
}

// certainRoots are the objects Rollup reports whatever else is listed:
// those without an owner (always a top owner), with a pod spec, and
// matching selector themselves (a group is kept when any member matches,
// which its pods may still do; these need none of them).
func certainRoots(objects []Object, selector labels.Selector) []Object {
	var out []Object
	for _, o := range objects {
		if o.Owner == nil && o.Spec != nil && (selector == nil || selector.Matches(labels.Set(o.Labels))) {
			out = append(out, o)
		}
	}
	return out
}

// EarlyPod is a pod whose place in the report is certain before the
// listing ends: a bare pod, its own workload, or one whose owner chain ends
// in a controller without an owner (certainRoots), into which it rolls up.
type EarlyPod struct {
	Pod Object
	// Root is the controller the pod is reported under, with its pull
	// secrets among the workload's PodPullSecrets; nil for a bare pod.
	Root *Object
}

// ownerIndex finds, among the listed controllers, the top owner Rollup
// gives a pod.
type ownerIndex struct {
	byUID    map[types.UID]*Object
	selector labels.Selector
}

func newOwnerIndex(controllers []Object, selector labels.Selector) ownerIndex {
	x := ownerIndex{byUID: make(map[types.UID]*Object, len(controllers)), selector: selector}
	for i := range controllers {
		if controllers[i].UID != "" {
			x.byUID[controllers[i].UID] = &controllers[i]
		}
	}
	return x
}

// certainPods are the pods of page Rollup reports whatever else is
// listed: those without an owner that the selector matches, and those
// whose owners, walked as Rollup walks them, are listed controllers up to
// one of certainRoots. A pod whose owner is not a listed controller (a
// Node, an operator's object, another pod, a kind RBAC hid) is left out:
// where it goes depends on what is listed after it.
func (x ownerIndex) certainPods(page []Object) []EarlyPod {
	var out []EarlyPod
	for i := range page {
		p := &page[i]
		if p.Spec == nil {
			continue
		}
		if p.Owner == nil {
			if x.selector == nil || x.selector.Matches(labels.Set(p.Labels)) {
				out = append(out, EarlyPod{Pod: *p})
			}
			continue
		}
		if root := x.rootOf(p); root != nil {
			out = append(out, EarlyPod{Pod: *p, Root: root})
		}
	}
	return out
}

// rootOf is the certain root o's owners lead to within Rollup's walk
// (maxOwnerDepth objects), nil when there is none.
func (x ownerIndex) rootOf(o *Object) *Object {
	for depth := 1; depth < maxOwnerDepth && o.Owner != nil; depth++ {
		next := x.byUID[o.Owner.UID]
		if next == nil {
			return nil
		}
		if next.Owner == nil {
			if len(certainRoots([]Object{*next}, x.selector)) == 0 {
				return nil
			}
			return next
		}
		o = next
	}
	return nil
}

func buildWorkload(objects []Object, root int, pods []int) Workload {
	w := Workload{Object: objects[root], Pods: len(pods)}
	index := map[ContainerKey]int{}
	for _, c := range w.Spec.Containers {
		index[ContainerKey{Type: c.Type, Name: c.Name}] = len(w.Containers)
		w.Containers = append(w.Containers, Usage{ContainerSpec: c})
	}
	for _, p := range pods {
		pod := &objects[p]
		// Ephemeral (debug) containers exist only on pods; report them on
		// the workload too, without a template path to patch.
		if pod.Spec != nil && p != root {
			for _, c := range pod.Spec.Containers {
				key := ContainerKey{Type: c.Type, Name: c.Name}
				if _, seen := index[key]; !seen && c.Type == EphemeralContainer {
					c.Path = ""
					index[key] = len(w.Containers)
					w.Containers = append(w.Containers, Usage{ContainerSpec: c})
				}
			}
		}
		for key, img := range pod.Running {
			if i, ok := index[key]; ok {
				w.Containers[i].Running = append(w.Containers[i].Running, img)
			}
		}
		if pod.Spec != nil && pod.Spec.NodeName != "" && !slices.Contains(w.Nodes, pod.Spec.NodeName) {
			w.Nodes = append(w.Nodes, pod.Spec.NodeName)
		}
		if pod.Spec != nil && p != root {
			secrets := pod.Spec.PullSecrets
			if !slices.ContainsFunc(w.PodPullSecrets, func(s []string) bool { return slices.Equal(s, secrets) }) {
				w.PodPullSecrets = append(w.PodPullSecrets, secrets)
			}
		}
	}
	slices.Sort(w.Nodes)
	sort.Slice(w.PodPullSecrets, func(a, b int) bool {
		return strings.Join(w.PodPullSecrets[a], ",") < strings.Join(w.PodPullSecrets[b], ",")
	})
	for i := range w.Containers {
		sort.Slice(w.Containers[i].Running, func(a, b int) bool {
			return w.Containers[i].Running[a].ImageID < w.Containers[i].Running[b].ImageID
		})
	}
	return w
}

// Digests returns the distinct digests the pods run for this container, by
// kind: manifest (repo) digests first, then config digests, each sorted.
func (u Usage) Digests(kind imageref.DigestKind) []string {
	seen := map[string]bool{}
	var out []string
	for _, r := range u.Running {
		if r.Kind == kind && !seen[r.Digest] {
			seen[r.Digest] = true
			out = append(out, r.Digest)
		}
	}
	sort.Strings(out)
	return out
}
