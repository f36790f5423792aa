package pipeline

import (
	"context"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/imgtrust/kubectl-imgtrust/pkg/audit"
	"github.com/imgtrust/kubectl-imgtrust/pkg/provenance"
	"github.com/imgtrust/kubectl-imgtrust/pkg/registry"
)

// tagsJob is one tag listing: per (repository, credential) per run.
type tagsJob struct {
	key      string
	repo     name.Repository
	image    string // the first image asking: the listing draws from its lookup budget
	cred     registry.Credential
	tags     []string
	requests int
	err      *registry.Error
	reused   bool
}

// tagList is one listing's outcome, shared between clusters.
type tagList struct {
	tags     []string
	requests int
	err      *registry.Error
}

// findUpdates lists the tags of each repository whose items run a version
// tag, once, and adds what is newer than each item's tag.
func (s AuditStage) findUpdates(ctx context.Context, items []audit.Item, pending []int, reqs []registry.Request, results []registry.Result) {
	jobs := map[string]*tagsJob{}
	var order []*tagsJob
	perItem := make([]*tagsJob, len(pending))
	for n, i := range pending {
		it := &items[i]
		ref, ok := it.ParsedReference()
		if !ok || ref.Tag == "" {
			continue // digest only: there is no release to compare
		}
		if _, isVersion := provenance.ParseVersion(ref.Tag); !isVersion {
			audit.ApplyUpdates(it, provenance.Newer(ref.Tag, nil), "")
			continue // no listing for latest, dates and hashes
		}
		repo, err := s.Resolver.RepositoryOf(it.Image)
		if err != nil {
			continue
		}
		cred := registry.AcceptedCredential(reqs[n], results[n])
		key := repo.Name() + "\x00" + registry.CredentialKey(cred)
		j, ok := jobs[key]
		if !ok {
			j = &tagsJob{key: key, repo: repo, image: it.Image, cred: cred}
			jobs[key] = j
			order = append(order, j)
		}
		perItem[n] = j
	}
	perHost(order, func(j *tagsJob) string { return j.repo.RegistryStr() }, s.Concurrency, func(j *tagsJob) {
		var listed tagList
		listed, j.reused = once(s.Shared, "tags\x00"+j.key, func() tagList {
			tags, requests, err := s.Resolver.Artifacts(j.cred).ForImage(j.image).Tags(ctx, j.repo)
			return tagList{tags, requests, err}
		})
		j.tags, j.requests, j.err = listed.tags, listed.requests, listed.err
	})
	if s.Cost != nil {
		c := &audit.ReadCost{}
		for _, j := range order {
			if !j.reused { // another cluster's stage paid for it
				c.Lookups++
				c.Requests += j.requests
			}
		}
		s.Cost.Updates = c
	}
	for n, i := range pending {
		j := perItem[n]
		if j == nil {
			continue
		}
		ref, _ := items[i].ParsedReference()
		if j.err != nil {
			audit.ApplyUpdates(&items[i], provenance.Updates{Error: j.err.Error()}, ref.Tag)
			continue
		}
		audit.ApplyUpdates(&items[i], provenance.Newer(ref.Tag, j.tags), ref.Tag)
	}
}
