package pullsecret

import (
	"context"
	"sort"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/kubernetes"
)

// Location is a namespace holding a secret of some name, and its type.
type Location struct {
	Namespace string
	Type      corev1.SecretType
}

// Locate finds the pull secrets called name in every namespace with one
// cluster-wide LIST filtered by name on the server, for references to a
// secret that lives in another namespace than the pod. Only the
// dockerconfigjson and dockercfg types are returned; the data is dropped
// at once. It needs permission to list secrets cluster-wide; the caller
// falls back to the namespaces it has loaded otherwise.
func Locate(ctx context.Context, client kubernetes.Interface, name string) ([]Location, error) {
	list, err := client.CoreV1().Secrets(metav1.NamespaceAll).List(ctx, metav1.ListOptions{
		FieldSelector: fields.OneTermEqualSelector("metadata.name", name).String(),
	})
	if err != nil {
		return nil, err
	}
	var out []Location
	for _, s := range list.Items {
		if s.Name == name && (s.Type == corev1.SecretTypeDockerConfigJson || s.Type == corev1.SecretTypeDockercfg) {
			out = append(out, Location{Namespace: s.Namespace, Type: s.Type})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Namespace < out[j].Namespace })
	return out, nil
}
