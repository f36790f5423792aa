package pipeline

import (
	"context"
	"maps"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/imgtrust/kubectl-imgtrust/internal/testregistry"
	"github.com/imgtrust/kubectl-imgtrust/pkg/audit"
	"github.com/imgtrust/kubectl-imgtrust/pkg/registry"
	"github.com/imgtrust/kubectl-imgtrust/pkg/workload"
)

// The requests started while the pods are listed are the stage's own: an
// audit with them sends exactly the requests an audit without them sends
// (one HEAD per image and credential), the early ones are those of the
// controllers without an owner and of the pods discovery is sure of (a
// bare pod's images with its pull secrets; a Deployment's image with the
// pull secrets of a pod of it that gives other credentials), and an old
// ReplicaSet's image is never asked, not even for its pods.
func TestAuditPrefetchSendsTheStagesRequests(t *testing.T) {
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	reg := testregistry.New(t)
	for _, tag := range []string{"web:1", "web:0", "db:1", "tool:1", "etcd:3"} {
		reg.PushImage(t, tag)
	}
	yes := true
	owned := func(kind, name, uid string) []metav1.OwnerReference {
		return []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: kind, Name: name, UID: types.UID(uid), Controller: &yes}}
	}
	spec := func(image string, secrets ...string) corev1.PodSpec {
		s := corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: reg.Host + "/" + image}}}
		for _, n := range secrets {
			s.ImagePullSecrets = append(s.ImagePullSecrets, corev1.LocalObjectReference{Name: n})
		}
		return s
	}
	meta := func(name, uid string, owners []metav1.OwnerReference) *metav1.ObjectMeta {
		return &metav1.ObjectMeta{Namespace: "shop", Name: name, UID: types.UID(uid), OwnerReferences: owners}
	}
	web, db, newRS, oldRS := spec("web:1", "regcred"), spec("db:1"), spec("web:1", "regcred"), spec("web:0", "regcred")
	controllers := []workload.Object{
		workload.FromTemplate("apps/v1", "Deployment", meta("web", "d-web", nil), &web),
		workload.FromTemplate("apps/v1", "StatefulSet", meta("db", "s-db", nil), &db),
		workload.FromTemplate("apps/v1", "ReplicaSet", meta("web-2", "rs-2", owned("Deployment", "web", "d-web")), &newRS),
		workload.FromTemplate("apps/v1", "ReplicaSet", meta("web-1", "rs-1", owned("Deployment", "web", "d-web")), &oldRS),
	}
	pods := []workload.Object{
		// Of the old ReplicaSet, with a pull secret since replaced.
		workload.FromPod(&corev1.Pod{ObjectMeta: *meta("web-1-a", "p-1", owned("ReplicaSet", "web-1", "rs-1")), Spec: spec("web:0", "oldcred")}),
		workload.FromPod(&corev1.Pod{ObjectMeta: *meta("debug", "p-2", nil), Spec: spec("tool:1", "regcred")}),
		// Created before the template named regcred: anonymous.
		workload.FromPod(&corev1.Pod{ObjectMeta: *meta("web-2-a", "p-3", owned("ReplicaSet", "web-2", "rs-2")), Spec: spec("web:1")}),
		// A static pod's mirror: reported on its own, but not certain
		// before the listing ends (its owner is no listed controller).
		workload.FromPod(&corev1.Pod{ObjectMeta: *meta("etcd-node-1", "p-4", []metav1.OwnerReference{{APIVersion: "v1", Kind: "Node", Name: "node-1", UID: "n-1", Controller: &yes}}), Spec: spec("etcd:3")}),
	}
	// What Discover's EarlyPods gets: the bare pod, and the Deployment's
	// pods (of the new and of the old ReplicaSet) under it.
	earlyPods := []workload.EarlyPod{{Pod: pods[1]}, {Pod: pods[2], Root: &controllers[0]}, {Pod: pods[0], Root: &controllers[0]}}
	objects := append(slices.Clone(controllers), pods...)
	client := func() *fake.Clientset {
		return fake.NewClientset(pullSecretFor("shop", "regcred", reg.Host, "user", "pass"), pullSecretFor("shop", "oldcred", reg.Host, "old", "pass"),
			&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "default"}})
	}
	// audit1 runs the stage, after an early start when prefetchRoots is
	// set, and returns the registry requests and the cluster's LISTs.
	audit1 := func(prefetchRoots []workload.Object, prefetchPods []workload.EarlyPod) (early, all []string, lists map[string]int) {
		reg.Reset()
		r, err := registry.New(registry.Options{Insecure: []string{reg.Host}})
		if err != nil {
			t.Fatal(err)
		}
		c := client()
		stage := AuditStage{Resolver: r, Concurrency: 4}
		var p *prefetch
		if prefetchRoots != nil {
			p = newPrefetch(context.Background(), r, c, 4, "", true)
			p.start()
			stage.creds = p.creds
			p.roots(prefetchRoots)
			p.pods(prefetchPods)
			p.wg.Wait() // all early requests in before the stage, to tell them apart
			early = requestLines(reg)
		}
		found := &workload.Discovery{Workloads: workload.Rollup(objects, workload.RollupOptions{}), ClusterWide: true}
		items := audit.Evaluate(found.Workloads, audit.Options{})
		stage.Run(context.Background(), c, found, items)
		if p != nil {
			p.stop()
		}
		return early, requestLines(reg), listActions(c)
	}
	_, without, listsWithout := audit1(nil, nil)
	early, with, listsWith := audit1(controllers[:2], earlyPods) // what Discover's Early gets: the two without an owner
	if !slices.Equal(with, without) {
		t.Errorf("requests with the early start:\n%s\nwant those without it:\n%s", strings.Join(with, "\n"), strings.Join(without, "\n"))
	}
	// One read of the pull secrets and service accounts, shared by the
	// early start and the stage: the LISTs of a run without it.
	if want := map[string]int{"secrets/": 2, "serviceaccounts/": 1}; !maps.Equal(listsWith, want) || !maps.Equal(listsWithout, want) {
		t.Errorf("LISTs with the early start %v, without %v; want %v in both", listsWith, listsWithout, want)
	}
	// web:1 three times: with regcred (the template), anonymously
	// (web-2-a) and with oldcred (web-1-a, of the old ReplicaSet).
	wantEarly := []string{"GET /v2/", "HEAD /v2/db/manifests/1", "HEAD /v2/tool/manifests/1", "HEAD /v2/web/manifests/1", "HEAD /v2/web/manifests/1", "HEAD /v2/web/manifests/1"}
	if !slices.Equal(early, wantEarly) {
		t.Errorf("early requests = %q, want %q", early, wantEarly)
	}
	if slices.Contains(with, "HEAD /v2/web/manifests/0") {
		t.Error("the old ReplicaSet's image web:0 was asked")
	}
	if !slices.Contains(with, "HEAD /v2/etcd/manifests/3") {
		t.Errorf("requests %q lack the mirror pod's image etcd:3, asked once the pods are read", with)
	}
}

