// Package workload finds every container image a set of Kubernetes objects
// uses: it reads pods and their controllers (live, or from manifest files),
// rolls pods up to their top owner, and yields one Workload per top object
// with its containers, the JSON path of each image, and what pods run.
package workload

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"

	"github.com/imgtrust/kubectl-imgtrust/pkg/imageref"
)

// ContainerType is where a container sits in a pod spec, or ImageVolume
// for an image volume (spec.volumes[].image): the kubelet pulls its
// reference like a container's image, with the same pull secrets.
type ContainerType string

const (
	Container          ContainerType = "container"
	InitContainer      ContainerType = "initContainer"
	EphemeralContainer ContainerType = "ephemeralContainer"
	// ImageVolume is a volume's image: Name is the volume's, Path ends in
	// /volumes/<i>/image/reference. Pod statuses report no digest for it.
	ImageVolume ContainerType = "imageVolume"
	// ResourceImage is an image field of a custom resource that an
	// image-paths rule found (a Tekton step, a Prometheus's spec.image):
	// Name says where it sits ("steps/build", "spec.image"), Path is its
	// JSON pointer. No pod reports its digest under that name.
	ResourceImage ContainerType = "image"
)

// PodSpec is the part of a pod spec the report needs.
type PodSpec struct {
	ServiceAccount string
	PullSecrets    []string
	// NodeName is where a pod is scheduled (its platform decides which
	// manifest of a multi-arch image it runs); empty for templates.
	NodeName   string
	Containers []ContainerSpec
}

// ContainerSpec is one container's image as written (or an image
// volume's reference: Type ImageVolume).
type ContainerSpec struct {
	Name       string
	Type       ContainerType
	Image      string
	PullPolicy corev1.PullPolicy
	// Path is the JSON pointer of the image field in its object,
	// e.g. "/spec/template/spec/containers/0/image".
	Path string
	// Line and Column locate the image value in the object's Source file
	// (-f), as editors count them; 0 when live or unknown.
	Line, Column int
}

// Object is the slice of a Kubernetes object the roll-up needs. Whole objects
// are dropped as soon as this is extracted, so that a cluster-wide audit holds
// only what it reports.
type Object struct {
	APIVersion, Kind string
	Namespace, Name  string
	UID              types.UID
	ResourceVersion  string
	// Owner is the controlling owner reference, if any.
	Owner       *metav1.OwnerReference
	Labels      map[string]string
	Annotations map[string]string
	// Spec is the pod spec or pod template; nil for objects without one.
	Spec *PodSpec
	// Source is the file an object read with -f came from ("" when live),
	// and SourceLine the line its document (or List item) starts on: two
	// objects of one name in one file are two workloads.
	Source     string
	SourceLine int
	// Resource names the object's kind for kubectl when its kind alone
	// would not ("services.serving.knative.dev", where "service" is the
	// core Service); empty for the built-in workload kinds.
	Resource string
	// FromRules is set when an image-paths rule found the images (a custom
	// resource): its operator, not a pod template, makes the pods.
	FromRules bool
	// Running lists what a pod's statuses say its containers run, keyed by
	// container type and name. Empty for everything but pods.
	Running map[ContainerKey]imageref.RunningImage
}

// Ref names the object as kubectl takes it in a command: "deployment/web".
// A custom kind is named by its resource and group, since kubectl resolves a
// bare kind to the built-in one first ("service/hello" is the core Service,
// not Knative's); read from a manifest, where no API server says the
// resource, kind.group says it as unambiguously.
func (o Object) Ref() string {
	if o.Resource != "" {
		return o.Resource + "/" + o.Name
	}
	if group, _, found := strings.Cut(o.APIVersion, "/"); found && !builtinGroup(group) {
		return strings.ToLower(o.Kind) + "." + group + "/" + o.Name
	}
	return strings.ToLower(o.Kind) + "/" + o.Name
}

// Label is Ref with the namespace as commands give it: "deployment/web -n shop".
func (o Object) Label() string {
	if o.Namespace == "" {
		return o.Ref()
	}
	return o.Ref() + " -n " + o.Namespace
}

func builtinGroup(group string) bool {
	return group == "" || group == "apps" || group == "batch" || group == "extensions"
}

// ContainerKey names a container within a pod.
type ContainerKey struct {
	Type ContainerType
	Name string
}

