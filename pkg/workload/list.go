package workload

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/pager"
)

// pageSize is the chunk of each paginated LIST, as kubectl uses.
const pageSize = 500

// kindLister lists one kind in one namespace ("" for all), page by page, and
// turns each item into an Object.
type kindLister struct {
	kind     string
	resource string // for messages: "pods", "deployments.apps", …
	list     func(ctx context.Context, c kubernetes.Interface, ns string, opts metav1.ListOptions) (runtime.Object, error)
}

// The kinds whose pod specs and pods make up a cluster's images.
var kindListers = []kindLister{
	{"Pod", "pods", func(ctx context.Context, c kubernetes.Interface, ns string, o metav1.ListOptions) (runtime.Object, error) {
		return c.CoreV1().Pods(ns).List(ctx, o)
	}},
	{"ReplicaSet", "replicasets.apps", func(ctx context.Context, c kubernetes.Interface, ns string, o metav1.ListOptions) (runtime.Object, error) {
		return c.AppsV1().ReplicaSets(ns).List(ctx, o)
	}},
	{"Deployment", "deployments.apps", func(ctx context.Context, c kubernetes.Interface, ns string, o metav1.ListOptions) (runtime.Object, error) {
		return c.AppsV1().Deployments(ns).List(ctx, o)
	}},
	{"StatefulSet", "statefulsets.apps", func(ctx context.Context, c kubernetes.Interface, ns string, o metav1.ListOptions) (runtime.Object, error) {
		return c.AppsV1().StatefulSets(ns).List(ctx, o)
	}},
	{"DaemonSet", "daemonsets.apps", func(ctx context.Context, c kubernetes.Interface, ns string, o metav1.ListOptions) (runtime.Object, error) {
		return c.AppsV1().DaemonSets(ns).List(ctx, o)
	}},
	{"Job", "jobs.batch", func(ctx context.Context, c kubernetes.Interface, ns string, o metav1.ListOptions) (runtime.Object, error) {
		return c.BatchV1().Jobs(ns).List(ctx, o)
	}},
	{"CronJob", "cronjobs.batch", func(ctx context.Context, c kubernetes.Interface, ns string, o metav1.ListOptions) (runtime.Object, error) {
		return c.BatchV1().CronJobs(ns).List(ctx, o)
	}},
	{"ReplicationController", "replicationcontrollers", func(ctx context.Context, c kubernetes.Interface, ns string, o metav1.ListOptions) (runtime.Object, error) {
		return c.CoreV1().ReplicationControllers(ns).List(ctx, o)
	}},
}

// ListError says which kind could not be read where, and why.
type ListError struct {
	Resource  string
	Namespace string // "" for cluster-wide
	Err       error
}

func (e *ListError) Error() string {
	where := "in all namespaces"
	if e.Namespace != "" {
		where = fmt.Sprintf("in namespace %q", e.Namespace)
	}
	reason := e.Err.Error()
	if apierrors.IsForbidden(e.Err) {
		reason = "forbidden by RBAC"
	}
	return fmt.Sprintf("cannot list %s %s: %s", e.Resource, where, reason)
}

func (e *ListError) Unwrap() error { return e.Err }

// List reads every pod and workload kind in namespace ns ("" for all
// namespaces, one paginated cluster-wide LIST per kind), keeping only what
// the report needs. Kinds that cannot be read are returned as *ListError
// values, and the rest is still returned; err is set only when nothing at
// all could be read.
func List(ctx context.Context, client kubernetes.Interface, ns string) (objects []Object, problems []*ListError, err error) {
	return list(ctx, client, ns, nil, nil)
}

