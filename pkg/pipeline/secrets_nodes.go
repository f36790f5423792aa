package pipeline

import (
	"context"
	"time"

	"golang.org/x/sync/errgroup"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/imgtrust/kubectl-imgtrust/pkg/coverage"
)

// Bounds of the node reads: a few at a time, each configz answer within
// configzTimeout (a kubelet behind the proxy may not answer at all).
const (
	nodeConcurrency = 4
	configzTimeout  = 10 * time.Second
)

// readKubelets reads the kubelet version of each node (one GET per node)
// and, with --read-kubelet-config, its configuration. Faults, RBAC
// refusals included, are kept per node: a node RBAC hides is unknown,
// never assumed, and says nothing of the others.
func readKubelets(ctx context.Context, client kubernetes.Interface, nodes []string, cfg SecretsConfig) coverage.Nodes {
	out := coverage.Nodes{Kubelets: map[string]coverage.Kubelet{}, ConfigRead: cfg.ReadKubeletConfig}
	kubelets := make([]coverage.Kubelet, len(nodes))
	found := make([]bool, len(nodes))
	var g errgroup.Group
	g.SetLimit(nodeConcurrency)
	for i, name := range nodes {
		g.Go(func() error {
			nd, err := client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
			switch {
			case apierrors.IsNotFound(err):
				return nil
			case apierrors.IsForbidden(err):
				found[i], kubelets[i].Forbidden = true, "get nodes is forbidden by RBAC"
				return nil
			case err != nil:
				found[i], kubelets[i].ReadError = true, Reason(err)
				return nil
			}
			found[i], kubelets[i].Version = true, nd.Status.NodeInfo.KubeletVersion
			if cfg.ReadKubeletConfig {
				kubelets[i].Config, kubelets[i].ConfigError, kubelets[i].ConfigForbidden = kubeletConfig(ctx, client, name, cfg)
			}
			return nil
		})
	}
	_ = g.Wait() // faults are per node
	for i, name := range nodes {
		if found[i] {
			out.Kubelets[name] = kubelets[i]
		}
	}
	return out
}

// kubeletConfig reads one kubelet's configz through the API server's node
// proxy; the error says why it could not, forbidden whether RBAC refused.
func kubeletConfig(ctx context.Context, client kubernetes.Interface, node string, cfg SecretsConfig) (c *coverage.KubeletConfig, why string, forbidden bool) {
	ctx, cancel := context.WithTimeout(ctx, configzTimeout)
	defer cancel()
	get := cfg.configz
	if get == nil {
		get = proxyConfigz
	}
	body, err := get(ctx, client, node)
	if err != nil {
		if apierrors.IsForbidden(err) {
			return nil, "get nodes/proxy is forbidden by RBAC", true
		}
		return nil, Reason(err), false
	}
	c, err = coverage.ParseConfigz(body)
	if err != nil {
		return nil, err.Error(), false
	}
	return c, "", false
}

// proxyConfigz is GET /api/v1/nodes/NODE/proxy/configz.
func proxyConfigz(ctx context.Context, client kubernetes.Interface, node string) ([]byte, error) {
	return client.CoreV1().RESTClient().Get().AbsPath("/api/v1/nodes", node, "proxy", "configz").Do(ctx).Raw()
}