// Where each kind keeps its pod spec.
var podSpecPaths = map[string][]string{
	"Pod":                   {"spec"},
	"PodTemplate":           {"template", "spec"},
	"Deployment":            {"spec", "template", "spec"},
	"StatefulSet":           {"spec", "template", "spec"},
	"DaemonSet":             {"spec", "template", "spec"},
	"ReplicaSet":            {"spec", "template", "spec"},
	"ReplicationController": {"spec", "template", "spec"},
	"Job":                   {"spec", "template", "spec"},
	"CronJob":               {"spec", "jobTemplate", "spec", "template", "spec"},
}

// Any other kind (a CRD named explicitly) is searched at these paths.
var genericPodSpecPaths = [][]string{
	{"spec", "template", "spec"},
	{"spec", "jobTemplate", "spec", "template", "spec"},
}

// FromUnstructured extracts an Object from any object holding a pod spec. ok
// is false when the object holds none (a ConfigMap in a manifest directory,
// say); an error means it holds one that is malformed.
func FromUnstructured(u *unstructured.Unstructured) (obj Object, ok bool, err error) {
	return BuiltinCatalog().FromUnstructured(u)
}

// FromUnstructured is the package's FromUnstructured with this catalogue's
// rules: an object of a kind it knows holds the images its rules reach. An
// image field that holds no string is a *FieldErrors with ok still true, so
// the object's other images are read.
func (c *Catalog) FromUnstructured(u *unstructured.Unstructured) (obj Object, ok bool, err error) {
	obj = Object{
		APIVersion:      u.GetAPIVersion(),
		Kind:            u.GetKind(),
		Namespace:       u.GetNamespace(),
		Name:            u.GetName(),
		UID:             u.GetUID(),
		ResourceVersion: u.GetResourceVersion(),
		Owner:           controllerOf(u.GetOwnerReferences()),
		Labels:          u.GetLabels(),
		Annotations:     u.GetAnnotations(),
	}
	if obj.Name == "" {
		obj.Name = displayName(u.GetGenerateName())
	}
	if rules := c.rulesFor(obj.APIVersion, obj.Kind); rules != nil {
		obj.FromRules = true
		spec, problems := rules.find(u.Object)
		obj.Spec = spec
		if len(problems) > 0 {
			return obj, true, &FieldErrors{Kind: obj.Kind, Name: obj.Name, Errs: problems}
		}
		return obj, true, nil
	}
	candidates := genericPodSpecPaths
	if path, known := podSpecPaths[obj.Kind]; known && isCoreOrApps(u.GroupVersionKind().Group) {
		candidates = [][]string{path}
	}
	for _, path := range candidates {
		raw, found, _ := unstructured.NestedMap(u.Object, path...)
		if !found {
			continue
		}
		var spec corev1.PodSpec
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(raw, &spec); err != nil {
			return obj, false, fmt.Errorf("%s %s: reading the pod spec at .%s: %w", obj.Kind, obj.Name, strings.Join(path, "."), err)
		}
		obj.Spec = slimSpec(&spec, "/"+strings.Join(path, "/"))
		break
	}
	if obj.Kind == "Pod" {
		var status corev1.PodStatus
		if raw, found, _ := unstructured.NestedMap(u.Object, "status"); found {
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(raw, &status); err != nil {
				return obj, false, fmt.Errorf("Pod %s: reading its status: %w", obj.Name, err)
			}
		}
		obj.Running = runningImages(&status)
		obj.noteSpecImages()
	}
	return obj, obj.Spec != nil, nil
}

// displayName names an object that has no name yet (only in manifests):
// "db-migrate-*" for generateName "db-migrate-", so the report never shows
// an empty name.
func displayName(generateName string) string {
	if generateName == "" {
		return "(unnamed)"
	}
	return generateName + "*"
}

// The workload kinds live in the core, apps and batch groups; a CRD that
// happens to be called "Deployment" is searched like any other CRD.
func isCoreOrApps(group string) bool {
	return group == "" || group == "apps" || group == "batch" || group == "extensions"
}

// FromPod extracts an Object from a typed Pod.
func FromPod(p *corev1.Pod) Object {
	obj := Object{
		APIVersion: "v1", Kind: "Pod",
		Namespace: p.Namespace, Name: p.Name, UID: p.UID, ResourceVersion: p.ResourceVersion,
		Owner:       controllerOf(p.OwnerReferences),
		Labels:      p.Labels,
		Annotations: p.Annotations,
		Spec:        slimSpec(&p.Spec, "/spec"),
		Running:     runningImages(&p.Status),
	}
	obj.noteSpecImages()
	return obj
}