// list is List; controllers, when set, is called with the objects of every
// kind but Pod as soon as those are read, while the pods (most of a
// cluster, and most of the listing's time) are still being read; pods,
// when set, then with each page of pods as it is read (the pages read
// before the controllers are held until they are handed over), so that
// what the controllers tell of them is known.
func list(ctx context.Context, client kubernetes.Interface, ns string, controllers func([]Object), pods func([]Object)) (objects []Object, problems []*ListError, err error) {
	type result struct {
		objects []Object
		problem *ListError
	}
	var (
		mu    sync.Mutex
		ready bool // the controllers are handed over
		held  [][]Object
	)
	var page func([]Object)
	if pods != nil {
		page = func(batch []Object) {
			mu.Lock()
			defer mu.Unlock()
			if !ready {
				held = append(held, batch)
				return
			}
			pods(batch)
		}
	}
	results := make([]result, len(kindListers))
	var podsRead, others sync.WaitGroup
	for i, kl := range kindListers {
		var each func([]Object)
		wg := &others
		if kl.kind == "Pod" {
			wg, each = &podsRead, page
		}
		wg.Go(func() {
			objs, err := listKind(ctx, client, kl, ns, each)
			results[i] = result{objects: objs}
			if err != nil {
				results[i].problem = &ListError{Resource: kl.resource, Namespace: ns, Err: err}
			}
		})
	}
	others.Wait()
	if controllers != nil {
		var read []Object
		for i, kl := range kindListers {
			if kl.kind != "Pod" {
				read = append(read, results[i].objects...)
			}
		}
		controllers(read)
	}
	mu.Lock()
	ready = true
	for _, batch := range held {
		pods(batch)
	}
	held = nil
	mu.Unlock()
	podsRead.Wait()

	for _, r := range results {
		objects = append(objects, r.objects...)
		if r.problem != nil {
			problems = append(problems, r.problem)
		}
	}
	// An error that is no API status means the API server did not answer
	// (refused, cut, timed out, interrupted): the kinds that were read are
	// not "the rest" as with RBAC, so fail rather than report a part of the
	// cluster as if it were all.
	for _, p := range problems {
		var status apierrors.APIStatus
		if !errors.As(p.Err, &status) {
			return nil, problems, p
		}
	}
	if len(problems) == len(kindListers) {
		msgs := make([]string, 0, len(problems))
		for _, p := range problems {
			msgs = append(msgs, p.Error())
		}
		sort.Strings(msgs)
		return nil, problems, fmt.Errorf("nothing could be read: %s", strings.Join(msgs, "; "))
	}
	return objects, problems, nil
}

func listKind(ctx context.Context, client kubernetes.Interface, kl kindLister, ns string, each func([]Object)) ([]Object, error) {
	return extractPages(ctx, kl.kind, func(ctx context.Context, opts metav1.ListOptions) (runtime.Object, error) {
		return kl.list(ctx, client, ns, opts)
	}, each)
}

// extractPages reads one kind page by page (pageSize items a LIST, with
// the continue token), extracting each item's Object as its page arrives;
// the typed items go with their page. Pods share what they have in common
// (podInterner), so a cluster-wide listing holds little more per pod than
// its name. each, when set, is called with every pageSize objects
// extracted and with the last ones: a slice of the result, which is only
// appended to afterwards.
func extractPages(ctx context.Context, kind string, page pager.ListPageFunc, each func([]Object)) ([]Object, error) {
	p := pager.New(page)
	p.PageSize = pageSize
	var in *podInterner
	if kind == "Pod" {
		in = newPodInterner()
	}
	var out []Object
	handed := 0
	hand := func() {
		if each != nil && len(out) > handed {
			each(out[handed:len(out):len(out)])
			handed = len(out)
		}
	}
	// Nothing extracted points into a page's items (strings, maps and
	// owner references are their own allocations), so each page is freed
	// once read without EachListItemWithAlloc's copy of every item.
	err := p.EachListItem(ctx, metav1.ListOptions{}, func(item runtime.Object) error {
		if pod, ok := item.(*corev1.Pod); ok && in != nil {
			out = append(out, in.pod(pod))
		} else if obj, ok := fromTyped(kind, item); ok {
			out = append(out, obj)
		}
		if len(out)-handed >= pageSize {
			hand()
		}
		return nil
	})
	hand()
	return out, err
}
