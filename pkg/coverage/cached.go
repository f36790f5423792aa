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

// pulls maps an image ("registry/repo") to the workloads whose pods run
// it with a credential that matches it: the kubelet pulled it onto their
// nodes with that credential, and it sits in the node's cache for every
// other pod.
type pulls map[string][]holder

// holder is one such workload.
type holder struct {
	label   string   // "deployment/web -n shop"
	nodes   []string // where its pods run
	digests []string // what its pods' statuses say they run
}

// credentialedPulls finds, over every workload, the images run with a
// real credential that matches them (and that --verify did not see
// refused).
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
		seen := map[string]bool{}
		for _, u := range w.Containers {
			if len(u.Running) == 0 {
				continue
			}
			ref, err := imageref.Parse(u.Image)
			if err != nil || seen[ref.Name()] {
				continue
			}
			repo, err := registry.Repository(ref.Registry, ref.Repository, false)
			if err != nil || !in.usableMatch(ref.Registry, keyring.LookupRepository(repo)) {
				continue
			}
			seen[ref.Name()] = true
			out[ref.Name()] = append(out[ref.Name()], holder{label: w.Label(), nodes: w.Nodes, digests: runningDigests(w, ref.Name())})
		}
	}
	return out
}

// usableMatch: some match is a real credential (not an empty entry, which
// pulls anonymously) that --verify did not see refused.
func (in Input) usableMatch(reg string, matches []pullsecret.Match) bool {
	for _, m := range matches {
		if m.Empty {
			continue
		}
		if in.Verdicts == nil {
			return true
		}
		if v, ok := in.Verdicts[credentialKey(reg, m.Credential)]; !ok || v.Result != registry.VerifyRejected {
			return true
		}
	}
	return false
}

// runningDigests are the distinct digests w's pods run for image.
func runningDigests(w workload.Workload, image string) []string {
	var out []string
	for _, u := range w.Containers {
		ref, err := imageref.Parse(u.Image)
		if err != nil || ref.Name() != image {
			continue
		}
		for _, r := range u.Running {
			if r.Digest != "" && !slices.Contains(out, r.Digest) {
				out = append(out, r.Digest)
			}
		}
	}
	return out
}

// sharedNodes are the nodes of w where another workload's credential
// pulled image, sorted, with the workloads that did. When both sides'
// pod statuses name digests, they must share one: another digest of the
// repository is another image, which that credential did not pull.
func (p pulls) sharedNodes(w workload.Workload, image string) ([]string, map[string][]string) {
	mine := runningDigests(w, image)
	by := map[string][]string{}
	for _, h := range p[image] {
		if h.label == w.Label() {
			continue
		}
		if len(mine) > 0 && len(h.digests) > 0 && !slices.ContainsFunc(mine, func(d string) bool { return slices.Contains(h.digests, d) }) {
			continue
		}
		for _, node := range h.nodes {
			if slices.Contains(w.Nodes, node) {
				by[node] = append(by[node], h.label)
			}
		}
	}
	nodes := make([]string, 0, len(by))
	for node := range by {
		nodes = append(nodes, node)
	}
	sort.Strings(nodes)
	return nodes, by
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
