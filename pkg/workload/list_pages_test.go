package workload

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"runtime"
	"slices"
	"strconv"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	k8sruntime "k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"
	typedappsv1 "k8s.io/client-go/kubernetes/typed/apps/v1"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	k8stesting "k8s.io/client-go/testing"
)

// synthPod is pod i of a synthetic cluster: ten pods a ReplicaSet, 100
// namespaces, 20 nodes, an init container and a sidecar, labels and
// annotations as controllers and kubectl leave them, and a kubelet-like
// status. Every seventh pod differs from its siblings in a way the report
// must keep apart: a StatefulSet-style per-pod label, another image, an
// ephemeral container, an image volume, pull secrets.
func synthPod(i int) *corev1.Pod {
	rs := i / 10
	ns := fmt.Sprintf("ns-%03d", rs%100)
	yes := true
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: ns, Name: fmt.Sprintf("app-%05d-7d4b9c-%05d", rs, i), UID: types.UID(fmt.Sprintf("00000000-0000-0000-0000-%012d", i)),
			ResourceVersion: strconv.Itoa(100000 + i),
			Labels:          map[string]string{"app": fmt.Sprintf("app-%05d", rs), "pod-template-hash": "7d4b9c"},
			Annotations:     map[string]string{"kubectl.kubernetes.io/restartedAt": "2026-12-01T10:00:00Z"},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: fmt.Sprintf("app-%05d-7d4b9c", rs), UID: types.UID(fmt.Sprintf("rs-%d", rs)), Controller: &yes, BlockOwnerDeletion: &yes}},
		},
		Spec: corev1.PodSpec{
			ServiceAccountName: "default",
			NodeName:           fmt.Sprintf("node-%02d", i%20),
			InitContainers:     []corev1.Container{{Name: "migrate", Image: "ghcr.io/acme/migrate:1", ImagePullPolicy: corev1.PullIfNotPresent}},
			Containers: []corev1.Container{
				{Name: "app", Image: fmt.Sprintf("ghcr.io/acme/app-%03d:1.0", rs%250), ImagePullPolicy: corev1.PullIfNotPresent},
				{Name: "sidecar", Image: "envoy:1.30", ImagePullPolicy: corev1.PullAlways},
			},
		},
		Status: corev1.PodStatus{
			Phase: corev1.PodRunning, PodIP: fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255),
			InitContainerStatuses: []corev1.ContainerStatus{{Name: "migrate", ImageID: "ghcr.io/acme/migrate@" + digestC}},
			ContainerStatuses: []corev1.ContainerStatus{
				{Name: "app", ImageID: fmt.Sprintf("ghcr.io/acme/app-%03d@%s", rs%250, digestA)},
				{Name: "sidecar", ImageID: digestB},
			},
		},
	}
	switch i % 7 {
	case 1:
		p.Labels["statefulset.kubernetes.io/pod-name"] = p.Name
	case 2:
		p.Spec.Containers[0].Image = "ghcr.io/acme/other:2"
		p.Status.ContainerStatuses[0].ImageID = "ghcr.io/acme/other@" + digestB
	case 3:
		p.Spec.EphemeralContainers = []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: "debug", Image: "busybox:1.36"}}}
	case 4:
		p.Spec.Volumes = []corev1.Volume{{Name: "cfg"}, {Name: "models", VolumeSource: corev1.VolumeSource{Image: &corev1.ImageVolumeSource{Reference: "ghcr.io/acme/models:3"}}}}
	case 5:
		p.Spec.ImagePullSecrets = []corev1.LocalObjectReference{{Name: "ghcr"}}
		p.OwnerReferences = nil
		p.Annotations = nil
	}
	return p
}

// pagedPods serves n synthetic pods as the API server does: Limit items a
// page, the next one after the continue token. pages counts the LISTs.
func pagedPods(n int, pages *int) func(context.Context, metav1.ListOptions) (k8sruntime.Object, error) {
	return func(_ context.Context, opts metav1.ListOptions) (k8sruntime.Object, error) {
		*pages++
		start := 0
		if opts.Continue != "" {
			start, _ = strconv.Atoi(opts.Continue)
		}
		end := n
		if opts.Limit > 0 {
			end = min(start+int(opts.Limit), n)
		}
		list := &corev1.PodList{Items: make([]corev1.Pod, 0, end-start)}
		for i := start; i < end; i++ {
			list.Items = append(list.Items, *synthPod(i))
		}
		if end < n {
			list.Continue = strconv.Itoa(end)
		}
		return list, nil
	}
}

