package cmd

import (
	"fmt"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/spf13/cobra"

	"github.com/imgtrust/kubectl-imgtrust/pkg/pullsecret"
	"github.com/imgtrust/kubectl-imgtrust/pkg/registry"
	"github.com/imgtrust/kubectl-imgtrust/pkg/workload"
)

// registryFlags configure registry access for audit and resolve.
type registryFlags struct {
	Concurrency int
	PerHost     int
	Timeout     time.Duration
	CAFile      string
	Insecure    []string
}

func (f *registryFlags) AddFlags(cmd *cobra.Command) {
	cmd.Flags().IntVar(&f.Concurrency, "concurrency", registry.DefaultConcurrency, "Registry lookups in flight at most")
	cmd.Flags().IntVar(&f.PerHost, "concurrency-per-registry", registry.DefaultPerHost, "Registry lookups in flight at most per registry host")
	cmd.Flags().DurationVar(&f.Timeout, "registry-timeout", registry.DefaultTimeout, "Timeout of each registry request (retried with backoff)")
	cmd.Flags().StringVar(&f.CAFile, "registry-ca-file", "", "PEM file of CA certificates to trust for registries, besides the system roots (and SSL_CERT_FILE)")
	cmd.Flags().StringSliceVar(&f.Insecure, "insecure-registry", nil, "Registry host[:port] that may use plain HTTP or an unverified certificate (repeatable); TLS is verified for every other registry")
}

func (f *registryFlags) Validate() error {
	if f.Concurrency < 1 {
		return fmt.Errorf("--concurrency must be at least 1, got %d", f.Concurrency)
	}
	if f.PerHost < 1 {
		return fmt.Errorf("--concurrency-per-registry must be at least 1, got %d", f.PerHost)
	}
	if f.Timeout <= 0 {
		return fmt.Errorf("--registry-timeout must be positive, got %s", f.Timeout)
	}
	return nil
}

func (f *registryFlags) Options(platform string) registry.Options {
	return registry.Options{
		Concurrency: f.Concurrency,
		PerHost:     f.PerHost,
		Timeout:     f.Timeout,
		CAFile:      f.CAFile,
		Insecure:    f.Insecure,
		Platform:    platform,
	}
}

// credentialPlan gives each workload's images the credentials a node would
// try, in the kubelet's order: the pod's pull secrets (or its service
// account's), then the user's docker config standing in for the node's,
// then anonymous.
type credentialPlan struct {
	store *pullsecret.Store
	local *pullsecret.LocalConfig
}

func newCredentialPlan(store *pullsecret.Store) *credentialPlan {
	return &credentialPlan{store: store, local: pullsecret.NewLocalConfig(authn.DefaultKeychain)}
}

// For returns the credentials for one image of one workload, and whether
// they are complete (false when the namespace's secrets are unreadable).
func (p *credentialPlan) For(obj workload.Object, image string) ([]registry.Credential, bool, error) {
	complete := true
	var sources []pullsecret.Source
	if p.store != nil && obj.Spec != nil {
		sources = p.store.Sources(obj.Namespace, obj.Spec.ServiceAccount, obj.Spec.PullSecrets)
		complete = p.store.SecretsError(obj.Namespace) == nil && p.store.ServiceAccountError(obj.Namespace) == nil
	}
	creds, err := pullsecret.NewKeyring(sources...).Credentials(image, p.local)
	return creds, complete, err
}
