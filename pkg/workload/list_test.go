package workload

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

// clusterObjects holds one object of every kind in ns, plus a
// ReplicationController without a template (which List skips).
func clusterObjects(ns string) []runtime.Object {
	meta := func(kind, name string) metav1.ObjectMeta {
		return metav1.ObjectMeta{Namespace: ns, Name: name, UID: types.UID(ns + "/" + kind + "/" + name)}
	}
	tmpl := func(image string) corev1.PodTemplateSpec {
		return corev1.PodTemplateSpec{Spec: corev1.PodSpec{
			InitContainers: []corev1.Container{{Name: "init", Image: "busybox:1.36"}},
			Containers:     []corev1.Container{{Name: "main", Image: image}},
		}}
	}
	rcTmpl := tmpl("frontend:1")
	podMeta := meta("Pod", "web-1")
	yes := true
	podMeta.OwnerReferences = []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "web-1", UID: types.UID(ns + "/ReplicaSet/web-1"), Controller: &yes}}
	rsMeta := meta("ReplicaSet", "web-1")
	rsMeta.OwnerReferences = []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "Deployment", Name: "web", UID: types.UID(ns + "/Deployment/web"), Controller: &yes}}
	return []runtime.Object{
		&corev1.Pod{ObjectMeta: podMeta, Spec: tmpl("nginx:1.27").Spec, Status: corev1.PodStatus{
			ContainerStatuses: []corev1.ContainerStatus{{Name: "main", ImageID: "docker.io/library/nginx@" + digestA}},
		}},
		&appsv1.ReplicaSet{ObjectMeta: rsMeta, Spec: appsv1.ReplicaSetSpec{Template: tmpl("nginx:1.27")}},
		&appsv1.Deployment{ObjectMeta: meta("Deployment", "web"), Spec: appsv1.DeploymentSpec{Template: tmpl("nginx:1.27")}},
		&appsv1.StatefulSet{ObjectMeta: meta("StatefulSet", "db"), Spec: appsv1.StatefulSetSpec{Template: tmpl("postgres:16")}},
		&appsv1.DaemonSet{ObjectMeta: meta("DaemonSet", "agent"), Spec: appsv1.DaemonSetSpec{Template: tmpl("agent:3")}},
		&batchv1.Job{ObjectMeta: meta("Job", "once"), Spec: batchv1.JobSpec{Template: tmpl("once:1")}},
		&batchv1.CronJob{ObjectMeta: meta("CronJob", "nightly"), Spec: batchv1.CronJobSpec{JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{Template: tmpl("backup:2")}}}},
		&corev1.ReplicationController{ObjectMeta: meta("ReplicationController", "frontend"), Spec: corev1.ReplicationControllerSpec{Template: &rcTmpl}},
		&corev1.ReplicationController{ObjectMeta: meta("ReplicationController", "empty")},
		&corev1.ConfigMap{ObjectMeta: meta("ConfigMap", "settings")},
	}
}

// listedIDs are the objects of clusterObjects that List returns.
func listedIDs(ns string) []string {
	return []string{
		ns + " apps/v1 DaemonSet agent /spec/template/spec/containers/0/image",
		ns + " apps/v1 Deployment web /spec/template/spec/containers/0/image",
		ns + " apps/v1 ReplicaSet web-1 /spec/template/spec/containers/0/image",
		ns + " apps/v1 StatefulSet db /spec/template/spec/containers/0/image",
		ns + " batch/v1 CronJob nightly /spec/jobTemplate/spec/template/spec/containers/0/image",
		ns + " batch/v1 Job once /spec/template/spec/containers/0/image",
		ns + " v1 Pod web-1 /spec/containers/0/image",
		ns + " v1 ReplicationController frontend /spec/template/spec/containers/0/image",
	}
}

func ids(objects []Object) []string {
	out := make([]string, 0, len(objects))
	for _, o := range objects {
		path := "(no spec)"
		if o.Spec != nil && len(o.Spec.Containers) == 2 {
			path = o.Spec.Containers[1].Path
		}
		out = append(out, fmt.Sprintf("%s %s %s %s %s", o.Namespace, o.APIVersion, o.Kind, o.Name, path))
	}
	sort.Strings(out)
	return out
}