// TestExtractPagesEqualsWholeList: pods extracted page by page, sharing
// what they have in common, are exactly the Objects FromPod gives for the
// whole list at once, and pods of one template share one spec.
func TestExtractPagesEqualsWholeList(t *testing.T) {
	const n = 2*pageSize + 123
	var pages int
	got, err := extractPages(context.Background(), "Pod", pagedPods(n, &pages), nil)
	if err != nil {
		t.Fatalf("extractPages() err = %v", err)
	}
	if pages != 3 {
		t.Errorf("extractPages() sent %d LISTs, want 3 pages of %d", pages, pageSize)
	}
	want := make([]Object, n)
	for i := range n {
		want[i] = FromPod(synthPod(i))
	}
	if len(got) != n {
		t.Fatalf("extractPages() = %d objects, want %d", len(got), n)
	}
	for i := range want {
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Fatalf("pod %d extracted page by page:\n got %+v\nwant %+v", i, got[i], want[i])
		}
	}
	// Pods 0 and 7 are of one ReplicaSet, on two nodes: they share their
	// containers, owner reference, labels and running map; pod 10, of
	// another ReplicaSet, has its own owner reference.
	a, b := got[0], got[7]
	if &a.Spec.Containers[0] != &b.Spec.Containers[0] || a.Spec.NodeName == b.Spec.NodeName {
		t.Errorf("pods 0 and 7 do not share their containers, or share their node (%q, %q)", a.Spec.NodeName, b.Spec.NodeName)
	}
	if a.Owner == nil || a.Owner != b.Owner || a.Owner == got[10].Owner {
		t.Errorf("owner references: pods 0 and 7 %p and %p (want one), pod 10 %p (want another)", a.Owner, b.Owner, got[10].Owner)
	}
	if reflect.ValueOf(a.Running).UnsafePointer() != reflect.ValueOf(b.Running).UnsafePointer() {
		t.Error("pods 0 and 7 run the same images but hold two running maps")
	}
	if reflect.ValueOf(a.Labels).UnsafePointer() != reflect.ValueOf(b.Labels).UnsafePointer() {
		t.Error("pods 0 and 7 of one ReplicaSet hold two equal labels maps")
	}
}

// BenchmarkExtractPods lists synthetic pods page by page (each page built
// afresh, as the decoder would) at 10,000 and 100,000 pods. ns/pod and
// retained-B/pod (the heap the extracted Objects hold, after a GC) should
// stay flat from one size to the next; "copies" is the same listing with a
// copy of everything per pod, as before the pods shared it.
func BenchmarkExtractPods(b *testing.B) {
	for _, n := range []int{10000, 100000} {
		for _, mode := range []string{"shared", "copies"} {
			b.Run(fmt.Sprintf("pods=%d/%s", n, mode), func(b *testing.B) {
				kind := "Pod"
				if mode == "copies" {
					kind = "copies" // no interner; fromTyped still reads pods
				}
				extract := func() []Object {
					var pages int
					objects, err := extractPages(context.Background(), kind, pagedPods(n, &pages), nil)
					if err != nil || len(objects) != n {
						b.Fatalf("extractPages() = %d objects, err %v; want %d", len(objects), err, n)
					}
					return objects
				}
				b.ReportAllocs()
				for b.Loop() {
					extract()
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/pod")
				var before, after runtime.MemStats
				runtime.GC()
				runtime.ReadMemStats(&before)
				held := extract()
				runtime.GC()
				runtime.ReadMemStats(&after)
				runtime.KeepAlive(held)
				b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/float64(n), "retained-B/pod")
			})
		}
	}
}

// TestListControllersBeforePods: list hands over every kind but pods while
// the pods are still being read, and certainRoots keeps the controllers
// Rollup reports whatever the pods are: no owner, a pod spec, the selector
// matching them.
func TestListControllersBeforePods(t *testing.T) {
	handed := make(chan struct{})
	client := gatedPods{newFakeClient(), handed}
	var controllers []Object
	objects, problems, err := list(context.Background(), client, "shop", func(objs []Object) {
		controllers = objs
		close(handed)
	}, nil)
	if err != nil || len(problems) > 0 {
		t.Fatalf("list() problems=%v err=%v", problems, err)
	}
	if got, want := len(controllers), len(objects)-1; got != want {
		t.Errorf("handed %d controllers, want every object but the pod (%d)", got, want)
	}
	var names []string
	for _, o := range certainRoots(controllers, nil) {
		names = append(names, o.Kind+"/"+o.Name)
	}
	want := []string{"Deployment/web", "StatefulSet/db", "DaemonSet/agent", "Job/once", "CronJob/nightly", "ReplicationController/frontend"}
	if !reflect.DeepEqual(sorted(names), sorted(want)) {
		t.Errorf("certainRoots() = %v, want %v (not the ReplicaSet its Deployment owns)", names, want)
	}
	for i := range controllers {
		if controllers[i].Kind == "Deployment" {
			controllers[i].Labels = map[string]string{"tier": "web"}
		}
	}
	sel, _ := labels.Parse("tier=web")
	if got := certainRoots(controllers, sel); len(got) != 1 || got[0].Kind != "Deployment" {
		t.Errorf("certainRoots(tier=web) = %+v, want only the labelled Deployment", got)
	}
}

