package workload

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"

	"github.com/imgtrust/kubectl-imgtrust/pkg/imageref"
)

var apiVersions = map[string]string{
	"Pod": "v1", "ReplicationController": "v1",
	"Deployment": "apps/v1", "ReplicaSet": "apps/v1", "StatefulSet": "apps/v1", "DaemonSet": "apps/v1",
	"Job": "batch/v1", "CronJob": "batch/v1",
}

// obj is a listed object with UID "ns/Kind/name" and a template holding
// containers (see specOf).
func obj(kind, ns, name string, owner *metav1.OwnerReference, containers ...string) Object {
	return Object{
		APIVersion: apiVersions[kind], Kind: kind, Namespace: ns, Name: name,
		UID:   types.UID(ns + "/" + kind + "/" + name),
		Owner: owner,
		Spec:  specOf(kind, containers...),
	}
}

// pod is a Pod object running images per "type:name" key ("web",
// "init:migrate", "ephemeral:debugger").
func pod(ns, name string, owner *metav1.OwnerReference, running map[string]imageref.RunningImage, containers ...string) Object {
	o := obj("Pod", ns, name, owner, containers...)
	for k, img := range running {
		key := ContainerKey{Type: Container, Name: k}
		if t, n, ok := strings.Cut(k, ":"); ok {
			key = ContainerKey{Type: map[string]ContainerType{"init": InitContainer, "ephemeral": EphemeralContainer}[t], Name: n}
		}
		if o.Running == nil {
			o.Running = map[ContainerKey]imageref.RunningImage{}
		}
		o.Running[key] = img
	}
	return o
}

func ownedBy(o Object) *metav1.OwnerReference { return controller(o.Kind, o.Name, o.UID) }

func withLabels(o Object, kv ...string) Object {
	o.Labels = map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		o.Labels[kv[i]] = kv[i+1]
	}
	return o
}

// gotUsage and gotWorkload are what the tests compare: the parts of a
// Workload that matter, printable in a failure message.
type gotUsage struct {
	Container string // "init:migrate", "web", "ephemeral:debugger"
	Image     string
	Path      string
	Running   []string // image IDs, in order
}

type gotWorkload struct {
	ID     string // "ns/Kind/name"
	Pods   int
	Usages []gotUsage
}

func summarize(ws []Workload) []gotWorkload {
	out := []gotWorkload{}
	for _, w := range ws {
		g := gotWorkload{ID: w.Namespace + "/" + w.Kind + "/" + w.Name, Pods: w.Pods}
		for _, u := range w.Containers {
			label := u.Name
			switch u.Type {
			case InitContainer:
				label = "init:" + u.Name
			case EphemeralContainer:
				label = "ephemeral:" + u.Name
			}
			gu := gotUsage{Container: label, Image: u.Image, Path: u.Path}
			for _, r := range u.Running {
				gu.Running = append(gu.Running, r.ImageID)
			}
			g.Usages = append(g.Usages, gu)
		}
		out = append(out, g)
	}
	return out
}

