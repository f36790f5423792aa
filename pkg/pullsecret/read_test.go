package pullsecret

import (
	"context"
	"reflect"
	"testing"

	"k8s.io/client-go/kubernetes/fake"
)

// Stores built from one Read hold what LoadStore gives them, and the lists
// are sent once for all of them: across the cluster, per namespace, and
// after a forbidden cluster-wide list.
func TestReadListsOnceForEveryStore(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		load   Load
		forbid func(*fake.Clientset)
		lists  map[string]int
	}{
		{"cluster-wide", Load{ClusterWide: true}, nil,
			map[string]int{"serviceaccounts/": 1, "secrets/": 2}},
		{"per namespace", Load{Namespaces: []string{"a"}}, nil,
			map[string]int{"serviceaccounts/a": 1, "secrets/a": 2, "serviceaccounts/b": 1, "secrets/b": 2}},
		{"cluster-wide forbidden", Load{ClusterWide: true}, func(c *fake.Clientset) {
			forbidListIn(c, "secrets", "", "b")
			forbidListIn(c, "serviceaccounts", "")
		}, map[string]int{"serviceaccounts/": 1, "secrets/": 2, "serviceaccounts/a": 1, "secrets/a": 2, "serviceaccounts/b": 1, "secrets/b": 2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			client, alone := fake.NewClientset(clusterObjects()...), fake.NewClientset(clusterObjects()...)
			if tc.forbid != nil {
				tc.forbid(client)
				tc.forbid(alone)
			}
			read := StartRead(ctx, &typeFilteringClient{client}, tc.load)
			// The early stores (one per page of pods, from the lists
			// alone) and the full one, as an audit builds them.
			first := read.Store(ctx, Load{Namespaces: []string{"a"}, ListedOnly: true})
			read.Store(ctx, Load{Namespaces: []string{"a", "b"}, ListedOnly: true})
			if n := gets(client); n != 0 {
				t.Errorf("the early stores sent %d GETs of single secrets, want none", n)
			}
			full := Load{Namespaces: []string{"a", "b"}, Referenced: map[string][]string{"a": {"opaque"}}, ClusterWide: tc.load.ClusterWide}
			second := read.Store(ctx, full)
			want := LoadStore(ctx, &typeFilteringClient{alone}, full)
			if g, w := gets(client), gets(alone); g != w || w == 0 {
				t.Errorf("the full store sent %d GETs of single secrets, LoadStore %d", g, w)
			}

			got := lists(client)
			if !reflect.DeepEqual(got, tc.lists) {
				t.Errorf("LISTs = %v, want %v (each once)", got, tc.lists)
			}
			for _, ns := range []string{"a", "b"} {
				if w, g := viewOf(want, ns), viewOf(second, ns); !reflect.DeepEqual(w, g) {
					t.Errorf("namespace %s: from the read %+v, LoadStore %+v", ns, g, w)
				}
			}
			if w, g := viewOf(want, "a").Names, viewOf(first, "a").Names; !reflect.DeepEqual(w, g) {
				t.Errorf("early store's pull secrets in a = %v, want %v", g, w)
			}
			if names := second.PullSecretNames("c"); names != nil {
				t.Errorf("namespace c is not asked for, yet the store holds %v", names)
			}
		})
	}
}

// gets counts the GETs of single secrets client received.
func gets(client *fake.Clientset) int {
	n := 0
	for _, a := range client.Actions() {
		if a.GetVerb() == "get" && a.GetResource().Resource == "secrets" {
			n++
		}
	}
	return n
}