// gatedPods answers a LIST of pods only once gate is closed, failing it
// after 5s: the controllers were not handed over while pods were read.
type gatedPods struct {
	*fake.Clientset
	gate chan struct{}
}

func (c gatedPods) CoreV1() typedcorev1.CoreV1Interface {
	return gatedCore{c.Clientset.CoreV1(), c.gate}
}

type gatedCore struct {
	typedcorev1.CoreV1Interface
	gate chan struct{}
}

func (c gatedCore) Pods(ns string) typedcorev1.PodInterface {
	return gatedPodList{c.CoreV1Interface.Pods(ns), c.gate}
}

type gatedPodList struct {
	typedcorev1.PodInterface
	gate chan struct{}
}

func (p gatedPodList) List(ctx context.Context, opts metav1.ListOptions) (*corev1.PodList, error) {
	select {
	case <-p.gate:
		return p.PodInterface.List(ctx, opts)
	case <-time.After(5 * time.Second):
		return nil, errors.New("the pods' LIST waited 5s: the controllers were not handed over first")
	}
}

// TestListHandsCertainPods: the pods handed over during the listing are
// those Rollup reports whatever else is listed, each under the workload
// Rollup gives it (its pull secrets among that workload's), pods of an old
// ReplicaSet under its Deployment; a pod whose owner is no listed
// controller, or whose root the selector does not match, is not handed.
// The pods' LIST is held until the controllers are handed, and pages
// before that are handed after them.
func TestListHandsCertainPods(t *testing.T) {
	yes := true
	owner := func(apiVersion, kind, name, uid string) []metav1.OwnerReference {
		return []metav1.OwnerReference{{APIVersion: apiVersion, Kind: kind, Name: name, UID: types.UID(uid), Controller: &yes}}
	}
	meta := func(name, uid string, labels map[string]string, owners []metav1.OwnerReference) metav1.ObjectMeta {
		return metav1.ObjectMeta{Namespace: "shop", Name: name, UID: types.UID(uid), Labels: labels, OwnerReferences: owners}
	}
	spec := func(image string, secret string) corev1.PodSpec {
		return corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: image}}, ImagePullSecrets: []corev1.LocalObjectReference{{Name: secret}}}
	}
	tmpl := func(image string) corev1.PodTemplateSpec { return corev1.PodTemplateSpec{Spec: spec(image, "tmpl")} }
	web := map[string]string{"tier": "web"}
	objs := []k8sruntime.Object{
		&appsv1.Deployment{ObjectMeta: meta("web", "d-web", web, nil), Spec: appsv1.DeploymentSpec{Template: tmpl("web:2")}},
		&appsv1.ReplicaSet{ObjectMeta: meta("web-2", "rs-2", web, owner("apps/v1", "Deployment", "web", "d-web")), Spec: appsv1.ReplicaSetSpec{Template: tmpl("web:2")}},
		&appsv1.ReplicaSet{ObjectMeta: meta("web-1", "rs-1", web, owner("apps/v1", "Deployment", "web", "d-web")), Spec: appsv1.ReplicaSetSpec{Template: tmpl("web:1")}},
		&appsv1.StatefulSet{ObjectMeta: meta("db", "s-db", nil, nil), Spec: appsv1.StatefulSetSpec{Template: tmpl("db:1")}},
		&corev1.Pod{ObjectMeta: meta("web-2-a", "p-new", web, owner("apps/v1", "ReplicaSet", "web-2", "rs-2")), Spec: spec("web:2", "new")},
		&corev1.Pod{ObjectMeta: meta("web-1-a", "p-old", web, owner("apps/v1", "ReplicaSet", "web-1", "rs-1")), Spec: spec("web:1", "old")},
		&corev1.Pod{ObjectMeta: meta("db-0", "p-db", nil, owner("apps/v1", "StatefulSet", "db", "s-db")), Spec: spec("db:1", "db")},
		&corev1.Pod{ObjectMeta: meta("debug", "p-debug", web, nil), Spec: spec("tool:1", "debug")},
		&corev1.Pod{ObjectMeta: meta("scratch", "p-scratch", nil, nil), Spec: spec("tool:2", "scratch")},
		&corev1.Pod{ObjectMeta: meta("etcd-node-1", "p-mirror", nil, owner("v1", "Node", "node-1", "n-1")), Spec: spec("etcd:3", "m")},
		&corev1.Pod{ObjectMeta: meta("orphan", "p-orphan", nil, owner("apps/v1", "ReplicaSet", "gone", "rs-gone")), Spec: spec("web:0", "o")},
		&corev1.Pod{ObjectMeta: meta("child", "p-child", nil, owner("v1", "Pod", "debug", "p-debug")), Spec: spec("tool:3", "c")},
	}
	for _, tc := range []struct {
		selector string
		// podsFirst: the pods are read before the Deployments, so their
		// page waits for the controllers.
		podsFirst bool
		want      []string // pod → root ("" for a bare pod)
	}{
		{"", false, []string{"db-0 → StatefulSet/db", "debug", "scratch", "web-1-a → Deployment/web", "web-2-a → Deployment/web"}},
		{"tier=web", false, []string{"debug", "web-1-a → Deployment/web", "web-2-a → Deployment/web"}},
		{"", true, []string{"db-0 → StatefulSet/db", "debug", "scratch", "web-1-a → Deployment/web", "web-2-a → Deployment/web"}},
	} {
		t.Run(fmt.Sprintf("%s/podsFirst=%v", tc.selector, tc.podsFirst), func(t *testing.T) {
			var selector labels.Selector
			if tc.selector != "" {
				selector, _ = labels.Parse(tc.selector)
			}
			handed := make(chan struct{})
			var early []EarlyPod
			controllers, pods := earlyHooks(Scope{
				Early:     func([]Object) { close(handed) },
				EarlyPods: func(p []EarlyPod) { early = append(early, p...) },
			}, selector)
			var client kubernetes.Interface = gatedPods{fake.NewClientset(objs...), handed}
			if tc.podsFirst {
				client = podsFirstClient{fake.NewClientset(objs...)}
			}
			objects, problems, err := list(context.Background(), client, "shop", controllers, pods)
			if err != nil || len(problems) > 0 {
				t.Fatalf("list() problems=%v err=%v", problems, err)
			}
			var got []string
			for _, e := range early {
				s := e.Pod.Name
				if e.Root != nil {
					s += " → " + e.Root.Kind + "/" + e.Root.Name
				}
				got = append(got, s)
			}
			if !reflect.DeepEqual(sorted(got), tc.want) {
				t.Errorf("pods handed early = %q, want %q", sorted(got), tc.want)
			}
			// Each as Rollup reports it.
			reported := map[types.UID]Workload{}
			for _, w := range Rollup(objects, RollupOptions{Selector: selector}) {
				reported[w.UID] = w
			}
			for _, e := range early {
				if e.Root == nil {
					if _, ok := reported[e.Pod.UID]; !ok {
						t.Errorf("bare pod %s handed early is not reported", e.Pod.Name)
					}
					continue
				}
				w, ok := reported[e.Root.UID]
				if !ok || !slices.ContainsFunc(w.PodPullSecrets, func(s []string) bool { return slices.Equal(s, e.Pod.Spec.PullSecrets) }) {
					t.Errorf("pod %s handed under %s/%s: Rollup reports %+v (pod pull secrets %v)", e.Pod.Name, e.Root.Kind, e.Root.Name, ok, w.PodPullSecrets)
				}
			}
		})
	}
}

// podsFirstClient answers the Deployments' LIST only once the pods' page
// has been read and extracted (list holds it: nothing is handed yet).
type podsFirstClient struct{ *fake.Clientset }

func (c podsFirstClient) AppsV1() typedappsv1.AppsV1Interface {
	return podsFirstApps{c.Clientset.AppsV1(), c.Clientset}
}

type podsFirstApps struct {
	typedappsv1.AppsV1Interface
	client *fake.Clientset
}

func (a podsFirstApps) Deployments(ns string) typedappsv1.DeploymentInterface {
	return podsFirstDeployments{a.AppsV1Interface.Deployments(ns), a.client}
}

type podsFirstDeployments struct {
	typedappsv1.DeploymentInterface
	client *fake.Clientset
}

func (d podsFirstDeployments) List(ctx context.Context, opts metav1.ListOptions) (*appsv1.DeploymentList, error) {
	deadline := time.Now().Add(5 * time.Second)
	for !slices.ContainsFunc(d.client.Actions(), func(a k8stesting.Action) bool {
		return a.GetVerb() == "list" && a.GetResource().Resource == "pods"
	}) && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond) // the page extracted and held
	return d.DeploymentInterface.List(ctx, opts)
}