func newFakeClient() *fake.Clientset {
	return fake.NewClientset(append(clusterObjects("shop"), clusterObjects("ops")...)...)
}

func forbidden(resources ...string) k8stesting.ReactionFunc {
	return func(action k8stesting.Action) (bool, runtime.Object, error) {
		for _, r := range resources {
			if r == "*" || action.GetResource().Resource == r {
				gr := schema.GroupResource{Group: action.GetResource().Group, Resource: action.GetResource().Resource}
				return true, nil, apierrors.NewForbidden(gr, "", errors.New("RBAC: access denied"))
			}
		}
		return false, nil, nil
	}
}

func TestList(t *testing.T) {
	tests := []struct {
		name         string
		ns           string
		reactor      k8stesting.ReactionFunc
		want         []string
		wantProblems []string
		wantErr      string
	}{
		{
			name: "all namespaces",
			ns:   "",
			want: sorted(append(listedIDs("shop"), listedIDs("ops")...)),
		},
		{
			name: "one namespace",
			ns:   "shop",
			want: listedIDs("shop"),
		},
		{
			name: "a namespace with nothing in it",
			ns:   "empty",
			want: []string{},
		},
		{
			name:         "one kind forbidden, the rest still read",
			ns:           "shop",
			reactor:      forbidden("deployments"),
			want:         without(listedIDs("shop"), "Deployment"),
			wantProblems: []string{`cannot list deployments.apps in namespace "shop": forbidden by RBAC`},
		},
		{
			name:    "two kinds forbidden cluster-wide",
			ns:      "",
			reactor: forbidden("pods", "cronjobs"),
			want:    without(without(sorted(append(listedIDs("shop"), listedIDs("ops")...)), "Pod"), "CronJob"),
			wantProblems: []string{
				"cannot list cronjobs.batch in all namespaces: forbidden by RBAC",
				"cannot list pods in all namespaces: forbidden by RBAC",
			},
		},
		{
			name: "other errors keep their message",
			ns:   "shop",
			reactor: func(action k8stesting.Action) (bool, runtime.Object, error) {
				if action.GetResource().Resource == "statefulsets" {
					return true, nil, apierrors.NewInternalError(errors.New("etcd is down"))
				}
				return false, nil, nil
			},
			want:         without(listedIDs("shop"), "StatefulSet"),
			wantProblems: []string{`cannot list statefulsets.apps in namespace "shop": Internal error occurred: etcd is down`},
		},
		{
			name:    "everything forbidden",
			ns:      "shop",
			reactor: forbidden("*"),
			wantErr: "nothing could be read: cannot list cronjobs.batch in namespace \"shop\": forbidden by RBAC; ",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client := newFakeClient()
			if tt.reactor != nil {
				client.PrependReactor("list", "*", tt.reactor)
			}
			objects, problems, err := List(context.Background(), client, tt.ns)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("List() err = %v, want one containing %q", err, tt.wantErr)
				}
				if objects != nil {
					t.Errorf("List() objects = %v, want nil with the error", ids(objects))
				}
				if len(problems) != len(kindListers) {
					t.Errorf("List() gave %d problems, want %d (one per kind)", len(problems), len(kindListers))
				}
				return
			}
			if err != nil {
				t.Fatalf("List() err = %v, want nil", err)
			}
			if got := ids(objects); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("List() objects =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
			var gotProblems []string
			for _, p := range problems {
				gotProblems = append(gotProblems, p.Error())
				if p.Namespace != tt.ns {
					t.Errorf("ListError.Namespace = %q, want %q", p.Namespace, tt.ns)
				}
				if p.Unwrap() == nil {
					t.Errorf("ListError %q unwraps to nil, want the API error", p)
				}
			}
			sort.Strings(gotProblems)
			if !reflect.DeepEqual(gotProblems, tt.wantProblems) {
				t.Errorf("List() problems = %q, want %q", gotProblems, tt.wantProblems)
			}
		})
	}
}

