package pipeline

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/imgtrust/kubectl-imgtrust/pkg/registry"
)

// ResolveConfig is what resolve asks of the registry, with Resolver: the
// Requests as given, then Images with the local docker config, then, when
// Clusters is set, the images of their workloads with their pods' pull
// secrets first (ImageRequests, WorkloadRequests).
type ResolveConfig struct {
	Resolver *registry.Resolver
	Requests []registry.Request
	Images   []string
	Clusters *Clusters
	// Warn hears what could not be read (docker config, pull secrets, a
	// lost context) before the registries are asked; nil drops it.
	Warn func(string)
}

// ResolveResult is one answer per image, sorted by image: the first
// success among its requests, else the first failure.
type ResolveResult struct {
	Results []registry.Result
	// Failed counts the results with an error.
	Failed int
	// Stats are the resolver's counters once every request is answered.
	Stats registry.Stats
	// ContextFailed: a context of Clusters could not be read at all (said
	// to Warn); the images of the others are resolved.
	ContextFailed bool
}

// Resolve builds the requests and resolves every one, each also tried
// anonymously after its credentials (an answer only that got carries a
// note saying a node's pull would fail), and keeps one result per image.
func Resolve(ctx context.Context, cfg ResolveConfig) (ResolveResult, error) {
	if cfg.Resolver == nil {
		return ResolveResult{}, errors.New("pipeline.Resolve: no resolver")
	}
	reqs, warnings, contextFailed, err := requests(ctx, cfg)
	if err != nil {
		return ResolveResult{}, err
	}
	for _, w := range warnings {
		if cfg.Warn != nil {
			cfg.Warn(w)
		}
	}
	for i := range reqs {
		reqs[i].Credentials = withAnonymousFallback(reqs[i].Credentials)
	}
	res := ResolveResult{Results: collapse(reqs, cfg.Resolver.ResolveAll(ctx, reqs)), ContextFailed: contextFailed}
	for i := range res.Results {
		noteKubeletFailure(&res.Results[i])
		if res.Results[i].Err != nil {
			res.Failed++
		}
	}
	res.Stats = cfg.Resolver.Stats()
	return res, nil
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
