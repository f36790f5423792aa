package workload

import (
	"slices"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/imgtrust/kubectl-imgtrust/pkg/imageref"
)

// podInterner lets the pods of one listing share what they have in common.
// Each page's pods are dropped once extracted, but their Objects stay until
// the roll-up, and most of an Object is the same for every pod of a
// controller: its slim spec, owner reference, labels and what it runs.
// Holding a copy of those per pod made the heap (and the GC's work over
// it) grow with the cluster; shared, an Object held for a pod is little
// more than its name, UID and resourceVersion. Shared values are read-only
// after listing: nothing downstream writes to an Object's maps or spec.
//
// Every table stops growing at maxInterned entries, and a key longer than
// maxKeyBytes (big annotations) is not held, so a cluster whose pods share
// nothing costs no more than a copy each, plus bounded tables.
type podInterner struct {
	namespaces map[string]string
	specs      map[string]*PodSpec
	nodeSpecs  map[specAt]*PodSpec
	owners     map[string]*metav1.OwnerReference
	maps       map[string]map[string]string
	// running is by base spec (for the spec image noted with each running
	// image), then by the statuses' names and image IDs.
	running  map[*PodSpec]map[string]map[ContainerKey]imageref.RunningImage
	nRunning int
	// key is the key being built, reused for every lookup: a map index by
	// string(key) does not allocate, so a pod that matches costs no garbage.
	key  []byte
	keys []string
}

const (
	maxInterned = 16384
	maxKeyBytes = 4096
)

func newPodInterner() *podInterner {
	return &podInterner{
		namespaces: map[string]string{},
		specs:      map[string]*PodSpec{},
		nodeSpecs:  map[specAt]*PodSpec{},
		owners:     map[string]*metav1.OwnerReference{},
		maps:       map[string]map[string]string{},
		running:    map[*PodSpec]map[string]map[ContainerKey]imageref.RunningImage{},
	}
}

// pod is FromPod with the shared parts interned.
func (in *podInterner) pod(p *corev1.Pod) Object {
	obj := Object{
		APIVersion: "v1", Kind: "Pod",
		Namespace: p.Namespace, Name: p.Name, UID: p.UID, ResourceVersion: p.ResourceVersion,
		Owner:       in.owner(p.OwnerReferences),
		Labels:      in.stringMap(p.Labels),
		Annotations: in.stringMap(p.Annotations),
	}
	if ns, ok := in.namespaces[p.Namespace]; ok {
		obj.Namespace = ns
	} else if len(in.namespaces) < maxInterned {
		in.namespaces[p.Namespace] = p.Namespace
	}
	var base *PodSpec
	obj.Spec, base = in.spec(&p.Spec)
	obj.Running = in.runningOf(&obj, base, &p.Status)
	return obj
}

// field appends values to the key being built, each prefixed with its
// length, so no choice of values (an annotation may hold any byte) makes
// two different sets one key.
func (in *podInterner) field(values ...string) {
	for _, v := range values {
		in.key = strconv.AppendInt(in.key, int64(len(v)), 10)
		in.key = append(in.key, ':')
		in.key = append(in.key, v...)
	}
}

// lookup returns what table holds under the key built, making it with
// make and holding it (while the table has room) when there is none.
func lookup[V any](in *podInterner, table map[string]V, make func() V) V {
	if v, ok := table[string(in.key)]; ok {
		return v
	}
	v := make()
	if len(table) < maxInterned && len(in.key) <= maxKeyBytes {
		table[string(in.key)] = v
	}
	return v
}

func (in *podInterner) owner(refs []metav1.OwnerReference) *metav1.OwnerReference {
	i := slices.IndexFunc(refs, func(r metav1.OwnerReference) bool { return r.Controller != nil && *r.Controller })
	if i < 0 {
		return nil
	}
	r := &refs[i]
	in.key = in.key[:0]
	block := "nil"
	if r.BlockOwnerDeletion != nil {
		block = strconv.FormatBool(*r.BlockOwnerDeletion)
	}
	in.field(string(r.UID), r.APIVersion, r.Kind, r.Name, block)
	return lookup(in, in.owners, func() *metav1.OwnerReference { return controllerOf(refs) })
}

func (in *podInterner) stringMap(m map[string]string) map[string]string {
	if len(m) == 0 {
		return m
	}
	in.keys = in.keys[:0]
	for k := range m {
		in.keys = append(in.keys, k)
	}
	slices.Sort(in.keys)
	in.key = in.key[:0]
	for _, k := range in.keys {
		in.field(k, m[k])
	}
	return lookup(in, in.maps, func() map[string]string { return m })
}

// specAt is a shared spec on one node.
type specAt struct {
	base *PodSpec
	node string
}

// spec keys a pod spec by everything slimSpec keeps but the node; the JSON
// paths follow from the positions, which the key records with each list's
// length. A controller's pods spread over many nodes, so the node is set
// on a shallow copy, which still shares the containers and secrets. base
// is the spec without the node.
func (in *podInterner) spec(s *corev1.PodSpec) (spec, base *PodSpec) {
	in.key = in.key[:0]
	in.field(s.ServiceAccountName, strconv.Itoa(len(s.ImagePullSecrets)))
	for _, ps := range s.ImagePullSecrets {
		in.field(ps.Name)
	}
	containers := func(cs []corev1.Container) {
		in.field(strconv.Itoa(len(cs)))
		for _, c := range cs {
			in.field(c.Name, c.Image, string(c.ImagePullPolicy))
		}
	}
	containers(s.InitContainers)
	containers(s.Containers)
	in.field(strconv.Itoa(len(s.EphemeralContainers)))
	for _, c := range s.EphemeralContainers {
		in.field(c.Name, c.Image, string(c.ImagePullPolicy))
	}
	for i, v := range s.Volumes {
		if v.Image != nil {
			in.field(strconv.Itoa(i), v.Name, v.Image.Reference, string(v.Image.PullPolicy))
		}
	}
	base = lookup(in, in.specs, func() *PodSpec {
		out := slimSpec(s, "/spec")
		out.NodeName = ""
		return out
	})
	if s.NodeName == "" {
		return base, base
	}
	at := specAt{base, s.NodeName}
	if out, ok := in.nodeSpecs[at]; ok {
		return out, base
	}
	out := *base
	out.NodeName = s.NodeName
	if len(in.nodeSpecs) < maxInterned {
		in.nodeSpecs[at] = &out
	}
	return &out, base
}

// runningOf is what the pod runs, keyed by its statuses' names and image
// IDs under its base spec.
func (in *podInterner) runningOf(obj *Object, base *PodSpec, status *corev1.PodStatus) map[ContainerKey]imageref.RunningImage {
	in.key = in.key[:0]
	for _, ss := range [][]corev1.ContainerStatus{status.InitContainerStatuses, status.ContainerStatuses, status.EphemeralContainerStatuses} {
		in.field(strconv.Itoa(len(ss)))
		for _, s := range ss {
			in.field(s.Name, s.ImageID)
		}
	}
	table := in.running[base]
	if m, ok := table[string(in.key)]; ok {
		return m
	}
	obj.Running = runningImages(status)
	obj.noteSpecImages()
	if in.nRunning < maxInterned && len(in.key) <= maxKeyBytes {
		if table == nil {
			table = map[string]map[ContainerKey]imageref.RunningImage{}
			in.running[base] = table
		}
		table[string(in.key)] = obj.Running
		in.nRunning++
	}
	return obj.Running
}
