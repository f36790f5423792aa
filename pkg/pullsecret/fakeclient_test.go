package pullsecret

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
)

// typeFilteringClient makes a fake clientset honour the "type" field
// selector on Secret LISTs, as the API server does.
type typeFilteringClient struct{ *fake.Clientset }

var _ kubernetes.Interface = (*typeFilteringClient)(nil)

func (c *typeFilteringClient) CoreV1() typedcorev1.CoreV1Interface {
	return &filteringCore{CoreV1Interface: c.Clientset.CoreV1()}
}

type filteringCore struct{ typedcorev1.CoreV1Interface }

func (c *filteringCore) Secrets(ns string) typedcorev1.SecretInterface {
	return &filteringSecrets{SecretInterface: c.CoreV1Interface.Secrets(ns)}
}

type filteringSecrets struct{ typedcorev1.SecretInterface }

func (s *filteringSecrets) List(ctx context.Context, opts metav1.ListOptions) (*corev1.SecretList, error) {
	list, err := s.SecretInterface.List(ctx, opts)
	if err != nil || opts.FieldSelector == "" {
		return list, err
	}
	sel, err := fields.ParseSelector(opts.FieldSelector)
	if err != nil {
		return nil, err
	}
	out := &corev1.SecretList{ListMeta: list.ListMeta}
	for _, item := range list.Items {
		if sel.Matches(fields.Set{"type": string(item.Type), "metadata.name": item.Name}) {
			out.Items = append(out.Items, item)
		}
	}
	return out, nil
}
