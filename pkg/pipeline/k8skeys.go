package pipeline

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/kubernetes"

	"github.com/imgtrust/kubectl-imgtrust/pkg/signature"
	"github.com/imgtrust/kubectl-imgtrust/pkg/trustpolicy"
	"github.com/imgtrust/kubectl-imgtrust/pkg/workload"
)

// k8sKeyTimeout bounds reading one k8s:// key.
const k8sKeyTimeout = 30 * time.Second

// ClusterKeys reads a trust policy's k8s:// keys from the cluster of
// getter (the command's kubeconfig and context), connecting on the first
// key asked for: a policy without one never touches the cluster.
func ClusterKeys(getter genericclioptions.RESTClientGetter) signature.KeySource {
	var client kubernetes.Interface
	return func(ref string) ([]byte, error) {
		if client == nil {
			c, err := workload.NewClient(getter)
			if err != nil {
				return nil, fmt.Errorf("cannot connect to the cluster to read the key: %s; fix the kubeconfig, or export the key to a file and name the file", ErrorLine(err))
			}
			client = c
		}
		return secretKey(client)(ref)
	}
}

// WithContextKeys is a with its trust policy's k8s:// keys read from
// cluster c (each context its own, when several are audited: --contexts
// with KeysPerContext); a itself when it has none to read. A key that
// cannot be read is a warning for that context, whose signatures are then
// not checked: another cluster's key would not prove anything.
func WithContextKeys(a *signature.Authorities, c Cluster) (*signature.Authorities, string) {
	out, err := a.WithClusterKeys(ClusterKeys(c.Getter))
	if err != nil {
		return nil, "signatures not checked: " + ErrorLine(err)
	}
	return out, ""
}

// secretKey reads k8s://NAMESPACE/NAME as the cosign.pub of that Secret.
// Errors are one line saying what to do; none holds key material.
func secretKey(client kubernetes.Interface) signature.KeySource {
	return func(ref string) ([]byte, error) {
		ns, name, _ := trustpolicy.K8sKey(ref)
		ctx, cancel := context.WithTimeout(context.Background(), k8sKeyTimeout)
		defer cancel()
		s, err := client.CoreV1().Secrets(ns).Get(ctx, name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			return nil, fmt.Errorf("no Secret %q in namespace %q; create it (cosign generate-key-pair %s does), or name the Secret that holds the key", name, ns, ref)
		case apierrors.IsForbidden(err):
			return nil, fmt.Errorf("forbidden: reading the key needs get on secrets in namespace %q; ask for that permission, or export the key to a file and name the file", ns)
		case err != nil:
			return nil, fmt.Errorf("cannot read the Secret: %s; check the cluster, or export the key to a file and name the file", ErrorLine(err))
		}
		b := s.Data[trustpolicy.K8sKeyData]
		if len(b) == 0 {
			has := "no data"
			if len(s.Data) > 0 {
				keys := make([]string, 0, len(s.Data))
				for k := range s.Data {
					keys = append(keys, k)
				}
				slices.Sort(keys)
				has = "only " + strings.Join(keys, ", ")
			}
			return nil, fmt.Errorf("secret %s/%s has no %s (it has %s); put the PEM public key under %s (as cosign generate-key-pair %s does), or name the Secret that holds it", ns, name, trustpolicy.K8sKeyData, has, trustpolicy.K8sKeyData, ref)
		}
		return b, nil
	}
}
