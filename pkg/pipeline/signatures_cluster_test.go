package pipeline

import (
	"errors"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/imgtrust/kubectl-imgtrust/pkg/signature"
)

// A key.secretRef is read as policy-controller reads it: from its own
// namespace, its one data entry; errors say what to do and hold no key.
func TestPolicyControllerKey(t *testing.T) {
	const pem = "-----BEGIN PUBLIC KEY-----\nsecret-ish\n-----END PUBLIC KEY-----\n"
	client := fake.NewSimpleClientset(
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "cosign-system", Name: "one"}, Data: map[string][]byte{"whatever.pub": []byte(pem)}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "cosign-system", Name: "two"}, Data: map[string][]byte{"cosign.pub": []byte(pem), "cosign.key": []byte(pem)}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "elsewhere", Name: "other"}, Data: map[string][]byte{"k": []byte(pem)}},
	)
	b, err := policyControllerKey(t.Context(), client, "cosign-system", "one")
	if err != nil || string(b) != pem {
		t.Errorf("one: %q, %v", b, err)
	}
	for name, want := range map[string]string{
		"two":   "secret cosign-system/two has 2 data entries (cosign.key, cosign.pub); policy-controller wants exactly one, the PEM public key",
		"other": `no Secret "other" in namespace "cosign-system", where policy-controller reads it; pass --policy-controller-namespace if it runs elsewhere`,
	} {
		_, err := policyControllerKey(t.Context(), client, "cosign-system", name)
		if err == nil || err.Error() != want || strings.Contains(err.Error(), "secret-ish") {
			t.Errorf("%s: %v, want %s", name, err, want)
		}
	}
	client.PrependReactor("get", "secrets", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, forbidden("secrets")
	})
	if _, err := policyControllerKey(t.Context(), client, "cosign-system", "one"); err == nil || !strings.HasPrefix(err.Error(), `forbidden: reading the key needs get on secrets in namespace "cosign-system"`) {
		t.Errorf("forbidden: %v", err)
	}
}

// no-match-policy as policy-controller reads it: deny by default, for a
// missing ConfigMap and an unknown value; an unreadable one is a warning.
func TestNoMatchPolicy(t *testing.T) {
	cm := func(v string) *corev1.ConfigMap {
		return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "cosign-system", Name: "config-policy-controller"}, Data: map[string]string{"no-match-policy": v}}
	}
	for _, tt := range []struct {
		objs []runtime.Object
		want string
	}{
		{nil, signature.NoMatchDeny},
		{[]runtime.Object{cm("allow")}, signature.NoMatchAllow},
		{[]runtime.Object{cm("warn")}, signature.NoMatchWarn},
		{[]runtime.Object{cm("deny")}, signature.NoMatchDeny},
		{[]runtime.Object{cm("sometimes")}, signature.NoMatchDeny},
	} {
		got, w := noMatchPolicy(t.Context(), fake.NewSimpleClientset(tt.objs...), "cosign-system")
		if got != tt.want || w != "" {
			t.Errorf("%v: %s %q, want %s", tt.objs, got, w, tt.want)
		}
	}
	client := fake.NewSimpleClientset(cm("allow"))
	client.PrependReactor("get", "configmaps", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, forbidden("configmaps")
	})
	got, w := noMatchPolicy(t.Context(), client, "cosign-system")
	if got != signature.NoMatchDeny || !strings.Contains(w, "cannot read ConfigMap cosign-system/config-policy-controller") {
		t.Errorf("forbidden: %s %q", got, w)
	}
}

func forbidden(resource string) error {
	return apierrors.NewForbidden(schema.GroupResource{Resource: resource}, "", errors.New("RBAC"))
}
