package pipeline

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/sigstore/sigstore-go/pkg/root"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/kubernetes"

	"github.com/imgtrust/kubectl-imgtrust/pkg/signature"
	"github.com/imgtrust/kubectl-imgtrust/pkg/trustpolicy"
)

// ClusterTrustPolicy is the --trust-policy value that reads the cluster's
// sigstore policy-controller ClusterImagePolicies instead of a file.
const ClusterTrustPolicy = "cluster"

// DefaultPolicyControllerNamespace is where policy-controller runs as
// installed by its chart: it reads key.secretRef Secrets and its
// config-policy-controller ConfigMap there.
const DefaultPolicyControllerNamespace = "cosign-system"

// clusterPolicyTimeout bounds reading the policies, their Secrets and
// policy-controller's configuration.
const clusterPolicyTimeout = 30 * time.Second

var cipKind = schema.GroupKind{Group: "policy.sigstore.dev", Kind: "ClusterImagePolicy"}

// clusterAuthorities builds the authorities of the cluster's
// ClusterImagePolicies (v1beta1, else v1alpha1), read through the
// cluster's front end; what is not applied is in Authorities.Warnings.
func clusterAuthorities(c SignatureConfig, getter genericclioptions.RESTClientGetter) (*signature.Authorities, error) {
	if len(c.VerifyKeys) > 0 || len(c.TrustCerts) > 0 || c.HasKeyless() || c.IgnoreTlog || c.IgnoreSCT {
		return nil, errors.New("--trust-policy=cluster cannot be combined with --verify-key, --trust-cert or the keyless flags: the cluster's ClusterImagePolicies name the authorities")
	}
	ns := c.PolicyControllerNamespace
	if ns == "" {
		ns = DefaultPolicyControllerNamespace
	}
	cl := Cluster{Getter: getter}
	dyn, mapper, err := cl.Dynamic()
	if err != nil {
		return nil, fmt.Errorf("--trust-policy=cluster: cannot connect to the cluster: %s; fix the kubeconfig, or give a TrustPolicy file", ErrorLine(err))
	}
	mapping, err := mapper.RESTMapping(cipKind, "v1beta1", "v1alpha1")
	switch {
	case meta.IsNoMatchError(err):
		return nil, errors.New("--trust-policy=cluster: the cluster serves no ClusterImagePolicy (policy.sigstore.dev v1beta1 or v1alpha1); install the sigstore policy-controller, or give a TrustPolicy file")
	case err != nil:
		return nil, fmt.Errorf("--trust-policy=cluster: cannot tell whether the cluster serves ClusterImagePolicies: %s", ErrorLine(err))
	}
	ctx, cancel := context.WithTimeout(context.Background(), clusterPolicyTimeout)
	defer cancel()
	list, err := dyn.Resource(mapping.Resource).List(ctx, metav1.ListOptions{})
	switch {
	case apierrors.IsForbidden(err):
		return nil, errors.New("--trust-policy=cluster: forbidden: reading the cluster's policies needs list on clusterimagepolicies.policy.sigstore.dev; ask for that permission, or write them into a TrustPolicy file")
	case err != nil:
		return nil, fmt.Errorf("--trust-policy=cluster: cannot list ClusterImagePolicies: %s", ErrorLine(err))
	}
	items := list.Items
	sort.Slice(items, func(i, j int) bool { return items[i].GetName() < items[j].GetName() })
	client, err := cl.Client()
	if err != nil {
		return nil, fmt.Errorf("--trust-policy=cluster: cannot connect to the cluster: %s", ErrorLine(err))
	}
	var policies []trustpolicy.ClusterPolicy
	var warnings []string
	keyless := false
	for _, item := range items {
		spec, _ := item.Object["spec"].(map[string]any)
		p, ws, ok := trustpolicy.ClusterPolicyFrom(item.GetName(), spec)
		warnings = append(warnings, ws...)
		if !ok {
			continue
		}
		for i := range p.Authorities {
			a := &p.Authorities[i]
			keyless = keyless || len(a.Keyless) > 0
			for j := range a.Keys {
				k := &a.Keys[j]
				if k.SecretRef == "" {
					continue
				}
				if k.PEM, err = policyControllerKey(ctx, client, ns, k.SecretRef); err != nil {
					return nil, fmt.Errorf("%s: spec.%s: %w", p.Rule(), k.Field, err)
				}
			}
		}
		policies = append(policies, p)
	}
	noMatch, w := noMatchPolicy(ctx, client, ns)
	if w != "" {
		warnings = append(warnings, w)
	}
	if len(items) == 0 {
		warnings = append(warnings, "--trust-policy=cluster: the cluster has no ClusterImagePolicy; policy-controller's no-match-policy ("+noMatch+") decides every image")
	}
	var trusted root.TrustedMaterial
	if keyless {
		if trusted, err = c.trustedRoot(); err != nil {
			return nil, fmt.Errorf("--trust-policy=cluster: a ClusterImagePolicy is keyless: %w", err)
		}
	}
	a, err := signature.FromCluster(policies, trusted, c.Attestations, noMatch)
	if err != nil {
		return nil, err
	}
	a.Warnings = warnings
	return a, nil
}

// policyControllerKey reads a key.secretRef Secret as policy-controller
// does: from its own namespace, its one data entry the PEM public key.
// Errors say what to do and never hold key material.
func policyControllerKey(ctx context.Context, client kubernetes.Interface, ns, name string) ([]byte, error) {
	s, err := client.CoreV1().Secrets(ns).Get(ctx, name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return nil, fmt.Errorf("no Secret %q in namespace %q, where policy-controller reads it; pass --policy-controller-namespace if it runs elsewhere", name, ns)
	case apierrors.IsForbidden(err):
		return nil, fmt.Errorf("forbidden: reading the key needs get on secrets in namespace %q; ask for that permission, or write the policies into a TrustPolicy file", ns)
	case err != nil:
		return nil, fmt.Errorf("cannot read Secret %s/%s: %s", ns, name, ErrorLine(err))
	}
	if len(s.Data) != 1 {
		keys := make([]string, 0, len(s.Data))
		for k := range s.Data {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		return nil, fmt.Errorf("secret %s/%s has %d data entries (%s); policy-controller wants exactly one, the PEM public key", ns, name, len(s.Data), strings.Join(keys, ", "))
	}
	for _, b := range s.Data {
		return b, nil
	}
	return nil, nil
}

// noMatchPolicy is policy-controller's no-match-policy, from its
// config-policy-controller ConfigMap: deny (its default, also for a
// missing ConfigMap or an unknown value), warn or allow. A ConfigMap that
// cannot be read is a warning, and deny.
func noMatchPolicy(ctx context.Context, client kubernetes.Interface, ns string) (string, string) {
	cm, err := client.CoreV1().ConfigMaps(ns).Get(ctx, "config-policy-controller", metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return signature.NoMatchDeny, ""
	case err != nil:
		return signature.NoMatchDeny, fmt.Sprintf("--trust-policy=cluster: cannot read ConfigMap %s/config-policy-controller (%s): images no ClusterImagePolicy matches are judged by policy-controller's default no-match-policy, deny", ns, Reason(err))
	}
	switch v := cm.Data["no-match-policy"]; v {
	case signature.NoMatchWarn, signature.NoMatchAllow:
		return v, ""
	}
	return signature.NoMatchDeny, ""
}