// listActions counts a fake client's LISTs by resource and namespace
// ("" across the cluster).
func listActions(c *fake.Clientset) map[string]int {
	out := map[string]int{}
	for _, a := range c.Actions() {
		if a.GetVerb() == "list" {
			out[a.GetResource().Resource+"/"+a.GetNamespace()]++
		}
	}
	return out
}

// requestLines are reg's requests, sorted.
func requestLines(reg *testregistry.Registry) []string {
	var out []string
	for _, r := range reg.Requests() {
		out = append(out, r.String())
	}
	slices.Sort(out)
	return out
}

// Early requests go one per repository first, as the resolver's own queue
// does: a host's workers then fetch each repository's token once instead
// of waiting on one another.
func TestPrefetchSpread(t *testing.T) {
	r, err := registry.New(registry.Options{})
	if err != nil {
		t.Fatal(err)
	}
	p := &prefetch{resolver: r}
	var reqs []registry.Request
	for _, image := range []string{"ghcr.io/a/x:1", "ghcr.io/a/x:2", "ghcr.io/a/x:3", "ghcr.io/a/y:1", "ghcr.io/a/y:2", "quay.io/b/z:1"} {
		reqs = append(reqs, registry.Request{Image: image})
	}
	var got []string
	for _, r := range p.spread(reqs) {
		got = append(got, r.Image)
	}
	want := []string{"ghcr.io/a/x:1", "ghcr.io/a/y:1", "quay.io/b/z:1", "ghcr.io/a/x:2", "ghcr.io/a/y:2", "ghcr.io/a/x:3"}
	if !slices.Equal(got, want) {
		t.Errorf("spread() = %q, want %q", got, want)
	}
}
