package pipeline

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/imgtrust/kubectl-imgtrust/pkg/coverage"
	"github.com/imgtrust/kubectl-imgtrust/pkg/imageref"
	"github.com/imgtrust/kubectl-imgtrust/pkg/registry"
	"github.com/imgtrust/kubectl-imgtrust/pkg/workload"
)

func kubeletNode(name, version string) *corev1.Node {
	return &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}, Status: corev1.NodeStatus{NodeInfo: corev1.NodeSystemInfo{KubeletVersion: version}}}
}

// running puts the workload's pods on nodes, running its image.
func running(w workload.Workload, nodes ...string) workload.Workload {
	w.Nodes = nodes
	for i := range w.Containers {
		w.Containers[i].Running = []imageref.RunningImage{{ImageID: "sha256:0", Digest: "sha256:0", Kind: imageref.KindConfig}}
	}
	return w
}

// A pod without a credential beside one with it, on a 1.37 and a 1.34
// node, against a registry that refuses anonymous pulls; only the nodes
// that matter are read.
func TestSecretsCachedPulls(t *testing.T) {
	reg := newTestRegistry(t)
	reg.locked.Store(true)
	image := reg.Host + "/shop/web:1.0"
	bare := func(name, node string) workload.Workload {
		w := running(deployment("shop", name, image), node)
		w.APIVersion, w.Kind = "v1", "Pod"
		return w
	}
	found := &workload.Discovery{Workloads: []workload.Workload{
		running(deployment("shop", "web", image, "regcred"), "new", "old"),
		bare("on-new", "new"),
		bare("on-old", "old"),
		bare("alone", "elsewhere"),
	}}
	verifier, err := registry.NewVerifier(registry.Options{Insecure: []string{reg.Host}})
	if err != nil {
		t.Fatal(err)
	}
	objs := []runtime.Object{pullSecretFor("shop", "regcred", reg.Host, testUser, testPassword), kubeletNode("new", "v1.37.0"), kubeletNode("old", "v1.34.2"), kubeletNode("elsewhere", "v1.37.0")}

	t.Run("versions", func(t *testing.T) {
		client := fake.NewClientset(objs...)
		var gets []string
		client.PrependReactor("get", "nodes", func(a k8stesting.Action) (bool, runtime.Object, error) {
			gets = append(gets, a.(k8stesting.GetAction).GetName())
			return false, nil, nil
		})
		res := coverageOf(context.Background(), client, workload.Scope{Namespace: "shop"}, found, SecretsConfig{Verifier: verifier})
		want := map[string]coverage.Status{"web": coverage.Covered, "on-new": coverage.RunsOnCachedPull, "on-old": coverage.SharesCachedPull, "alone": coverage.NodeProvided}
		for _, row := range res.Rows {
			if row.Status != want[row.Name] {
				t.Errorf("%s: %s (%s), want %s", row.Name, row.Status, row.Detail, want[row.Name])
			}
		}
		if strings.Join(slices.Sorted(slices.Values(gets)), ",") != "new,old" {
			t.Errorf("read nodes %v, want new and old only", gets)
		}
		if w := strings.Join(res.Warnings, "\n"); !strings.Contains(w, "assumed each kubelet's imagePullCredentialsVerificationPolicy is the default") {
			t.Errorf("warnings %q do not say the policy is assumed", w)
		}
	})

	// RBAC hiding nodes proves nothing of their kubelets: unknown, said
	// once naming the permission, never a failing start predicted.
	t.Run("nodes forbidden", func(t *testing.T) {
		client := fake.NewClientset(objs...)
		client.PrependReactor("get", "nodes", func(k8stesting.Action) (bool, runtime.Object, error) {
			return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: "nodes"}, "", nil)
		})
		res := coverageOf(context.Background(), client, workload.Scope{Namespace: "shop"}, found, SecretsConfig{Verifier: verifier})
		for _, row := range res.Rows {
			if (row.Name == "on-new" || row.Name == "on-old") && (row.Status != coverage.Unknown || strings.Contains(row.Detail, "ErrImagePull")) {
				t.Errorf("%s: %s %q, want unknown, predicting no failure", row.Name, row.Status, row.Detail)
			}
		}
		n := 0
		for _, w := range res.Warnings {
			if strings.Contains(w, "cannot read nodes (get nodes is forbidden by RBAC): whether their kubelets re-check the credentials of cached private images (KubeletEnsureSecretPulledImages, on by default since 1.35) is unknown; grant get on nodes to know") {
				n++
			}
		}
		if n != 1 {
			t.Errorf("warnings %q, want it said once that the cache behaviour is unknown", res.Warnings)
		}
	})

	// One node RBAC hides says nothing of the others: each is judged
	// by what was read of it.
	t.Run("one node forbidden", func(t *testing.T) {
		client := fake.NewClientset(objs...)
		client.PrependReactor("get", "nodes", func(a k8stesting.Action) (bool, runtime.Object, error) {
			if name := a.(k8stesting.GetAction).GetName(); name == "old" {
				return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: "nodes"}, name, nil)
			}
			return false, nil, nil
		})
		res := coverageOf(context.Background(), client, workload.Scope{Namespace: "shop"}, found, SecretsConfig{Verifier: verifier})
		want := map[string]coverage.Status{"web": coverage.Covered, "on-new": coverage.RunsOnCachedPull, "on-old": coverage.Unknown, "alone": coverage.NodeProvided}
		for _, row := range res.Rows {
			if row.Status != want[row.Name] {
				t.Errorf("%s: %s (%s), want %s", row.Name, row.Status, row.Detail, want[row.Name])
			}
			if row.Name == "on-new" && !strings.Contains(row.Detail, "node new runs kubelet v1.37.0") {
				t.Errorf("on-new: %q, want it judged by the kubelet read on node new", row.Detail)
			}
			if row.Name == "on-old" && !strings.Contains(row.Detail, "node old could not be read (get nodes is forbidden by RBAC)") {
				t.Errorf("on-old: %q, want it to name node old as unreadable", row.Detail)
			}
		}
	})

	t.Run("kubelet config", func(t *testing.T) {
		client := fake.NewClientset(objs...)
		cfg := SecretsConfig{Verifier: verifier, ReadKubeletConfig: true, configz: func(_ context.Context, _ kubernetes.Interface, node string) ([]byte, error) {
			if node == "new" {
				return []byte(`{"kubeletconfig":{"imagePullCredentialsVerificationPolicy":"NeverVerify"}}`), nil
			}
			return nil, errors.New("error trying to reach service: dial tcp: i/o timeout")
		}}
		res := coverageOf(context.Background(), client, workload.Scope{Namespace: "shop"}, found, cfg)
		for _, row := range res.Rows {
			if row.Name == "on-new" && (row.Status != coverage.SharesCachedPull || !strings.Contains(row.Detail, "NeverVerify, read from its configz")) {
				t.Errorf("on-new with NeverVerify: %s %q, want shares-cached-pull", row.Status, row.Detail)
			}
			if row.Name == "on-old" && row.Status != coverage.SharesCachedPull {
				t.Errorf("on-old: %s, want shares-cached-pull (1.34 needs no config)", row.Status)
			}
		}
		if w := strings.Join(res.Warnings, "\n"); strings.Contains(w, "nodes/proxy") {
			t.Errorf("warnings %q: the configz of a 1.34 kubelet does not matter", w)
		}
	})

	// A configz fault that is no RBAC refusal: the default policy is
	// assumed, naming the node.
	t.Run("configz fault on a 1.37 node", func(t *testing.T) {
		client := fake.NewClientset(objs...)
		cfg := SecretsConfig{Verifier: verifier, ReadKubeletConfig: true, configz: func(context.Context, kubernetes.Interface, string) ([]byte, error) {
			return nil, errors.New("error trying to reach service: dial tcp: i/o timeout")
		}}
		res := coverageOf(context.Background(), client, workload.Scope{Namespace: "shop"}, found, cfg)
		for _, row := range res.Rows {
			if row.Name == "on-new" && row.Status != coverage.RunsOnCachedPull {
				t.Errorf("on-new: %s, want runs-on-cached-pull on the default policy", row.Status)
			}
		}
		if w := strings.Join(res.Warnings, "\n"); !strings.Contains(w, "kubelet on node new could not be read") {
			t.Errorf("warnings %q do not name the node whose configuration is unknown", w)
		}
	})

	// --read-kubelet-config refused by RBAC (nodes/proxy): the 1.37
	// kubelet's policy is unknown, said naming the permission; the 1.34
	// one is judged by its version.
	t.Run("configz forbidden", func(t *testing.T) {
		client := fake.NewClientset(objs...)
		cfg := SecretsConfig{Verifier: verifier, ReadKubeletConfig: true, configz: func(_ context.Context, _ kubernetes.Interface, node string) ([]byte, error) {
			return nil, apierrors.NewForbidden(schema.GroupResource{Resource: "nodes/proxy"}, node, nil)
		}}
		res := coverageOf(context.Background(), client, workload.Scope{Namespace: "shop"}, found, cfg)
		want := map[string]coverage.Status{"web": coverage.Covered, "on-new": coverage.Unknown, "on-old": coverage.SharesCachedPull, "alone": coverage.NodeProvided}
		for _, row := range res.Rows {
			if row.Status != want[row.Name] {
				t.Errorf("%s: %s (%s), want %s", row.Name, row.Status, row.Detail, want[row.Name])
			}
		}
		if w := strings.Join(res.Warnings, "\n"); !strings.Contains(w, "cannot read the kubelets' configuration (get nodes/proxy is forbidden by RBAC)") || !strings.Contains(w, "grant get on nodes/proxy to know") {
			t.Errorf("warnings %q do not name the missing permission", w)
		}
	})
}
