package pullsecret

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

// A secret only a service account names must still be fetched, so that an
// Opaque one is reported as invalid (wrong type) rather than missing.
func TestLoadStoreChecksSecretsNamedByServiceAccounts(t *testing.T) {
	opaque := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "opaque"},
		Type:       corev1.SecretTypeOpaque,
		Data:       map[string][]byte{corev1.DockerConfigJsonKey: []byte(`{"auths":{}}`)},
	}
	sa := &corev1.ServiceAccount{
		ObjectMeta:       metav1.ObjectMeta{Namespace: "ns", Name: "builder"},
		ImagePullSecrets: []corev1.LocalObjectReference{{Name: "opaque"}, {Name: "gone"}},
	}
	client := fake.NewClientset(opaque, sa)
	// The real API server filters the pull-secret LIST by type; the fake
	// does not, so hide the Opaque secret from LISTs as the server would.
	store := LoadStore(context.Background(), &typeFilteringClient{client}, Load{Namespaces: []string{"ns"}})
	tests := []struct {
		name string
		want SecretState
	}{
		{"opaque", SecretInvalid},
		{"gone", SecretMissing},
	}
	for _, tt := range tests {
		if got, _, _ := store.Secret("ns", tt.name); got != tt.want {
			t.Errorf("Secret(%s) = %v, want %v", tt.name, got, tt.want)
		}
	}
	if got := store.SecretType("ns", "opaque"); got != corev1.SecretTypeOpaque {
		t.Errorf("SecretType(opaque) = %q, want Opaque", got)
	}
}