func TestListKeepsWhatTheReportNeeds(t *testing.T) {
	objects, problems, err := List(context.Background(), newFakeClient(), "shop")
	if err != nil || len(problems) > 0 {
		t.Fatalf("List() problems=%v err=%v", problems, err)
	}
	var p *Object
	for i := range objects {
		if objects[i].Kind == "Pod" {
			p = &objects[i]
		}
	}
	if p == nil {
		t.Fatal("List() returned no pod")
	}
	if p.Owner == nil || p.Owner.UID != "shop/ReplicaSet/web-1" {
		t.Errorf("pod owner = %+v, want the ReplicaSet shop/ReplicaSet/web-1", p.Owner)
	}
	if p.UID != "shop/Pod/web-1" {
		t.Errorf("pod UID = %q, want shop/Pod/web-1", p.UID)
	}
	want := map[ContainerKey]string{{Type: Container, Name: "main"}: digestA}
	got := map[ContainerKey]string{}
	for k, v := range p.Running {
		got[k] = v.Digest
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("pod running = %v, want %v", got, want)
	}
	// Listed objects roll up: the pod counts for the Deployment.
	ws := Rollup(objects, RollupOptions{})
	for _, w := range ws {
		if w.Kind == "Deployment" && w.Pods != 1 {
			t.Errorf("Deployment web after Rollup has %d pods, want 1", w.Pods)
		}
		if w.Kind == "ReplicaSet" || w.Kind == "Pod" {
			t.Errorf("Rollup() reported %s %s, want it rolled up", w.Kind, w.Name)
		}
	}
}

// TestListPaginates serves pods in pages as the API server does and checks
// List follows the continue tokens with kubectl's chunk size.
func TestListPaginates(t *testing.T) {
	const total = 1234
	client := fake.NewClientset()
	var limits []int64
	client.PrependReactor("list", "pods", func(action k8stesting.Action) (bool, runtime.Object, error) {
		opts := action.(k8stesting.ListActionImpl).GetListOptions()
		limits = append(limits, opts.Limit)
		start := 0
		if opts.Continue != "" {
			fmt.Sscanf(opts.Continue, "%d", &start)
		}
		end := min(start+int(opts.Limit), total)
		list := &corev1.PodList{}
		for i := start; i < end; i++ {
			list.Items = append(list.Items, corev1.Pod{
				ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: fmt.Sprintf("p-%04d", i), UID: types.UID(fmt.Sprint(i))},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "nginx"}}},
			})
		}
		if end < total {
			list.Continue = fmt.Sprint(end)
		}
		return true, list, nil
	})
	objects, _, err := List(context.Background(), client, "shop")
	if err != nil {
		t.Fatalf("List() err = %v", err)
	}
	seen := map[types.UID]bool{}
	for _, o := range objects {
		seen[o.UID] = true
	}
	if len(objects) != total || len(seen) != total {
		t.Errorf("List() gave %d objects (%d distinct), want %d", len(objects), len(seen), total)
	}
	if want := []int64{pageSize, pageSize, pageSize}; !reflect.DeepEqual(limits, want) {
		t.Errorf("page limits = %v, want %v", limits, want)
	}
}

func TestListErrorMessage(t *testing.T) {
	forbiddenErr := apierrors.NewForbidden(schema.GroupResource{Resource: "pods"}, "", errors.New("no"))
	tests := []struct {
		err  *ListError
		want string
	}{
		{&ListError{Resource: "pods", Namespace: "shop", Err: forbiddenErr}, `cannot list pods in namespace "shop": forbidden by RBAC`},
		{&ListError{Resource: "jobs.batch", Err: forbiddenErr}, `cannot list jobs.batch in all namespaces: forbidden by RBAC`},
		{&ListError{Resource: "jobs.batch", Err: errors.New("connection refused")}, `cannot list jobs.batch in all namespaces: connection refused`},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
		if !errors.Is(tt.err, tt.err.Err) {
			t.Errorf("errors.Is(%q, its cause) = false, want true", tt.err)
		}
	}
	if !apierrors.IsForbidden(&ListError{Err: forbiddenErr}) {
		t.Error("apierrors.IsForbidden(ListError wrapping a 403) = false, want true")
	}
}

func sorted(s []string) []string {
	out := append([]string(nil), s...)
	sort.Strings(out)
	return out
}

// without drops the IDs of one kind.
func without(list []string, kind string) []string {
	out := []string{}
	for _, id := range list {
		if strings.Fields(id)[2] != kind {
			out = append(out, id)
		}
	}
	return out
}