// FromTemplate extracts an Object from a typed controller and its template.
func FromTemplate(apiVersion, kind string, meta *metav1.ObjectMeta, spec *corev1.PodSpec) Object {
	return Object{
		APIVersion: apiVersion, Kind: kind,
		Namespace: meta.Namespace, Name: meta.Name, UID: meta.UID, ResourceVersion: meta.ResourceVersion,
		Owner:       controllerOf(meta.OwnerReferences),
		Labels:      meta.Labels,
		Annotations: meta.Annotations,
		Spec:        slimSpec(spec, "/"+strings.Join(podSpecPaths[kind], "/")),
	}
}

func controllerOf(refs []metav1.OwnerReference) *metav1.OwnerReference {
	for i := range refs {
		if refs[i].Controller != nil && *refs[i].Controller {
			r := refs[i]
			return &r
		}
	}
	return nil
}

func slimSpec(spec *corev1.PodSpec, specPath string) *PodSpec {
	out := &PodSpec{ServiceAccount: spec.ServiceAccountName, NodeName: spec.NodeName}
	for _, s := range spec.ImagePullSecrets {
		out.PullSecrets = append(out.PullSecrets, s.Name)
	}
	add := func(t ContainerType, field string, i int, name, image string, policy corev1.PullPolicy) {
		out.Containers = append(out.Containers, ContainerSpec{
			Name: name, Type: t, Image: image, PullPolicy: policy,
			Path: fmt.Sprintf("%s/%s/%d/image", specPath, field, i),
		})
	}
	for i, c := range spec.InitContainers {
		add(InitContainer, "initContainers", i, c.Name, c.Image, c.ImagePullPolicy)
	}
	for i, c := range spec.Containers {
		add(Container, "containers", i, c.Name, c.Image, c.ImagePullPolicy)
	}
	for i, c := range spec.EphemeralContainers {
		add(EphemeralContainer, "ephemeralContainers", i, c.Name, c.Image, c.ImagePullPolicy)
	}
	for i, v := range spec.Volumes {
		if v.Image == nil {
			continue
		}
		out.Containers = append(out.Containers, ContainerSpec{
			Name: v.Name, Type: ImageVolume, Image: v.Image.Reference, PullPolicy: v.Image.PullPolicy,
			Path: fmt.Sprintf("%s/volumes/%d/image/reference", specPath, i),
		})
	}
	return out
}

func runningImages(status *corev1.PodStatus) map[ContainerKey]imageref.RunningImage {
	out := map[ContainerKey]imageref.RunningImage{}
	add := func(t ContainerType, statuses []corev1.ContainerStatus) {
		for _, s := range statuses {
			if img, ok := parseImageID(s.ImageID); ok {
				out[ContainerKey{Type: t, Name: s.Name}] = img
			}
		}
	}
	add(InitContainer, status.InitContainerStatuses)
	add(Container, status.ContainerStatuses)
	add(EphemeralContainer, status.EphemeralContainerStatuses)
	if len(out) == 0 {
		return nil
	}
	return out
}

// imageIDs memoises imageref.ParseImageID across the pods of a run: a
// cluster's thousands of containers run a few hundred images, and parsing
// every status's imageID (distribution/reference's regular expressions) was
// 15 % of an offline audit's CPU at 30,000 pods. It stops growing at
// maxImageIDs, so a cluster of all-distinct images costs no more memory
// than a parse each.
var imageIDs struct {
	sync.Map // imageID -> parsedImageID
	n        atomic.Int64
}

const maxImageIDs = 16384

type parsedImageID struct {
	img imageref.RunningImage
	ok  bool
}

func parseImageID(id string) (imageref.RunningImage, bool) {
	if v, ok := imageIDs.Load(id); ok {
		p := v.(parsedImageID)
		return p.img, p.ok
	}
	img, ok := imageref.ParseImageID(id)
	if imageIDs.n.Load() < maxImageIDs {
		if _, loaded := imageIDs.LoadOrStore(id, parsedImageID{img, ok}); !loaded {
			imageIDs.n.Add(1)
		}
	}
	return img, ok
}

// noteSpecImages records, with each running image, the image the pod's own
// spec names for that container.
func (o *Object) noteSpecImages() {
	if o.Spec == nil {
		return
	}
	for _, c := range o.Spec.Containers {
		key := ContainerKey{Type: c.Type, Name: c.Name}
		if r, ok := o.Running[key]; ok {
			r.SpecImage = c.Image
			o.Running[key] = r
		}
	}
}
