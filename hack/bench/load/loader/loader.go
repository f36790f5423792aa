// Package loader builds the synthetic cluster of the scale bench on the
// local stack: random images pushed once to its two registries, namespaces
// with a pull secret each, owner objects, and pods created directly with
// controller owner references and kubelet-like statuses (imageIDs), so the
// cluster looks like one whose controllers and kubelets did their work.
//
// `make bench` runs it at 10,000 pods with the controller-manager off;
// test/e2e runs it at 100 pods with the controller-manager on (see
// Config.ControllersRunning), so the bench's code path cannot rot.
package loader

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"github.com/imgtrust/kubectl-imgtrust/test/fixture"
)

// Label marks every object the loader creates, with the run's Prefix as
// value, so a run can be selected (-l) or cleaned up.
const Label = "imgtrust.dev/bench"

// PullSecretName is the pull secret of the private registry in every namespace.
const PullSecretName = "regcred"

// Config sizes the synthetic cluster.
type Config struct {
	// Pods is the number of pods (default 10,000).
	Pods int
	// PodsPerWorkload is the pods per owner object (default 10), so there
	// are Pods/PodsPerWorkload workloads.
	PodsPerWorkload int
	// Namespaces spreads the workloads (default 100).
	Namespaces int
	// Images is the number of unique image references (default 500), half
	// on the private registry, half on the public one.
	Images int
	// Prefix names the namespaces (PREFIX-000…) and the image repositories
	// (PREFIX/svc-N), so runs on one stack do not collide.
	Prefix string
	// PrivateHost and PublicHost are the registry hosts written into pod
	// specs, statuses and pull secrets (default: the stack's own). The bench
	// sets its latency proxies here; images are always pushed to the stack's
	// registries directly.
	PrivateHost, PublicHost string
	// PrivateUpstreams are the stack registries the private images are
	// pushed to, the same digests in each: the basic-auth one (default),
	// the token-auth one (which the same user may push to), or both, for a
	// proxy that switches between them.
	PrivateUpstreams []string
	// ControllersRunning makes every owner a DaemonSet. With the
	// controller-manager running, ReplicaSet, StatefulSet and Job controllers
	// would create their own pods as soon as their object exists (before ours
	// are seen) and then delete the surplus; the DaemonSet controller ignores
	// pods that have neither a node name nor node affinity and, with no
	// nodes, creates none. Without controllers the owners are a mix of
	// Deployments (with ReplicaSets), StatefulSets, DaemonSets, Jobs and bare
	// ReplicaSets.
	ControllersRunning bool
	// Workers bounds concurrent API calls (default 32); PushWorkers bounds
	// concurrent image pushes (default 16).
	Workers, PushWorkers int
	// Log receives progress lines; nil discards them.
	Log io.Writer
}

func (c *Config) defaults(s *fixture.Stack) {
	if c.Pods <= 0 {
		c.Pods = 10000
	}
	if c.PodsPerWorkload <= 0 {
		c.PodsPerWorkload = 10
	}
	if c.Namespaces <= 0 {
		c.Namespaces = 100
	}
	if c.Images <= 0 {
		c.Images = 500
	}
	if c.Prefix == "" {
		c.Prefix = "bench"
	}
	if c.PrivateHost == "" {
		c.PrivateHost = s.Registry
	}
	if c.PublicHost == "" {
		c.PublicHost = s.PublicRegistry
	}
	if len(c.PrivateUpstreams) == 0 {
		c.PrivateUpstreams = []string{s.Registry}
	}
	if c.Workers <= 0 {
		c.Workers = 32
	}
	if c.PushWorkers <= 0 {
		c.PushWorkers = 16
	}
	if c.Log == nil {
		c.Log = io.Discard
	}
}

// Image is one unique reference of the synthetic cluster.
type Image struct {
	// Ref is the reference as pods use it: PrivateHost or PublicHost/repo:tag.
	Ref string `json:"ref"`
	// Digest is the manifest digest pushed for it.
	Digest string `json:"digest"`
	// Private says it needs the namespace's pull secret.
	Private bool `json:"private"`
}

