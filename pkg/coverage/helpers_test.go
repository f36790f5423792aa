package coverage

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/imgtrust/kubectl-imgtrust/pkg/imageref"
	"github.com/imgtrust/kubectl-imgtrust/pkg/pullsecret"
	"github.com/imgtrust/kubectl-imgtrust/pkg/workload"
)

// Test passwords: no output may ever hold them (see leak_test.go).
const (
	privPassword  = "Priv-Pa55word-XYZ"
	otherPassword = "0ther-Pa55word-QRS"
	priv          = "reg.example.com"
	public        = "public.example.com"
)

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// pullSecret is a dockerconfigjson secret as kubectl create secret
// docker-registry writes it.
func pullSecret(ns, name, registry, user, password string) *corev1.Secret {
	cfg, _ := json.Marshal(map[string]any{"auths": map[string]any{
		registry: map[string]string{"username": user, "password": password, "auth": b64(user + ":" + password)},
	}})
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Type:       corev1.SecretTypeDockerConfigJson,
		Data:       map[string][]byte{corev1.DockerConfigJsonKey: cfg},
	}
}

// rawSecret has the given type and data key/value.
func rawSecret(ns, name string, typ corev1.SecretType, key, value string) *corev1.Secret {
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Type:       typ,
		Data:       map[string][]byte{key: []byte(value)},
	}
}

func serviceAccount(ns, name string, secrets ...string) *corev1.ServiceAccount {
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
	for _, s := range secrets {
		sa.ImagePullSecrets = append(sa.ImagePullSecrets, corev1.LocalObjectReference{Name: s})
	}
	return sa
}

// deploy is a Deployment workload with one container per image; running
// gives each container that many pods running it.
func deploy(ns, name, sa string, pullSecrets []string, running int, images ...string) workload.Workload {
	w := workload.Workload{Object: workload.Object{
		APIVersion: "apps/v1", Kind: "Deployment", Namespace: ns, Name: name,
		Spec: &workload.PodSpec{ServiceAccount: sa, PullSecrets: pullSecrets},
	}}
	for i, img := range images {
		c := workload.ContainerSpec{Name: "c" + string(rune('0'+i)), Type: workload.Container, Image: img}
		w.Spec.Containers = append(w.Spec.Containers, c)
		u := workload.Usage{ContainerSpec: c}
		for range running {
			u.Running = append(u.Running, imageref.RunningImage{ImageID: "sha256:0", Digest: "sha256:0", Kind: imageref.KindConfig})
		}
		w.Containers = append(w.Containers, u)
	}
	return w
}

// storeOf loads a real Store from a fake clientset holding objs; forbid
// makes listing and getting secrets fail as RBAC would.
func storeOf(t *testing.T, namespaces []string, workloads []workload.Workload, forbid bool, objs ...runtime.Object) *pullsecret.Store {
	t.Helper()
	client := fake.NewClientset(objs...)
	if forbid {
		deny := func(a k8stesting.Action) (bool, runtime.Object, error) {
			return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: "secrets"}, "", nil)
		}
		client.PrependReactor("list", "secrets", deny)
		client.PrependReactor("get", "secrets", deny)
	}
	referenced := map[string][]string{}
	for _, w := range workloads {
		referenced[w.Namespace] = append(referenced[w.Namespace], w.Spec.PullSecrets...)
	}
	return pullsecret.LoadStore(context.Background(), client, pullsecret.Load{Namespaces: namespaces, Referenced: referenced})
}
