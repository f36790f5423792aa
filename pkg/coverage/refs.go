package coverage

import (
	"fmt"
	"strings"

	"github.com/imgtrust/kubectl-imgtrust/pkg/pullsecret"
	"github.com/imgtrust/kubectl-imgtrust/pkg/workload"
)

// workloadSecrets is what a workload's pull-secret references amount to.
type workloadSecrets struct {
	ns             string
	source         string // pullsecret.KindPodSecret or KindServiceAccountSecret
	serviceAccount string
	names          []string
	sources        []pullsecret.Source
	usable         []SecretRef
	missing        []SecretRef
	invalid        []SecretRef
	invalidWhy     []string
	// failing are secrets the kubelet's decoder rejects: every pull fails.
	failing    []SecretRef
	failingWhy []string
	// unknown says why the references cannot be judged ("" when they can).
	unknown string
	// notes are problems of usable secrets worth showing, e.g. entries
	// the kubelet keeps as empty credentials or keys naming no host.
	notes []string
}

// secretsOf applies the ServiceAccount admission rule for templates: a
// pod's own imagePullSecrets, or else its service account's. A Pod that
// exists has only its own: the rule ran when it was created.
func secretsOf(w workload.Workload, store Store) workloadSecrets {
	ws := workloadSecrets{ns: w.Namespace, source: pullsecret.KindPodSecret}
	if w.Spec == nil {
		return ws
	}
	ws.serviceAccount = w.Spec.ServiceAccount
	if ws.serviceAccount == "" {
		ws.serviceAccount = "default"
	}
	ws.names = w.Spec.PullSecrets
	if len(ws.names) == 0 && w.Kind != "Pod" {
		ws.source = pullsecret.KindServiceAccountSecret
		if err := store.ServiceAccountError(w.Namespace); err != nil {
			ws.unknown = fmt.Sprintf("cannot read service accounts in %s (%s): the pull secrets of service account %s are unknown", w.Namespace, reason(err), ws.serviceAccount)
			return ws
		}
		ws.names, _ = store.ServiceAccountPullSecrets(w.Namespace, ws.serviceAccount)
	}
	if len(ws.names) > 0 {
		if err := store.SecretsError(w.Namespace); err != nil {
			ws.unknown = fmt.Sprintf("cannot read secrets in %s (%s): cannot tell whether %s cover this registry", w.Namespace, reason(err), strings.Join(ws.labels(ws.names), ", "))
			return ws
		}
	}
	for _, name := range ws.names {
		ref := SecretRef{Name: name, Source: ws.source}
		state, sec, inv := store.Secret(w.Namespace, name)
		switch state {
		case pullsecret.SecretUsable:
			ws.usable = append(ws.usable, ref)
			ws.sources = append(ws.sources, pullsecret.Source{Kind: ws.source, Secret: sec})
			if sec.FailsPulls {
				ws.failing = append(ws.failing, ref)
				ws.failingWhy = append(ws.failingWhy, fmt.Sprintf("%s: %s", name, strings.Join(sec.Problems, "; ")))
			} else if len(sec.Problems) > 0 {
				ws.notes = append(ws.notes, fmt.Sprintf("%s: %s", name, strings.Join(sec.Problems, "; ")))
			}
		case pullsecret.SecretInvalid:
			if inv.FailsPulls {
				ws.failing = append(ws.failing, ref)
				ws.failingWhy = append(ws.failingWhy, fmt.Sprintf("%s: %s", name, inv.Reason))
			} else {
				ws.invalid = append(ws.invalid, ref)
				ws.invalidWhy = append(ws.invalidWhy, fmt.Sprintf("%s: %s", name, inv.Reason))
			}
		case pullsecret.SecretMissing:
			ws.missing = append(ws.missing, ref)
		default:
			ws.unknown = fmt.Sprintf("cannot read secret %s in %s", name, w.Namespace)
		}
	}
	return ws
}

// labels names secrets for details: "regcred", or "regcred (service
// account builder)" when they come from the service account.
func (ws workloadSecrets) labels(names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = n
		if ws.source == pullsecret.KindServiceAccountSecret {
			out[i] = fmt.Sprintf("%s (from service account %s)", n, ws.serviceAccount)
		}
	}
	return out
}

func refNames(refs []SecretRef) []string {
	out := make([]string, len(refs))
	for i, r := range refs {
		out[i] = r.Name
	}
	return out
}
