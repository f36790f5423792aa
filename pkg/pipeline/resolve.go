package pipeline

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/imgtrust/kubectl-imgtrust/pkg/registry"
	"github.com/imgtrust/kubectl-imgtrust/pkg/workload"
)

// ResolveConfig is what resolve asks of the registry: one request per
// image and credential context (ImageRequests, WorkloadRequests), sent
// with Resolver.
type ResolveConfig struct {
	Resolver *registry.Resolver
	Requests []registry.Request
}

// ResolveResult is one answer per image, sorted by image: the first
// success among its requests, else the first failure.
type ResolveResult struct {
	Results []registry.Result
	// Failed counts the results with an error.
	Failed int
	// Stats are the resolver's counters once every request is answered.
	Stats registry.Stats
}

// Resolve resolves every request, each also tried anonymously after its
// credentials (an answer only that got carries a note saying a node's pull
// would fail), and keeps one result per image.
func Resolve(ctx context.Context, cfg ResolveConfig) (ResolveResult, error) {
	if cfg.Resolver == nil {
		return ResolveResult{}, errors.New("pipeline.Resolve: no resolver")
	}
	reqs := make([]registry.Request, len(cfg.Requests))
	copy(reqs, cfg.Requests)
	for i := range reqs {
		reqs[i].Credentials = withAnonymousFallback(reqs[i].Credentials)
	}
	res := ResolveResult{Results: collapse(reqs, cfg.Resolver.ResolveAll(ctx, reqs))}
	for i := range res.Results {
		noteKubeletFailure(&res.Results[i])
		if res.Results[i].Err != nil {
			res.Failed++
		}
	}
	res.Stats = cfg.Resolver.Stats()
	return res, nil
}

// ImageRequests are the requests for IMAGE arguments, with the local
// docker config; warnings say what of it could not be read.
func ImageRequests(images []string) ([]registry.Request, []string) {
	var reqs []registry.Request
	var warnings []string
	plan := NewCredentialPlan(nil)
	for _, img := range images {
		creds, _, err := plan.For(workload.Object{}, img)
		if err != nil {
			warnings = append(warnings, err.Error())
		}
		reqs = append(reqs, registry.Request{Image: img, Credentials: creds})
	}
	return reqs, warnings
}

// WorkloadRequests are the requests for the images of workloads, each with
// the credentials plan gives its workload, one per image and credentials.
func WorkloadRequests(plan *CredentialPlan, workloads []workload.Workload) ([]registry.Request, []string) {
	var reqs []registry.Request
	var warnings []string
	seen, warned := map[string]bool{}, map[string]bool{}
	for _, w := range workloads {
		for _, u := range w.Containers {
			// No credentials and an error: the image does not parse, which
			// the resolver reports. Credentials and an error: the local
			// docker config could not be read, worth one warning.
			creds, _, err := plan.For(w.Object, u.Image)
			if err != nil && creds != nil && !warned[err.Error()] {
				warned[err.Error()] = true
				warnings = append(warnings, err.Error())
			}
			key := u.Image + "\x00" + CredentialsKey(creds)
			if seen[key] {
				continue
			}
			seen[key] = true
			reqs = append(reqs, registry.Request{Image: u.Image, Credentials: creds})
		}
	}
	return reqs, warnings
}

// withAnonymousFallback lets resolve answer even when every credential a
// node would use is refused: the kubelet stops there, resolve asks once
// more anonymously and says so (noteKubeletFailure).
func withAnonymousFallback(creds []registry.Credential) []registry.Credential {
	for _, c := range creds {
		if c.ID == registry.Anonymous.ID {
			return creds
		}
	}
	return append(creds, registry.Anonymous)
}

// noteKubeletFailure marks an answer that only the anonymous fallback got.
func noteKubeletFailure(r *registry.Result) {
	if r.Err != nil || r.CredentialSource != registry.Anonymous.Source || len(r.Refused) == 0 {
		return
	}
	note := fmt.Sprintf("the credentials a node would use were refused (%s); this digest came from an anonymous request, which the kubelet does not try once a credential matched, so a node's pull would fail", strings.Join(r.Refused, ", "))
	if r.Note != "" {
		note = r.Note + "; " + note
	}
	r.Note = note
}

// collapse keeps one result per image: the first success, else the first
// failure. Images used by several workloads were tried with each one's
// credentials.
func collapse(reqs []registry.Request, results []registry.Result) []registry.Result {
	best := map[string]int{}
	var order []string
	for i, r := range results {
		img := reqs[i].Image
		j, ok := best[img]
		switch {
		case !ok:
			best[img] = i
			order = append(order, img)
		case results[j].Err != nil && r.Err == nil:
			best[img] = i
		}
	}
	sort.Strings(order)
	out := make([]registry.Result, len(order))
	for i, img := range order {
		out[i] = results[best[img]]
	}
	return out
}
