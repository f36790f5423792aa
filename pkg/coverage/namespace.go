package coverage

import (
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/imgtrust/kubectl-imgtrust/pkg/pullsecret"
)

// namespaceFindings reports, per namespace: references to secrets that
// exist only in another namespace, service accounts naming missing
// secrets, and (when the whole namespace is in scope) unused pull secrets.
// Each missing name yields one finding. What cannot be read is a warning.
func namespaceFindings(in Input) ([]Finding, []string) {
	var findings []Finding
	var warnings []string
	namespaces := append([]string(nil), in.Namespaces...)
	sort.Strings(namespaces)
	for i, ns := range namespaces {
		if i > 0 && ns == namespaces[i-1] {
			continue
		}
		secretsErr, saErr := in.Store.SecretsError(ns), in.Store.ServiceAccountError(ns)
		if secretsErr != nil {
			warnings = append(warnings, fmt.Sprintf("cannot read secrets in namespace %s (%s): statuses that depend on them are unknown, and unused or missing secrets are not reported there", ns, reason(secretsErr)))
		}
		if saErr != nil {
			warnings = append(warnings, fmt.Sprintf("cannot read service accounts in namespace %s (%s): their pull secrets are not considered", ns, reason(saErr)))
		}
		if secretsErr != nil {
			continue
		}
		users := referrers(in, ns)
		names := make([]string, 0, len(users))
		for name := range users {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			if state, _, _ := in.Store.Secret(ns, name); state != pullsecret.SecretMissing {
				continue
			}
			if other := otherNamespaces(in.Elsewhere[name], ns); len(other) > 0 {
				findings = append(findings, Finding{
					Namespace: ns, Type: FindingOtherNamespace, Object: "secret/" + name,
					Detail: fmt.Sprintf("%s %s it, but it exists only in namespace %s: a pod can use only pull secrets of its own namespace",
						strings.Join(users[name], ", "), referVerb(len(users[name])), joinNamespaces(other)),
					Fix: copyCommand(name, other[0], ns),
				})
				continue
			}
			for _, u := range users[name] {
				if sa, ok := strings.CutPrefix(u, "serviceaccount/"); ok {
					findings = append(findings, Finding{
						Namespace: ns, Type: FindingServiceAccountNo, Object: u,
						Detail: fmt.Sprintf("service account %s names pull secret %s, which does not exist in %s: pods using it get no credential from it", sa, name, ns),
						Fix:    fmt.Sprintf("kubectl create secret docker-registry %s -n %s --docker-server=REGISTRY --docker-username=USER --docker-password=PASSWORD, or remove it from the service account: kubectl edit serviceaccount %s -n %s", name, ns, sa, ns),
					})
				}
			}
		}
		if in.WholeNamespaces && saErr == nil {
			for _, name := range in.Store.PullSecretNames(ns) {
				if _, used := users[name]; !used {
					findings = append(findings, Finding{
						Namespace: ns, Type: FindingUnused, Object: "secret/" + name,
						Detail: fmt.Sprintf("no pod template or service account in %s references this pull secret", ns),
						Fix:    fmt.Sprintf("reference it from imagePullSecrets of a pod template or service account, or delete it: kubectl delete secret %s -n %s", name, ns),
					})
				}
			}
		}
	}
	return findings, warnings
}

// referrers maps each secret name referenced in ns to its referrers:
// "deployment/web" for pod specs, "serviceaccount/default" for service
// accounts.
func referrers(in Input, ns string) map[string][]string {
	out := map[string][]string{}
	add := func(name, who string) {
		for _, x := range out[name] {
			if x == who {
				return
			}
		}
		out[name] = append(out[name], who)
	}
	for _, w := range in.Workloads {
		if w.Namespace != ns || w.Spec == nil {
			continue
		}
		for _, name := range w.Spec.PullSecrets {
			add(name, strings.ToLower(w.Kind)+"/"+w.Name)
		}
	}
	for _, sa := range in.Store.ServiceAccounts(ns) {
		names, _ := in.Store.ServiceAccountPullSecrets(ns, sa)
		for _, name := range names {
			add(name, "serviceaccount/"+sa)
		}
	}
	return out
}

func otherNamespaces(locs []pullsecret.Location, ns string) []pullsecret.Location {
	var out []pullsecret.Location
	for _, l := range locs {
		if l.Namespace != ns {
			out = append(out, l)
		}
	}
	return out
}

func joinNamespaces(locs []pullsecret.Location) string {
	names := make([]string, len(locs))
	for i, l := range locs {
		names[i] = l.Namespace
	}
	return strings.Join(names, ", ")
}

func referVerb(n int) string {
	if n == 1 {
		return "references"
	}
	return "reference"
}

// copyCommand copies a pull secret into another namespace without showing
// its content on the terminal.
func copyCommand(name string, from pullsecret.Location, to string) string {
	key, typ := corev1.DockerConfigJsonKey, corev1.SecretTypeDockerConfigJson
	if from.Type == corev1.SecretTypeDockercfg {
		key, typ = corev1.DockerConfigKey, corev1.SecretTypeDockercfg
	}
	jsonpathKey := strings.ReplaceAll(key, ".", `\.`)
	return fmt.Sprintf(`kubectl get secret %s -n %s -o jsonpath='{.data.%s}' | base64 -d | kubectl create secret generic %s -n %s --type=%s --from-file=%s=/dev/stdin`,
		name, from.Namespace, jsonpathKey, name, to, typ, key)
}

// MissingNames lists, sorted, the secret names that workloads or service
// accounts in the namespaces reference and that do not exist there: the
// caller looks them up in other namespaces (Input.Elsewhere).
func MissingNames(in Input) []string {
	set := map[string]bool{}
	for _, ns := range in.Namespaces {
		for name := range referrers(in, ns) {
			if state, _, _ := in.Store.Secret(ns, name); state == pullsecret.SecretMissing {
				set[name] = true
			}
		}
	}
	out := make([]string, 0, len(set))
	for name := range set {
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}