// Result says what was created.
type Result struct {
	Namespaces []string       `json:"namespaces"`
	Images     []Image        `json:"images"`
	Pods       int            `json:"pods"`
	Containers int            `json:"containers"`
	Workloads  map[string]int `json:"workloads"` // by kind, owner objects only (not Deployments' ReplicaSets)
	Repos      int            `json:"repositories"`
	Took       string         `json:"took"`
}

// NamespaceName is the name of the i-th namespace of a run, for cleanup
// when Load failed half-way.
func NamespaceName(prefix string, i int) string { return fmt.Sprintf("%s-%03d", prefix, i) }

// Load pushes the images and creates the cluster objects.
func Load(ctx context.Context, s *fixture.Stack, cs kubernetes.Interface, c Config) (*Result, error) {
	c.defaults(s)
	if c.Pods%c.PodsPerWorkload != 0 {
		return nil, fmt.Errorf("pods (%d) must be a multiple of pods per workload (%d)", c.Pods, c.PodsPerWorkload)
	}
	nWorkloads := c.Pods / c.PodsPerWorkload
	if nWorkloads < c.Namespaces {
		return nil, fmt.Errorf("%d workloads cannot fill %d namespaces", nWorkloads, c.Namespaces)
	}
	start := time.Now()
	images, repos, err := pushImages(ctx, s, c)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(c.Log, "loader: pushed %d images in %s\n", len(images), time.Since(start).Round(time.Millisecond))

	res := &Result{Images: images, Workloads: map[string]int{}, Repos: repos}
	for i := range c.Namespaces {
		res.Namespaces = append(res.Namespaces, NamespaceName(c.Prefix, i))
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(c.Workers)
	for _, ns := range res.Namespaces {
		g.Go(func() error { return createNamespace(gctx, s, cs, c, ns) })
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}

	var mu sync.Mutex
	var pods, containers atomic.Int64
	g, gctx = errgroup.WithContext(ctx)
	g.SetLimit(c.Workers)
	for w := range nWorkloads {
		spec := workloadSpec(c, images, w, res.Namespaces[w%c.Namespaces])
		g.Go(func() error {
			n, err := createWorkload(gctx, cs, c, spec)
			if err != nil {
				return fmt.Errorf("%s %s/%s: %w", spec.kind, spec.ns, spec.name, err)
			}
			mu.Lock()
			res.Workloads[spec.kind]++
			mu.Unlock()
			containers.Add(int64(n * (len(spec.init) + len(spec.app))))
			if done := pods.Add(int64(n)); done%1000 == 0 {
				fmt.Fprintf(c.Log, "loader: %d/%d pods (%s)\n", done, c.Pods, time.Since(start).Round(time.Second))
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	res.Pods, res.Containers = int(pods.Load()), int(containers.Load())
	res.Took = time.Since(start).Round(time.Millisecond).String()
	return res, nil
}

// pushImages writes Images random single-layer images, alternating between
// the registries, spread over Images/2 repositories with two tags each so the
// per-repository token budget is exercised by more than one tag.
func pushImages(ctx context.Context, s *fixture.Stack, c Config) ([]Image, int, error) {
	images := make([]Image, c.Images)
	nRepos := max(1, (c.Images+1)/2)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(c.PushWorkers)
	for i := range c.Images {
		private := i%2 == 0
		path := fmt.Sprintf("%s/svc-%03d:v%d", c.Prefix, i%nRepos, i/nRepos+1)
		pushTo, host := []string{s.PublicRegistry}, c.PublicHost
		if private {
			pushTo, host = c.PrivateUpstreams, c.PrivateHost
		}
		refs := make([]string, len(pushTo))
		for k, registry := range pushTo {
			refs[k] = registry + "/" + path
		}
		g.Go(func() error {
			p, err := s.PushImageTo(gctx, refs...)
			if err != nil {
				return err
			}
			images[i] = Image{Ref: host + "/" + path, Digest: p.Digest, Private: private}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, 0, err
	}
	repos := map[string]bool{}
	for _, im := range images {
		repos[im.Ref[:strings.LastIndex(im.Ref, ":")]] = true
	}
	return images, len(repos), nil
}

func createNamespace(ctx context.Context, st *fixture.Stack, cs kubernetes.Interface, c Config, ns string) error {
	meta := metav1.ObjectMeta{Name: ns, Labels: map[string]string{Label: c.Prefix}}
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: meta}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating namespace %s: %w", ns, err)
	}
	// Pod admission needs the "default" ServiceAccount, which only the
	// controller-manager would create.
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default", Namespace: ns}}
	if _, err := cs.CoreV1().ServiceAccounts(ns).Create(ctx, sa, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating %s/default service account: %w", ns, err)
	}
	// The same account in every namespace, as one team's registry login
	// would be: one credential content, so a resolver owes the registry one
	// request per private reference, not one per namespace.
	s := fixture.PullSecret(ns, PullSecretName, c.PrivateHost, st.RegistryUser, st.RegistryPassword)
	s.Labels = map[string]string{Label: c.Prefix}
	if _, err := cs.CoreV1().Secrets(ns).Create(ctx, s, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating %s/%s: %w", ns, PullSecretName, err)
	}
	return nil
}

// workload is one owner object to create with its pods.
type workload struct {
	ns, name, kind string
	init, app      []Image
	pods           int
}

// kindCycle is the owner kinds of one namespace's workloads without
// controllers: mostly Deployments, as in most clusters.
var kindCycle = []string{"Deployment", "Deployment", "Deployment", "Deployment", "Deployment", "StatefulSet", "StatefulSet", "DaemonSet", "Job", "ReplicaSet"}

// workloadSpec derives workload w deterministically: each image is some
// workload's main container (w mod Images), and some workloads add an init
// container or a sidecar from elsewhere in the list, so references repeat
// across namespaces and credentials as they do in real clusters.
func workloadSpec(c Config, images []Image, w int, ns string) workload {
	kind := kindCycle[(w/c.Namespaces)%len(kindCycle)]
	if c.ControllersRunning {
		kind = "DaemonSet"
	}
	n := len(images)
	wl := workload{ns: ns, name: fmt.Sprintf("%s-%04d", strings.ToLower(kind), w), kind: kind, pods: c.PodsPerWorkload}
	wl.app = []Image{images[w%n]}
	if w%5 == 4 {
		wl.app = append(wl.app, images[(w*13+7)%n])
	}
	if w%4 == 3 {
		wl.init = []Image{images[(w*37+11)%n]}
	}
	return wl
}

func (wl workload) podSpec() corev1.PodSpec {
	spec := corev1.PodSpec{RestartPolicy: corev1.RestartPolicyAlways}
	if wl.kind == "Job" {
		spec.RestartPolicy = corev1.RestartPolicyNever
	}
	private := false
	for i, im := range wl.init {
		spec.InitContainers = append(spec.InitContainers, corev1.Container{Name: fmt.Sprintf("init-%d", i), Image: im.Ref})
		private = private || im.Private
	}
	for i, im := range wl.app {
		name := "app"
		if i > 0 {
			name = fmt.Sprintf("sidecar-%d", i)
		}
		spec.Containers = append(spec.Containers, corev1.Container{Name: name, Image: im.Ref})
		private = private || im.Private
	}
	if private {
		spec.ImagePullSecrets = []corev1.LocalObjectReference{{Name: PullSecretName}}
	}
	return spec
}

// owner is what the pods point at, with the labels and names they get.
type owner struct {
	ref     metav1.OwnerReference
	labels  map[string]string
	podName func(i int) string
}

func ownerRef(apiVersion, kind string, m metav1.ObjectMeta) metav1.OwnerReference {
	return metav1.OwnerReference{APIVersion: apiVersion, Kind: kind, Name: m.Name, UID: m.UID,
		Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(true)}
}

func randomSuffix(prefix string) func(int) string {
	return func(int) string { return prefix + "-" + rand.String(5) }
}

// createOwner creates the workload's objects above its pods, as the API
// server and controllers would have left them.
func createOwner(ctx context.Context, cs kubernetes.Interface, c Config, wl workload, spec corev1.PodSpec) (owner, error) {
	labels := map[string]string{"app": wl.name, Label: c.Prefix}
	meta := metav1.ObjectMeta{Name: wl.name, Namespace: wl.ns, Labels: labels}
	tmpl := corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: spec}
	sel := &metav1.LabelSelector{MatchLabels: labels}
	replicas := ptr.To(int32(wl.pods))
	switch wl.kind {
	case "Deployment":
		d, err := cs.AppsV1().Deployments(wl.ns).Create(ctx, &appsv1.Deployment{ObjectMeta: meta,
			Spec: appsv1.DeploymentSpec{Replicas: replicas, Selector: sel, Template: tmpl}}, metav1.CreateOptions{})
		if err != nil {
			return owner{}, err
		}
		// The ReplicaSet the deployment controller would have made.
		hash := rand.String(10)
		rsLabels := map[string]string{"app": wl.name, Label: c.Prefix, appsv1.DefaultDeploymentUniqueLabelKey: hash}
		rsTmpl := *tmpl.DeepCopy()
		rsTmpl.Labels = rsLabels
		rs, err := cs.AppsV1().ReplicaSets(wl.ns).Create(ctx, &appsv1.ReplicaSet{
			ObjectMeta: metav1.ObjectMeta{Name: wl.name + "-" + hash, Namespace: wl.ns, Labels: rsLabels,
				OwnerReferences: []metav1.OwnerReference{ownerRef("apps/v1", "Deployment", d.ObjectMeta)}},
			Spec: appsv1.ReplicaSetSpec{Replicas: replicas, Selector: &metav1.LabelSelector{MatchLabels: rsLabels}, Template: rsTmpl},
		}, metav1.CreateOptions{})
		if err != nil {
			return owner{}, err
		}
		return owner{ownerRef("apps/v1", "ReplicaSet", rs.ObjectMeta), rsLabels, randomSuffix(rs.Name)}, nil
	case "ReplicaSet":
		rs, err := cs.AppsV1().ReplicaSets(wl.ns).Create(ctx, &appsv1.ReplicaSet{ObjectMeta: meta,
			Spec: appsv1.ReplicaSetSpec{Replicas: replicas, Selector: sel, Template: tmpl}}, metav1.CreateOptions{})
		if err != nil {
			return owner{}, err
		}
		return owner{ownerRef("apps/v1", "ReplicaSet", rs.ObjectMeta), labels, randomSuffix(wl.name)}, nil
	case "StatefulSet":
		sts, err := cs.AppsV1().StatefulSets(wl.ns).Create(ctx, &appsv1.StatefulSet{ObjectMeta: meta,
			Spec: appsv1.StatefulSetSpec{Replicas: replicas, Selector: sel, Template: tmpl}}, metav1.CreateOptions{})
		if err != nil {
			return owner{}, err
		}
		return owner{ownerRef("apps/v1", "StatefulSet", sts.ObjectMeta), labels, func(i int) string { return fmt.Sprintf("%s-%d", wl.name, i) }}, nil
	case "DaemonSet":
		ds, err := cs.AppsV1().DaemonSets(wl.ns).Create(ctx, &appsv1.DaemonSet{ObjectMeta: meta,
			Spec: appsv1.DaemonSetSpec{Selector: sel, Template: tmpl}}, metav1.CreateOptions{})
		if err != nil {
			return owner{}, err
		}
		return owner{ownerRef("apps/v1", "DaemonSet", ds.ObjectMeta), labels, randomSuffix(wl.name)}, nil
	case "Job":
		// The API server generates the selector and adds its labels to the
		// template; the pods must carry them.
		tmpl.Labels = map[string]string{Label: c.Prefix}
		job, err := cs.BatchV1().Jobs(wl.ns).Create(ctx, &batchv1.Job{ObjectMeta: meta,
			Spec: batchv1.JobSpec{Parallelism: replicas, Completions: replicas, Template: tmpl}}, metav1.CreateOptions{})
		if err != nil {
			return owner{}, err
		}
		return owner{ownerRef("batch/v1", "Job", job.ObjectMeta), job.Spec.Template.Labels, randomSuffix(wl.name)}, nil
	}
	return owner{}, fmt.Errorf("unknown kind %q", wl.kind)
}

// createWorkload creates the owner and its pods, each pod followed by a
// status update standing in for the kubelet. It returns the pods created.
func createWorkload(ctx context.Context, cs kubernetes.Interface, c Config, wl workload) (int, error) {
	spec := wl.podSpec()
	o, err := createOwner(ctx, cs, c, wl, spec)
	if err != nil {
		return 0, err
	}
	for i := range wl.pods {
		pod := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: o.podName(i), Namespace: wl.ns, Labels: o.labels,
				OwnerReferences: []metav1.OwnerReference{o.ref}},
			Spec: spec,
		}
		created, err := cs.CoreV1().Pods(wl.ns).Create(ctx, pod, metav1.CreateOptions{})
		if err != nil {
			return i, fmt.Errorf("creating pod %s: %w", pod.Name, err)
		}
		if err := setRunning(ctx, cs, created, wl); err != nil {
			return i, fmt.Errorf("pod %s status: %w", pod.Name, err)
		}
	}
	return wl.pods, nil
}

// ImageID is what a containerd kubelet reports as a container's imageID.
func (im Image) ImageID() string {
	return im.Ref[:strings.LastIndex(im.Ref, ":")] + "@" + im.Digest
}

// setRunning writes the status a kubelet would: running and ready, each
// container's imageID the digest pushed for its tag, init containers done.
func setRunning(ctx context.Context, cs kubernetes.Interface, pod *corev1.Pod, wl workload) error {
	now := metav1.Now()
	for attempt := 0; ; attempt++ {
		pod.Status = corev1.PodStatus{
			Phase:     corev1.PodRunning,
			StartTime: &now,
			Conditions: []corev1.PodCondition{
				{Type: corev1.PodInitialized, Status: corev1.ConditionTrue, LastTransitionTime: now},
				{Type: corev1.ContainersReady, Status: corev1.ConditionTrue, LastTransitionTime: now},
				{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: now},
			},
		}
		for i, im := range wl.init {
			pod.Status.InitContainerStatuses = append(pod.Status.InitContainerStatuses, corev1.ContainerStatus{
				Name: pod.Spec.InitContainers[i].Name, Image: im.Ref, ImageID: im.ImageID(),
				State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 0, Reason: "Completed"}},
			})
		}
		for i, im := range wl.app {
			pod.Status.ContainerStatuses = append(pod.Status.ContainerStatuses, corev1.ContainerStatus{
				Name: pod.Spec.Containers[i].Name, Image: im.Ref, ImageID: im.ImageID(), Ready: true, Started: ptr.To(true),
				State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: now}},
			})
		}
		_, err := cs.CoreV1().Pods(pod.Namespace).UpdateStatus(ctx, pod, metav1.UpdateOptions{})
		if !apierrors.IsConflict(err) || attempt == 4 {
			return err
		}
		// A controller touched the pod (e.g. adopting it): re-read, retry.
		cur, gerr := cs.CoreV1().Pods(pod.Namespace).Get(ctx, pod.Name, metav1.GetOptions{})
		if gerr != nil {
			return gerr
		}
		pod = cur
	}
}

// Refs returns the unique references, sorted.
func (r *Result) Refs() []string {
	refs := make([]string, 0, len(r.Images))
	for _, im := range r.Images {
		refs = append(refs, im.Ref)
	}
	sort.Strings(refs)
	return refs
}