func TestRollup(t *testing.T) {
	// shop/web: Deployment → two ReplicaSets → three pods, one with a debug container.
	web := obj("Deployment", "shop", "web", nil, "init:migrate=ghcr.io/acme/migrate:1", "web=nginx:1.27")
	webRS := obj("ReplicaSet", "shop", "web-7d4b", ownedBy(web), "init:migrate=ghcr.io/acme/migrate:1", "web=nginx:1.27")
	webOldRS := obj("ReplicaSet", "shop", "web-55aa", ownedBy(web), "web=nginx:1.26", "legacy=old:1")
	webPod1 := pod("shop", "web-7d4b-1", ownedBy(webRS), map[string]imageref.RunningImage{
		"web": runningManifest("docker.io/library/nginx", digestB), "init:migrate": runningManifest("ghcr.io/acme/migrate", digestC),
		"ephemeral:debugger": config(digestC),
	}, "init:migrate=ghcr.io/acme/migrate:1", "web=nginx:1.27", "ephemeral:debugger=busybox")
	webPod2 := pod("shop", "web-7d4b-2", ownedBy(webRS), map[string]imageref.RunningImage{
		"web": runningManifest("docker.io/library/nginx", digestA), "ephemeral:debugger": runningManifest("docker.io/library/busybox", digestA),
	}, "init:migrate=ghcr.io/acme/migrate:1", "web=nginx:1.27", "ephemeral:debugger=busybox")
	webPod3 := pod("shop", "web-55aa-1", ownedBy(webOldRS), map[string]imageref.RunningImage{
		"web": runningManifest("docker.io/library/nginx", digestA), "legacy": runningManifest("old", digestA),
	}, "web=nginx:1.26", "legacy=old:1")
	wantWeb := gotWorkload{ID: "shop/Deployment/web", Pods: 3, Usages: []gotUsage{
		{"init:migrate", "ghcr.io/acme/migrate:1", "/spec/template/spec/initContainers/0/image", []string{"ghcr.io/acme/migrate@" + digestC}},
		{"web", "nginx:1.27", "/spec/template/spec/containers/0/image", []string{
			"docker.io/library/nginx@" + digestA, "docker.io/library/nginx@" + digestA, "docker.io/library/nginx@" + digestB,
		}},
		// Found on pods only: no template path to patch.
		{"ephemeral:debugger", "busybox", "", []string{"docker.io/library/busybox@" + digestA, digestC}},
	}}
	webObjects := []Object{webPod3, webPod1, web, webOldRS, webRS, webPod2}

	// ops/nightly: CronJob → Job → Pod.
	nightly := obj("CronJob", "ops", "nightly", nil, "backup=ghcr.io/acme/backup:2")
	nightlyJob := obj("Job", "ops", "nightly-2900", ownedBy(nightly), "backup=ghcr.io/acme/backup:2")
	nightlyPod := pod("ops", "nightly-2900-x", ownedBy(nightlyJob), map[string]imageref.RunningImage{
		"backup": runningManifest("ghcr.io/acme/backup", digestA),
	}, "backup=ghcr.io/acme/backup:2")
	wantNightly := gotWorkload{ID: "ops/CronJob/nightly", Pods: 1, Usages: []gotUsage{
		{"backup", "ghcr.io/acme/backup:2", "/spec/jobTemplate/spec/template/spec/containers/0/image", []string{"ghcr.io/acme/backup@" + digestA}},
	}}

	db := obj("StatefulSet", "shop", "db", nil, "pg=postgres:16")
	dbPods := []Object{
		pod("shop", "db-0", ownedBy(db), map[string]imageref.RunningImage{"pg": runningManifest("postgres", digestA)}, "pg=postgres:16"),
		pod("shop", "db-1", ownedBy(db), map[string]imageref.RunningImage{"pg": config(digestB)}, "pg=postgres:16"),
	}
	agent := obj("DaemonSet", "kube-system", "agent", nil, "agent=quay.io/agent:3")
	agentPod := pod("kube-system", "agent-x", ownedBy(agent), map[string]imageref.RunningImage{"agent": runningManifest("quay.io/agent", digestB)}, "agent=quay.io/agent:3")
	rc := obj("ReplicationController", "legacy", "frontend", nil, "fe=frontend:1")
	rcPod := pod("legacy", "frontend-q", ownedBy(rc), nil, "fe=frontend:1")

	bare := pod("shop", "debug", nil, map[string]imageref.RunningImage{
		"sh": runningManifest("busybox", digestA), "ephemeral:dbg": runningManifest("alpine", digestB),
	}, "sh=busybox", "ephemeral:dbg=alpine")
	wantBare := gotWorkload{ID: "shop/Pod/debug", Pods: 1, Usages: []gotUsage{
		{"sh", "busybox", "/spec/containers/0/image", []string{"busybox@" + digestA}},
		{"ephemeral:dbg", "alpine", "/spec/ephemeralContainers/0/image", []string{"alpine@" + digestB}},
	}}

	tests := []struct {
		name    string
		objects []Object
		opts    RollupOptions
		want    []gotWorkload
	}{
		{
			name:    "pod to replicaset to deployment, running aggregated per container",
			objects: webObjects,
			want:    []gotWorkload{wantWeb},
		},
		{
			name:    "pod to job to cronjob",
			objects: []Object{nightlyPod, nightlyJob, nightly},
			want:    []gotWorkload{wantNightly},
		},
		{
			name:    "pod to statefulset",
			objects: append([]Object{db}, dbPods...),
			want: []gotWorkload{{ID: "shop/StatefulSet/db", Pods: 2, Usages: []gotUsage{
				{"pg", "postgres:16", "/spec/template/spec/containers/0/image", []string{"postgres@" + digestA, digestB}},
			}}},
		},
		{
			name:    "pod to daemonset",
			objects: []Object{agentPod, agent},
			want: []gotWorkload{{ID: "kube-system/DaemonSet/agent", Pods: 1, Usages: []gotUsage{
				{"agent", "quay.io/agent:3", "/spec/template/spec/containers/0/image", []string{"quay.io/agent@" + digestB}},
			}}},
		},
		{
			name:    "pod to replicationcontroller, pod without image IDs",
			objects: []Object{rcPod, rc},
			want: []gotWorkload{{ID: "legacy/ReplicationController/frontend", Pods: 1, Usages: []gotUsage{
				{"fe", "frontend:1", "/spec/template/spec/containers/0/image", nil},
			}}},
		},
		{
			name:    "bare pod keeps its ephemeral container path",
			objects: []Object{bare},
			want:    []gotWorkload{wantBare},
		},
		{
			name: "orphan replicaset whose deployment is not listed",
			objects: func() []Object {
				rs := obj("ReplicaSet", "shop", "api-6f", controller("Deployment", "api", "gone"), "api=api:1")
				return []Object{rs, pod("shop", "api-6f-1", ownedBy(rs), map[string]imageref.RunningImage{"api": runningManifest("api", digestA)}, "api=api:1")}
			}(),
			want: []gotWorkload{{ID: "shop/ReplicaSet/api-6f", Pods: 1, Usages: []gotUsage{
				{"api", "api:1", "/spec/template/spec/containers/0/image", []string{"api@" + digestA}},
			}}},
		},
		{
			name: "job whose cronjob is not listed",
			objects: []Object{
				obj("Job", "ops", "once", controller("CronJob", "gone", "gone"), "x=x:1"),
				pod("ops", "once-1", controller("Job", "once", "ops/Job/once"), nil, "x=x:1"),
			},
			want: []gotWorkload{{ID: "ops/Job/once", Pods: 1, Usages: []gotUsage{
				{"x", "x:1", "/spec/template/spec/containers/0/image", nil},
			}}},
		},
		{
			name: "deployment scaled to zero is reported from its template",
			objects: []Object{
				obj("Deployment", "shop", "idle", nil, "idle=idle:1"),
				obj("ReplicaSet", "shop", "idle-1", controller("Deployment", "idle", "shop/Deployment/idle"), "idle=idle:1"),
			},
			want: []gotWorkload{{ID: "shop/Deployment/idle", Pods: 0, Usages: []gotUsage{
				{"idle", "idle:1", "/spec/template/spec/containers/0/image", nil},
			}}},
		},
		{
			name: "objects without a spec are not reported",
			objects: []Object{
				{APIVersion: "example.com/v1", Kind: "Widget", Namespace: "shop", Name: "w", UID: "w"},
				pod("shop", "w-1", controller("Widget", "w", "w"), nil, "w=w:1"),
			},
			want: []gotWorkload{},
		},
		{
			name: "manifests without UIDs are each their own workload",
			objects: []Object{
				{APIVersion: "apps/v1", Kind: "Deployment", Name: "b", Spec: specOf("Deployment", "b=b:1")},
				{APIVersion: "apps/v1", Kind: "Deployment", Name: "a", Spec: specOf("Deployment", "a=a:1")},
			},
			want: []gotWorkload{
				{ID: "/Deployment/a", Usages: []gotUsage{{"a", "a:1", "/spec/template/spec/containers/0/image", nil}}},
				{ID: "/Deployment/b", Usages: []gotUsage{{"b", "b:1", "/spec/template/spec/containers/0/image", nil}}},
			},
		},
		{
			name: "sorted by namespace, kind, name",
			objects: concat(
				[]Object{bare, nightly, agent},
				webObjects,
				[]Object{db, rc, obj("Deployment", "shop", "api", nil, "api=api:1"), obj("Deployment", "", "cluster-wide", nil, "c=c:1")},
			),
			want: []gotWorkload{
				{ID: "/Deployment/cluster-wide", Usages: []gotUsage{{"c", "c:1", "/spec/template/spec/containers/0/image", nil}}},
				{ID: "kube-system/DaemonSet/agent", Usages: []gotUsage{{"agent", "quay.io/agent:3", "/spec/template/spec/containers/0/image", nil}}},
				{ID: "legacy/ReplicationController/frontend", Usages: []gotUsage{{"fe", "frontend:1", "/spec/template/spec/containers/0/image", nil}}},
				{ID: "ops/CronJob/nightly", Usages: []gotUsage{{"backup", "ghcr.io/acme/backup:2", "/spec/jobTemplate/spec/template/spec/containers/0/image", nil}}},
				{ID: "shop/Deployment/api", Usages: []gotUsage{{"api", "api:1", "/spec/template/spec/containers/0/image", nil}}},
				wantWeb,
				wantBare,
				{ID: "shop/StatefulSet/db", Usages: []gotUsage{{"pg", "postgres:16", "/spec/template/spec/containers/0/image", nil}}},
			},
		},
		{
			name:    "named roots only; their descendants roll up",
			objects: concat(webObjects, []Object{bare, nightly, nightlyJob, nightlyPod}),
			opts:    RollupOptions{Named: map[types.UID]bool{web.UID: true, nightly.UID: true}},
			want:    []gotWorkload{wantNightly, wantWeb},
		},
		{
			name:    "a named replicaset is reported instead of its deployment",
			objects: webObjects,
			opts:    RollupOptions{Named: map[types.UID]bool{webOldRS.UID: true}},
			want: []gotWorkload{{ID: "shop/ReplicaSet/web-55aa", Pods: 1, Usages: []gotUsage{
				{"web", "nginx:1.26", "/spec/template/spec/containers/0/image", []string{"docker.io/library/nginx@" + digestA}},
				{"legacy", "old:1", "/spec/template/spec/containers/1/image", []string{"old@" + digestA}},
			}}},
		},
		{
			name:    "named set that matches nothing",
			objects: webObjects,
			opts:    RollupOptions{Named: map[types.UID]bool{}},
			want:    []gotWorkload{},
		},
		{
			name: "selector keeps a workload if it or one of its pods matches",
			objects: []Object{
				withLabels(obj("Deployment", "shop", "labelled", nil, "a=a:1"), "app", "web"),
				obj("Deployment", "shop", "pods-labelled", nil, "b=b:1"),
				withLabels(pod("shop", "pods-labelled-1", controller("Deployment", "pods-labelled", "shop/Deployment/pods-labelled"), nil, "b=b:1"), "app", "web"),
				withLabels(obj("Deployment", "shop", "other", nil, "c=c:1"), "app", "api"),
				withLabels(pod("shop", "other-1", controller("Deployment", "other", "shop/Deployment/other"), nil, "c=c:1"), "app", "api"),
				obj("Deployment", "shop", "unlabelled", nil, "d=d:1"),
				withLabels(pod("shop", "bare", nil, nil, "e=e:1"), "app", "web"),
			},
			opts: RollupOptions{Selector: labels.SelectorFromSet(labels.Set{"app": "web"})},
			want: []gotWorkload{
				{ID: "shop/Deployment/labelled", Usages: []gotUsage{{"a", "a:1", "/spec/template/spec/containers/0/image", nil}}},
				{ID: "shop/Deployment/pods-labelled", Pods: 1, Usages: []gotUsage{{"b", "b:1", "/spec/template/spec/containers/0/image", nil}}},
				{ID: "shop/Pod/bare", Pods: 1, Usages: []gotUsage{{"e", "e:1", "/spec/containers/0/image", nil}}},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := summarize(Rollup(tt.objects, tt.opts))
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Rollup() =\n%s\nwant\n%s", dump(got), dump(tt.want))
			}
		})
	}
}

