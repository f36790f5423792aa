package pipeline

import (
	"context"

	"github.com/imgtrust/kubectl-imgtrust/pkg/registry"
	"github.com/imgtrust/kubectl-imgtrust/pkg/workload"
)

// requests builds one request per image and credential context: the
// given requests, IMAGE arguments with the local docker config, workload
// images with their pods' pull secrets first. failed says a context could
// not be read; one cluster that cannot be read is an error.
func requests(ctx context.Context, cfg ResolveConfig) (reqs []registry.Request, warnings []string, failed bool, err error) {
	reqs = append(reqs, cfg.Requests...)
	images, warnings := ImageRequests(cfg.Images)
	reqs = append(reqs, images...)
	switch {
	case cfg.Clusters == nil:
		return reqs, warnings, false, nil
	case !cfg.Clusters.Several():
		one, err := clusterRequests(ctx, cfg.Clusters.Cluster)
		return append(reqs, one.reqs...), append(warnings, one.warnings...), false, err
	}
	// Every context's images with that cluster's pull secrets, resolved
	// together: an image several clusters run is one answer.
	more, failed := gatherContexts(ctx, *cfg.Clusters, clusterRequests, func(_ string, one clusterImages) []string {
		reqs = append(reqs, one.reqs...)
		return one.warnings
	})
	return reqs, append(warnings, more...), failed, nil
}

// clusterImages are one cluster's registry requests and what could not be
// read there.
type clusterImages struct {
	reqs     []registry.Request
	warnings []string
}

// clusterRequests are the requests for the images of one cluster's
// workloads, each with its pods' pull secrets first.
func clusterRequests(ctx context.Context, c Cluster) (clusterImages, error) {
	var warnings []string
	plan := NewCredentialPlan(nil)
	found, err := c.Discover(ctx)
	if err != nil {
		return clusterImages{}, err
	}
	warnings = append(warnings, found.Warnings...)
	if !c.Scope.Offline() {
		var storeWarnings []string
		if plan, storeWarnings, err = c.Credentials(ctx, found); err != nil {
			return clusterImages{}, err
		}
		warnings = append(warnings, storeWarnings...)
	}
	reqs, more := WorkloadRequests(plan, found.Workloads)
	return clusterImages{reqs: reqs, warnings: append(warnings, more...)}, nil
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
