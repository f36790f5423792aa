package coverage

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/imgtrust/kubectl-imgtrust/pkg/imageref"
	"github.com/imgtrust/kubectl-imgtrust/pkg/pullsecret"
	"github.com/imgtrust/kubectl-imgtrust/pkg/registry"
	"github.com/imgtrust/kubectl-imgtrust/pkg/workload"
)

// pulls maps an image ("registry/repo") to the nodes where pods that hold
// a credential for it run it, and those pods' workloads ("deployment/web
// -n shop"): the kubelet pulled it there with that credential, and the
// image sits in the node's cache for every other pod.
type pulls map[string]map[string][]string

// credentialedPulls finds, over every workload, the images run with a
// credential that matches them (and that --verify did not see refused).
func credentialedPulls(in Input, workloads []workload.Workload) pulls {
	out := pulls{}
	for _, w := range workloads {
		if w.Spec == nil || len(w.Nodes) == 0 {
			continue
		}
		ws := secretsOf(w, in.Store)
		if ws.unknown != "" || len(ws.failing) > 0 || len(ws.sources) == 0 {
			continue
		}
		keyring := pullsecret.NewKeyring(ws.sources...)
		for _, u := range w.Containers {
			if len(u.Running) == 0 {
				continue
			}
			ref, err := imageref.Parse(u.Image)
			if err != nil {
				continue
			}
			repo, err := registry.Repository(ref.Registry, ref.Repository, false)
			if err != nil {
				continue
			}
			matches := keyring.LookupRepository(repo)
			if len(matches) == 0 || in.allRefused(ref.Registry, matches) {
				continue
			}
			byNode := out[ref.Name()]
			if byNode == nil {
				byNode = map[string][]string{}
				out[ref.Name()] = byNode
			}
			for _, node := range w.Nodes {
				if !slices.Contains(byNode[node], w.Label()) {
					byNode[node] = append(byNode[node], w.Label())
				}
			}
		}
	}
	return out
}

// allRefused: --verify saw the registry refuse every matching credential.
func (in Input) allRefused(reg string, matches []pullsecret.Match) bool {
	if in.Verdicts == nil {
		return false
	}
	for _, m := range matches {
		if m.Empty {
			return false
		}
		if v, ok := in.Verdicts[credentialKey(reg, m.Credential)]; !ok || v.Result != registry.VerifyRejected {
			return false
		}
	}
	return true
}

// sharedNodes are the nodes of w where another workload's credential
// pulled image, sorted, with the workloads that did.
func (p pulls) sharedNodes(w workload.Workload, image string) ([]string, map[string][]string) {
	var nodes []string
	for _, node := range w.Nodes {
		if others := p[image][node]; len(others) > 0 && !(len(others) == 1 && others[0] == w.Label()) {
			nodes = append(nodes, node)
		}
	}
	sort.Strings(nodes)
	return nodes, p[image]
}

// CachedPullNodes lists, sorted, the nodes whose kubelet decides a
// cached-pull status: nodes where a workload runs an image none of its
// pull secrets covers while another workload's credential pulled it
// there. The caller reads only these nodes.
func CachedPullNodes(in Input) []string {
	p := credentialedPulls(in, in.Workloads)
	set := map[string]bool{}
	for _, w := range in.Workloads {
		if w.Spec == nil || len(w.Nodes) == 0 {
			continue
		}
		ws := secretsOf(w, in.Store)
		keyring := pullsecret.NewKeyring(ws.sources...)
		for _, u := range w.Containers {
			ref, err := imageref.Parse(u.Image)
			if err != nil || len(u.Running) == 0 {
				continue
			}
			repo, err := registry.Repository(ref.Registry, ref.Repository, false)
			if err != nil || len(keyring.LookupRepository(repo)) > 0 {
				continue
			}
			nodes, _ := p.sharedNodes(w, ref.Name())
			for _, n := range nodes {
				set[n] = true
			}
		}
	}
	out := make([]string, 0, len(set))
	for n := range set {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// onCachedPull judges a workload without a credential for a private image
// (the registry refused an anonymous pull) whose pods run it on nodes
// where another workload's credential pulled it. ok is false when no such
// node exists.
func (a assessor) onCachedPull(v verdict, reg, repo, refused string) (verdict, bool) {
	image := reg + "/" + repo
	nodes, by := a.pulls.sharedNodes(a.w, image)
	if len(nodes) == 0 {
		return v, false
	}
	var rechecks, shared, unknown []string
	for _, node := range nodes {
		c, why, note := a.in.Nodes.cachedPull(node, image)
		if note != "" && a.note != nil {
			a.note(note)
		}
		why = fmt.Sprintf("%s (pulled there by %s)", why, strings.Join(by[node], ", "))
		switch c {
		case cacheRechecks:
			rechecks = append(rechecks, why)
		case cacheShared:
			shared = append(shared, why)
		default:
			unknown = append(unknown, why)
		}
	}
	head := fmt.Sprintf("%s; no pull secret of this workload covers %s, so its pods run it only because another pod's credential pulled it onto their node", refused, image)
	if a.ws.source == pullsecret.KindServiceAccountSecret || a.w.Kind == "Pod" {
		head = fmt.Sprintf("%s; neither the pod nor service account %s has a pull secret for %s, so its pods run it only because another pod's credential pulled it onto their node", refused, a.ws.serviceAccount, image)
	}
	switch {
	case len(rechecks) > 0:
		v.status = RunsOnCachedPull
		v.detail = fmt.Sprintf("%s: %s; the next start of such a pod there fails (ErrImagePull): give it a pull secret for %s", head, strings.Join(rechecks, "; "), reg)
		if len(shared)+len(unknown) > 0 {
			v.detail += "; also " + strings.Join(append(shared, unknown...), "; ")
		}
	case len(shared) > 0:
		v.status = SharesCachedPull
		v.detail = fmt.Sprintf("%s: %s; a pod without access runs a private image: give it its own pull secret if it should run it, else turn on KubeletEnsureSecretPulledImages (1.35+ kubelets have it on)", head, strings.Join(shared, "; "))
		if len(unknown) > 0 {
			v.detail += "; also " + strings.Join(unknown, "; ")
		}
	default:
		v.status = Unknown
		v.detail = fmt.Sprintf("%s: %s", head, strings.Join(unknown, "; "))
	}
	return v, true
}
