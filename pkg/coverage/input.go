package coverage

import (
	corev1 "k8s.io/api/core/v1"

	"github.com/imgtrust/kubectl-imgtrust/pkg/pullsecret"
	"github.com/imgtrust/kubectl-imgtrust/pkg/registry"
	"github.com/imgtrust/kubectl-imgtrust/pkg/workload"
)

// Store is what coverage reads of a *pullsecret.Store.
type Store interface {
	Secret(ns, name string) (pullsecret.SecretState, *pullsecret.Secret, *pullsecret.InvalidError)
	SecretType(ns, name string) corev1.SecretType
	SecretsError(ns string) error
	ServiceAccountError(ns string) error
	ServiceAccountPullSecrets(ns, sa string) ([]string, bool)
	PullSecretNames(ns string) []string
	ServiceAccounts(ns string) []string
}

// Input is everything Evaluate looks at.
type Input struct {
	Workloads []workload.Workload
	Store     Store
	// Namespaces get namespace-level findings.
	Namespaces []string
	// WholeNamespaces says Workloads hold every workload of Namespaces (no
	// TYPE/NAME, no -l), so that a secret nobody references is unused.
	WholeNamespaces bool
	// Elsewhere maps a secret name to the namespaces holding a pull secret
	// of that name, for references that cannot be satisfied in the pod's
	// own namespace.
	Elsewhere map[string][]pullsecret.Location
	// Verdicts are the registries' answers to Checks; nil without --verify.
	Verdicts map[CheckKey]registry.Verification
	// Nodes are the kubelets of CachedPullNodes (read with --verify only).
	Nodes Nodes
	// NodeCredentials are --node-credential-registries patterns: registries
	// the nodes' kubelet credential providers serve.
	NodeCredentials []string
}

// CheckKey identifies one registry check. Credentials are checked once per
// registry (Repository is empty in their key); anonymous access, which
// risks no lockout, once per repository.
type CheckKey struct {
	Registry     string
	Repository   string
	CredentialID string
}

// Check is one registry check the caller should run for --verify.
type Check struct {
	Key CheckKey
	// Repository scopes the token request, e.g. "team/app".
	Repository string
	Credential registry.Credential
	// Username and Source say whose credential it is, for progress output.
	Username, Source string
}

func credentialKey(reg string, c registry.Credential) CheckKey {
	return CheckKey{Registry: reg, CredentialID: c.ID}
}

func anonymousKey(reg, repo string) CheckKey {
	return CheckKey{Registry: reg, Repository: repo, CredentialID: registry.Anonymous.ID}
}
