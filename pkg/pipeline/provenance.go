package pipeline

import (
	"context"
	"fmt"
	"sort"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/imgtrust/kubectl-imgtrust/pkg/audit"
	"github.com/imgtrust/kubectl-imgtrust/pkg/provenance"
	"github.com/imgtrust/kubectl-imgtrust/pkg/registry"
)

// provJob is one provenance read: per unique (repository, digest,
// credential, platform), never per pod.
type provJob struct {
	key      string
	image    string // the first item's image: the reads draw from its lookup budget
	repo     name.Repository
	digest   string
	cred     registry.Credential
	platform *v1.Platform
	attested []provenance.Attested
	res      provenance.Provenance
	reused   bool
}

// readProvenance reads the provenance of the first digest each item runs
// (mixed digests are a finding of their own) and adds the findings.
func (s AuditStage) readProvenance(ctx context.Context, client kubernetes.Interface, items []audit.Item, pending []int, reqs []registry.Request, results []registry.Result, attested map[string][]provenance.Attested) []string {
	platforms, warnings := s.nodePlatforms(ctx, client, items, pending)
	jobs := map[string]*provJob{}
	var order []*provJob
	perItem := make([]*provJob, len(pending))
	froms := make([]string, len(pending))
	for n, i := range pending {
		it := &items[i]
		repo, digests, from, cred, ok := s.digestsOf(it, reqs[n], results[n])
		if !ok {
			continue
		}
		platform := s.Platform
		if platform == nil {
			platform = firstPlatform(it.Nodes(), platforms)
		}
		key := digestKey(repo, digests[0], cred)
		if platform != nil {
			key += "\x00" + platform.String()
		}
		j, ok := jobs[key]
		if !ok {
			j = &provJob{key: key, image: it.Image, repo: repo, digest: digests[0], cred: cred, platform: platform, attested: attested[digestKey(repo, digests[0], cred)]}
			jobs[key] = j
			order = append(order, j)
		}
		perItem[n], froms[n] = j, from
	}
	perHost(order, func(j *provJob) string { return j.repo.RegistryStr() }, s.Concurrency, func(j *provJob) {
		type read struct {
			p      provenance.Provenance
			cached bool
		}
		r, reused := once(s.Shared, "provenance\x00"+j.key, func() read {
			p, cached := s.provenanceFact(j, func() provenance.Provenance {
				return provenance.Read(ctx, s.Resolver.Artifacts(j.cred).ForImage(j.image).ForDigest(j.repo.Digest(j.digest)), j.repo, j.digest, j.platform, j.attested)
			})
			return read{p, cached}
		})
		j.res, j.reused = r.p, reused || r.cached // a cached read cost this run nothing
	})
	if s.Cost != nil {
		c := &audit.ReadCost{}
		for _, j := range order {
			if !j.reused { // another cluster's stage paid for it
				c.Lookups++
				c.Requests += j.res.Requests
			}
		}
		s.Cost.Provenance = c
	}
	for n, i := range pending {
		if j := perItem[n]; j != nil {
			audit.ApplyProvenance(&items[i], j.res, froms[n], s.ProvenanceOptions)
		}
	}
	if s.ProvenanceOptions.MaxAge > 0 {
		unknown := 0
		for _, j := range order {
			if _, ok := j.res.CreatedTime(); !ok && j.res.Error == "" {
				unknown++
			}
		}
		if unknown > 0 {
			warnings = append(warnings, fmt.Sprintf("--max-age: the build time of %d of %d digests is unknown, so their age is not judged (provenance.note in -o json says why)", unknown, len(order)))
		}
	}
	return warnings
}

// nodePlatforms reads the os/arch of each node the items' pods run on,
// once per node: it picks the manifest of a multi-arch image they run.
func (s AuditStage) nodePlatforms(ctx context.Context, client kubernetes.Interface, items []audit.Item, pending []int) (map[string]*v1.Platform, []string) {
	out := map[string]*v1.Platform{}
	if s.Platform != nil || client == nil {
		return out, nil
	}
	var names []string
	for _, i := range pending {
		for _, node := range items[i].Nodes() {
			if _, ok := out[node]; !ok {
				out[node] = nil
				names = append(names, node)
			}
		}
	}
	sort.Strings(names)
	var warnings []string
	for _, node := range names {
		nd, err := client.CoreV1().Nodes().Get(ctx, node, metav1.GetOptions{})
		if err != nil {
			warnings = append(warnings, fmt.Sprintf("the platform of node %s is unknown (%s): multi-arch images are read only as far as their index; pass --platform", node, Reason(err)))
			break // one node unreadable: the rest are too, as a rule (RBAC)
		}
		info := nd.Status.NodeInfo
		if info.OperatingSystem != "" && info.Architecture != "" {
			out[node] = &v1.Platform{OS: info.OperatingSystem, Architecture: info.Architecture}
		}
	}
	return out, warnings
}

// firstPlatform is the platform of the first node with a known one.
func firstPlatform(nodes []string, platforms map[string]*v1.Platform) *v1.Platform {
	for _, n := range nodes {
		if p := platforms[n]; p != nil {
			return p
		}
	}
	return nil
}