// TestRollupOwnerCycles: owner references that loop (hand-crafted, or an
// object that names itself as its controller) must neither hang the walk nor
// hide the objects from the audit.
func TestRollupOwnerCycles(t *testing.T) {
	a := obj("Deployment", "x", "a", controller("Deployment", "b", "x/Deployment/b"), "a=a:1")
	b := obj("Deployment", "x", "b", controller("Deployment", "a", "x/Deployment/a"), "b=b:1")
	podOfA := pod("x", "a-1", ownedBy(a), map[string]imageref.RunningImage{"a": runningManifest("a", digestA)}, "a=a:1")
	self := pod("x", "self", controller("Pod", "self", "x/Pod/self"), map[string]imageref.RunningImage{"s": runningManifest("s", digestB)}, "s=s:1")
	// A longer loop: c → d → e → c, with a pod under e.
	c := obj("StatefulSet", "y", "c", controller("StatefulSet", "d", "y/StatefulSet/d"), "c=c:1")
	d := obj("StatefulSet", "y", "d", controller("StatefulSet", "e", "y/StatefulSet/e"), "d=d:1")
	e := obj("StatefulSet", "y", "e", controller("StatefulSet", "c", "y/StatefulSet/c"), "e=e:1")
	podOfE := pod("y", "e-0", ownedBy(e), nil, "e=e:1")

	tests := []struct {
		name    string
		objects []Object
		opts    RollupOptions
		want    []string // IDs with pod counts
	}{
		{"two deployments owning each other", []Object{podOfA, a, b}, RollupOptions{}, []string{"x/Deployment/a pods=1", "x/Deployment/b pods=0"}},
		{"a pod that owns itself", []Object{self}, RollupOptions{}, []string{"x/Pod/self pods=1"}},
		{"three-object loop", []Object{podOfE, c, d, e}, RollupOptions{}, []string{"y/StatefulSet/c pods=0", "y/StatefulSet/d pods=0", "y/StatefulSet/e pods=1"}},
		{"loop with nothing named", []Object{podOfA, a, b, self}, RollupOptions{Named: map[types.UID]bool{"other": true}}, nil},
		{"loop with one member named", []Object{podOfA, a, b}, RollupOptions{Named: map[types.UID]bool{b.UID: true}}, []string{"x/Deployment/b pods=1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			done := make(chan []Workload, 1)
			go func() { done <- Rollup(tt.objects, tt.opts) }()
			var ws []Workload
			select {
			case ws = <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("Rollup() did not return: the owner walk loops")
			}
			var got []string
			for _, w := range ws {
				got = append(got, fmt.Sprintf("%s/%s/%s pods=%d", w.Namespace, w.Kind, w.Name, w.Pods))
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Rollup() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestRollupDoesNotModifyInput(t *testing.T) {
	d := obj("Deployment", "shop", "web", nil, "web=nginx")
	p := pod("shop", "web-1", ownedBy(d), nil, "web=nginx", "ephemeral:dbg=busybox")
	objects := []Object{d, p}
	ws := Rollup(objects, RollupOptions{})
	if len(ws) != 1 || len(ws[0].Containers) != 2 || ws[0].Containers[1].Path != "" {
		t.Fatalf("Rollup() = %+v, want one workload with a path-less ephemeral usage", ws)
	}
	if got, want := objects[1].Spec.Containers[1].Path, "/spec/ephemeralContainers/0/image"; got != want {
		t.Errorf("pod's ephemeral path after Rollup = %q, want %q (unchanged)", got, want)
	}
}

func TestUsageDigests(t *testing.T) {
	u := Usage{Running: []imageref.RunningImage{
		runningManifest("nginx", digestB),
		config(digestC),
		runningManifest("docker.io/library/nginx", digestA),
		runningManifest("nginx", digestB),
		config(digestA),
		config(digestC),
	}}
	tests := []struct {
		name  string
		usage Usage
		kind  imageref.DigestKind
		want  []string
	}{
		{"manifest digests, deduplicated and sorted", u, imageref.KindManifest, []string{digestA, digestB}},
		{"config digests, deduplicated and sorted", u, imageref.KindConfig, []string{digestA, digestC}},
		{"nothing running", Usage{}, imageref.KindManifest, nil},
		{"only the other kind", Usage{Running: []imageref.RunningImage{config(digestA)}}, imageref.KindManifest, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.usage.Digests(tt.kind); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Digests(%s) = %q, want %q", tt.kind, got, tt.want)
			}
		})
	}
}

func concat(lists ...[]Object) []Object {
	var out []Object
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
}

func dump(ws []gotWorkload) string {
	var b strings.Builder
	for _, w := range ws {
		fmt.Fprintf(&b, "  %s pods=%d\n", w.ID, w.Pods)
		for _, u := range w.Usages {
			fmt.Fprintf(&b, "    %s %s %s %q\n", u.Container, u.Image, u.Path, u.Running)
		}
	}
	if b.Len() == 0 {
		return "  (none)"
	}
	return b.String()
}

// A workload knows the nodes its pods are on (their platform picks the
// manifest of a multi-arch image), each once, sorted.
func TestRollupNodes(t *testing.T) {
	rs := obj("ReplicaSet", "ns", "web", nil, "app")
	var objects []Object
	objects = append(objects, rs)
	for i, node := range []string{"b", "a", "b", ""} {
		p := pod("ns", fmt.Sprintf("web-%d", i), ownedBy(rs), nil, "app")
		p.Spec.NodeName = node
		objects = append(objects, p)
	}
	ws := Rollup(objects, RollupOptions{})
	if len(ws) != 1 || strings.Join(ws[0].Nodes, ",") != "a,b" {
		t.Fatalf("nodes: %+v", ws)
	}
}
