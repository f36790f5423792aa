package pipeline

import (
	"context"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/imgtrust/kubectl-imgtrust/pkg/audit"
	"github.com/imgtrust/kubectl-imgtrust/pkg/registry"
)

// tagIndexJob is one read of the index a tag points at: per unique
// (repository, digest, credential).
type tagIndexJob struct {
	key, image string
	ref        name.Digest
	cred       registry.Credential
	read       tagIndexRead
}

type tagIndexRead struct {
	manifests []string
	err       *registry.Error
}

// readTagIndexes lists, into results, the manifests of each index a tag
// or pinned digest points at when a pod of its item runs another digest:
// pods may run one of its platform manifests (CRI-O reports that digest),
// which is no tag move, no mix and no drift from the spec. Only then is it
// read, once per run (the resolver's HEAD gave the media type; with
// --platform its GET listed them already).
func (s AuditStage) readTagIndexes(ctx context.Context, items []audit.Item, pending []int, reqs []registry.Request, results []registry.Result) {
	jobs := map[string]*tagIndexJob{}
	var order []*tagIndexJob
	per := map[int]*tagIndexJob{}
	for n, i := range pending {
		res := results[n]
		if !items[i].RunsOtherThanResolved(res) || !types.MediaType(res.MediaType).IsIndex() || res.IndexManifests != nil {
			continue
		}
		repo, err := s.Resolver.RepositoryOf(items[i].Image)
		if err != nil {
			continue
		}
		cred := registry.AcceptedCredential(reqs[n], res)
		key := digestKey(repo, res.Digest, cred)
		j, ok := jobs[key]
		if !ok {
			j = &tagIndexJob{key: key, image: items[i].Image, ref: repo.Digest(res.Digest), cred: cred}
			jobs[key] = j
			order = append(order, j)
		}
		per[n] = j
	}
	perHost(order, func(j *tagIndexJob) string { return j.ref.RegistryStr() }, s.Concurrency, func(j *tagIndexJob) {
		j.read, _ = once(s.Shared, "tagindex\x00"+j.key, func() tagIndexRead {
			return s.indexFact(j, func() tagIndexRead {
				m, e := s.Resolver.Artifacts(j.cred).ForImage(j.image).IndexManifests(ctx, j.ref)
				return tagIndexRead{manifests: m, err: e}
			})
		})
	})
	for n, j := range per {
		results[n].IndexManifests, results[n].IndexError = j.read.manifests, j.read.err
		if j.read.err == nil && j.read.manifests == nil {
			results[n].IndexManifests = []string{} // read: lists none
		}
	}
}
