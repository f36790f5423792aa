package pipeline

import (
	"errors"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

func TestSecretKey(t *testing.T) {
	const pub = "-----BEGIN PUBLIC KEY-----\nMFkw\n-----END PUBLIC KEY-----\n"
	secret := func(name string, data map[string][]byte) *corev1.Secret {
		return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "imgtrust", Name: name}, Data: data}
	}
	client := fake.NewClientset(
		secret("vendor-key", map[string][]byte{"cosign.key": []byte("PRIVATE"), "cosign.password": []byte("hunter2"), "cosign.pub": []byte(pub)}),
		secret("private-only", map[string][]byte{"cosign.key": []byte("PRIVATE"), "cosign.password": []byte("hunter2")}),
		secret("empty", nil),
	)
	client.PrependReactor("get", "secrets", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if a.GetNamespace() == "locked" {
			return true, nil, apierrors.NewForbidden(corev1.Resource("secrets"), a.(k8stesting.GetAction).GetName(), errors.New(`User "dev" cannot get resource "secrets"`))
		}
		return false, nil, nil
	})
	get := secretKey(client)

	b, err := get("k8s://imgtrust/vendor-key")
	if err != nil || string(b) != pub {
		t.Errorf("ok: %q, %v; want the cosign.pub", b, err)
	}
	for _, tt := range []struct{ ref, want string }{
		{"k8s://imgtrust/nope", `no Secret "nope" in namespace "imgtrust"; create it (cosign generate-key-pair k8s://imgtrust/nope does), or name the Secret that holds the key`},
		{"k8s://imgtrust/private-only", `secret imgtrust/private-only has no cosign.pub (it has only cosign.key, cosign.password); put the PEM public key under cosign.pub (as cosign generate-key-pair k8s://imgtrust/private-only does), or name the Secret that holds it`},
		{"k8s://imgtrust/empty", `secret imgtrust/empty has no cosign.pub (it has no data); put the PEM public key under cosign.pub (as cosign generate-key-pair k8s://imgtrust/empty does), or name the Secret that holds it`},
		{"k8s://locked/vendor-key", `forbidden: reading the key needs get on secrets in namespace "locked"; ask for that permission, or export the key to a file and name the file`},
	} {
		_, err := get(tt.ref)
		if err == nil || err.Error() != tt.want {
			t.Errorf("%s: %v\nwant %s", tt.ref, err, tt.want)
			continue
		}
		if strings.Contains(err.Error(), "PRIVATE") || strings.Contains(err.Error(), "hunter2") {
			t.Errorf("%s: error shows key material: %s", tt.ref, err)
		}
	}
}
