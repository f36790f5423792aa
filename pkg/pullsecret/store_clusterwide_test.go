package pullsecret

import (
	"context"
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

// clusterObjects: namespaces a, b (audited) and c (not), each with a pull
// secret, an Opaque secret its service account names, and that account.
func clusterObjects() []runtime.Object {
	var out []runtime.Object
	for _, ns := range []string{"a", "b", "c"} {
		out = append(out,
			&corev1.Secret{
				ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "pull"},
				Type:       corev1.SecretTypeDockerConfigJson,
				Data:       map[string][]byte{corev1.DockerConfigJsonKey: []byte(`{"auths":{"registry.example":{"auth":"dTpw"}}}`)},
			},
			&corev1.Secret{
				ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "opaque"},
				Type:       corev1.SecretTypeOpaque,
			},
			&corev1.ServiceAccount{
				ObjectMeta:       metav1.ObjectMeta{Namespace: ns, Name: "default"},
				ImagePullSecrets: []corev1.LocalObjectReference{{Name: "pull"}, {Name: "opaque"}, {Name: "gone"}},
			},
		)
	}
	return out
}

// storeView is what callers can see of a store for one namespace.
type storeView struct {
	Names     []string
	SA        []string
	States    []SecretState
	SecretErr bool
	SAErr     bool
}

func viewOf(s *Store, ns string) storeView {
	sa, _ := s.ServiceAccountPullSecrets(ns, "default")
	v := storeView{Names: s.PullSecretNames(ns), SA: sa, SecretErr: s.SecretsError(ns) != nil, SAErr: s.ServiceAccountError(ns) != nil}
	for _, name := range []string{"pull", "opaque", "gone"} {
		state, _, _ := s.Secret(ns, name)
		v.States = append(v.States, state)
	}
	return v
}

// lists counts the LIST requests by resource and namespace ("" is cluster-wide).
func lists(client *fake.Clientset) map[string]int {
	out := map[string]int{}
	for _, a := range client.Actions() {
		if a.GetVerb() == "list" {
			out[a.GetResource().Resource+"/"+a.GetNamespace()]++
		}
	}
	return out
}

func forbidListIn(client *fake.Clientset, resource string, namespaces ...string) {
	client.PrependReactor("list", resource, func(action k8stesting.Action) (bool, runtime.Object, error) {
		for _, ns := range namespaces {
			if action.GetNamespace() == ns {
				return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: resource}, "", nil)
			}
		}
		return false, nil, nil
	})
}

// After -A, the secrets and service accounts are listed across the cluster
// (three LISTs, not three per namespace), and the store holds exactly what
// per-namespace lists give, for the audited namespaces only.
func TestLoadStoreClusterWide(t *testing.T) {
	ctx := context.Background()
	perNS := fake.NewClientset(clusterObjects()...)
	want := LoadStore(ctx, &typeFilteringClient{perNS}, Load{Namespaces: []string{"a", "b"}})
	wide := fake.NewClientset(clusterObjects()...)
	got := LoadStore(ctx, &typeFilteringClient{wide}, Load{Namespaces: []string{"a", "b"}, ClusterWide: true})

	if l := lists(wide); !reflect.DeepEqual(l, map[string]int{"serviceaccounts/": 1, "secrets/": 2}) {
		t.Errorf("cluster-wide LISTs = %v, want one of service accounts and one per pull-secret type, all cluster-wide", l)
	}
	if l := lists(perNS); l["secrets/a"] != 2 || l["serviceaccounts/b"] != 1 {
		t.Errorf("per-namespace LISTs = %v", l)
	}
	for _, ns := range []string{"a", "b"} {
		if w, g := viewOf(want, ns), viewOf(got, ns); !reflect.DeepEqual(w, g) {
			t.Errorf("namespace %s: cluster-wide %+v, per namespace %+v", ns, g, w)
		}
	}
	if v := viewOf(got, "a"); !reflect.DeepEqual(v.States, []SecretState{SecretUsable, SecretInvalid, SecretMissing}) {
		t.Errorf("namespace a states = %v, want usable, invalid (Opaque, fetched by name), missing", v.States)
	}
	if names := got.PullSecretNames("c"); names != nil {
		t.Errorf("namespace c is not audited, yet the store holds %v", names)
	}
}

// RBAC that grants namespace by namespace forbids the cluster-wide LIST:
// the store falls back to per-namespace lists, and a namespace still
// forbidden there is unknown, not empty.
func TestLoadStoreClusterWideFallsBack(t *testing.T) {
	ctx := context.Background()
	client := fake.NewClientset(clusterObjects()...)
	forbidListIn(client, "secrets", "", "b")
	forbidListIn(client, "serviceaccounts", "")
	store := LoadStore(ctx, &typeFilteringClient{client}, Load{Namespaces: []string{"a", "b"}, ClusterWide: true})

	l := lists(client)
	if l["secrets/a"] != 2 || l["serviceaccounts/a"] != 1 || l["serviceaccounts/b"] != 1 {
		t.Errorf("LISTs = %v, want the per-namespace ones after the forbidden cluster-wide ones", l)
	}
	a := viewOf(store, "a")
	if a.SecretErr || a.SAErr || !reflect.DeepEqual(a.States, []SecretState{SecretUsable, SecretInvalid, SecretMissing}) {
		t.Errorf("namespace a = %+v, want everything read", a)
	}
	b := viewOf(store, "b")
	if !b.SecretErr || b.SAErr || !reflect.DeepEqual(b.States, []SecretState{SecretUnknown, SecretUnknown, SecretUnknown}) {
		t.Errorf("namespace b = %+v, want its secrets unknown (forbidden), its service accounts read", b)
	}
}
