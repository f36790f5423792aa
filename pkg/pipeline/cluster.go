package pipeline

import (
	"context"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/imgtrust/kubectl-imgtrust/pkg/workload"
)

// Cluster is the front of every pipeline: one kubeconfig context and what
// to look at in it. Every end (audit, resolve, secrets, pin) starts here,
// so discovery, clients and the credential plan are built one way.
type Cluster struct {
	// Context names the kubeconfig context; "" is kubectl's current one.
	Context string
	Getter  genericclioptions.RESTClientGetter
	Scope   workload.Scope
}

// Discover lists the workloads in scope (or reads the -f manifests).
func (c Cluster) Discover(ctx context.Context) (*workload.Discovery, error) {
	return workload.Discover(ctx, c.Getter, c.Scope)
}

// Client is a typed client of the cluster.
func (c Cluster) Client() (kubernetes.Interface, error) {
	return workload.NewClient(c.Getter)
}

// Dynamic is the dynamic client and REST mapper patches go through.
func (c Cluster) Dynamic() (dynamic.Interface, meta.RESTMapper, error) {
	cfg, err := c.Getter.ToRESTConfig()
	if err != nil {
		return nil, nil, err
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, nil, err
	}
	mapper, err := c.Getter.ToRESTMapper()
	return dyn, mapper, err
}

// Credentials is the credential plan of the discovered workloads, with
// warnings naming the namespaces whose pull secrets could not be read.
func (c Cluster) Credentials(ctx context.Context, found *workload.Discovery) (*CredentialPlan, []string, error) {
	client, err := c.Client()
	if err != nil {
		return nil, nil, err
	}
	plan, warnings := LoadCredentialPlan(ctx, client, found)
	return plan, warnings, nil
}
