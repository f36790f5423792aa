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
	return list(ctx, client, ns, nil)
}

// list is List; controllers, when set, is called with the objects of every
// kind but Pod as soon as those are read, while the pods (most of a
// cluster, and most of the listing's time) are still being read.
func list(ctx context.Context, client kubernetes.Interface, ns string, controllers func([]Object)) (objects []Object, problems []*ListError, err error) {
	type result struct {
		objects []Object
		problem *ListError
	}
	results := make([]result, len(kindListers))
	var pods, others sync.WaitGroup
	for i, kl := range kindListers {
		wg := &others
		if kl.kind == "Pod" {
			wg = &pods
		}
		wg.Go(func() {
			objs, err := listKind(ctx, client, kl, ns)
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
	pods.Wait()

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

func listKind(ctx context.Context, client kubernetes.Interface, kl kindLister, ns string) ([]Object, error) {
	return extractPages(ctx, kl.kind, func(ctx context.Context, opts metav1.ListOptions) (runtime.Object, error) {
		return kl.list(ctx, client, ns, opts)
	})
}

// extractPages reads one kind page by page (pageSize items a LIST, with
// the continue token), extracting each item's Object as its page arrives;
// the typed items go with their page. Pods share what they have in common
// (podInterner), so a cluster-wide listing holds little more per pod than
// its name.
func extractPages(ctx context.Context, kind string, page pager.ListPageFunc) ([]Object, error) {
	p := pager.New(page)
	p.PageSize = pageSize
	var in *podInterner
	if kind == "Pod" {
		in = newPodInterner()
	}
	var out []Object
	// Nothing extracted points into a page's items (strings, maps and
	// owner references are their own allocations), so each page is freed
	// once read without EachListItemWithAlloc's copy of every item.
	err := p.EachListItem(ctx, metav1.ListOptions{}, func(item runtime.Object) error {
		if pod, ok := item.(*corev1.Pod); ok && in != nil {
			out = append(out, in.pod(pod))
		} else if obj, ok := fromTyped(kind, item); ok {
			out = append(out, obj)
		}
		return nil
	})
	return out, err
}
