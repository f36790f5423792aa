package pipeline

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"golang.org/x/sync/errgroup"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"

	"github.com/imgtrust/kubectl-imgtrust/pkg/audit"
	"github.com/imgtrust/kubectl-imgtrust/pkg/registry"
	"github.com/imgtrust/kubectl-imgtrust/pkg/vulns"
	"github.com/imgtrust/kubectl-imgtrust/pkg/workload"
)

// vulnStage is one cluster's vulnerability reports, and what the registry
// said of the report digests that may be indexes of what runs.
type vulnStage struct {
	index *vulns.Index
	mu    sync.Mutex
	// platforms: index digest -> its manifests; unread: digest -> why its
	// manifest could not be read.
	platforms vulns.Platforms
	unread    map[string]string
}

// readVulnerabilities lists the scanners' reports in the audit's scope:
// every namespace with -A, else the namespaces of the workloads found.
func (cfg AuditConfig) readVulnerabilities(ctx context.Context, c Cluster, found *workload.Discovery) (*vulnStage, []string) {
	if len(found.Workloads) == 0 {
		return nil, nil
	}
	var namespaces []string
	if !found.ClusterWide {
		namespaces = found.Namespaces()
	}
	clients, err := c.vulnClients()
	st := &vulnStage{platforms: vulns.Platforms{}, unread: map[string]string{}}
	if err != nil {
		// Read nothing; every usage says why.
		st.index = vulns.Failed("cannot reach the API server for the vulnerability reports: " + err.Error())
		return st, nil
	}
	st.index = vulns.Read(ctx, clients, namespaces)
	warnings := st.index.Warnings
	if n := len(st.index.Skipped); n > 0 {
		names := make([]string, 0, 3)
		for _, s := range st.index.Skipped[:min(n, 3)] {
			names = append(names, s.String())
		}
		more := ""
		if n > 3 {
			more = fmt.Sprintf("; and %d more", n-3)
		}
		warnings = append(warnings, fmt.Sprintf("%d vulnerability reports skipped: %s%s", n, strings.Join(names, "; "), more))
	}
	return st, warnings
}

// vulnClients are the discovery, dynamic and metadata clients the
// reports and the ReplicaSets are read with.
func (c Cluster) vulnClients() (vulns.Clients, error) {
	cfg, err := c.Getter.ToRESTConfig()
	if err != nil {
		return vulns.Clients{}, err
	}
	typed, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return vulns.Clients{}, err
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return vulns.Clients{}, err
	}
	meta, err := metadata.NewForConfig(cfg)
	if err != nil {
		return vulns.Clients{}, err
	}
	return vulns.Clients{Discovery: typed.Discovery(), Dynamic: dyn, Metadata: meta}, nil
}

// indexJob is one manifest read of a report digest.
type indexJob struct {
	key    string
	digest string
	arts   *registry.Artifacts
	ref    name.Digest
}

// indexRead is what reading a report digest's manifest gave.
type indexRead struct {
	manifests []string
	err       string
}

// readIndexes reads, once per unique digest and credential, the manifest
// of each report digest filed under an item's workload that matches
// nothing the item runs: if it is an index listing the running digest,
// the scan is of the same image.
func (s AuditStage) readIndexes(ctx context.Context, items []audit.Item, pending []int, reqs []registry.Request, results []registry.Result) {
	st := s.vulns
	jobs := map[string]*indexJob{}
	var order []*indexJob
	for n, i := range pending {
		u := items[i].VulnerabilityUsage()
		if len(u.Digests) == 0 || st.index.Lookup(u, nil).Counts != nil {
			continue // nothing to compare, or a scan of what runs is known
		}
		repo, err := s.Resolver.RepositoryOf(items[i].Image)
		if err != nil {
			continue
		}
		cred := registry.AcceptedCredential(reqs[n], results[n])
		for _, d := range st.index.OtherDigests(u) {
			if res := results[n]; res.Digest == d && res.IndexManifests != nil {
				// The tag's index, already listed (tag-moved's check, --platform).
				st.platforms[d] = res.IndexManifests
				continue
			}
			key := digestKey(repo, d, cred)
			if _, ok := jobs[key]; !ok {
				j := &indexJob{key: key, digest: d, arts: s.Resolver.Artifacts(cred), ref: repo.Digest(d)}
				jobs[key] = j
				order = append(order, j)
			}
		}
	}
	var g errgroup.Group
	g.SetLimit(max(s.Concurrency, 1))
	for _, j := range order {
		g.Go(func() error {
			read, _ := once(s.Shared, "vulnindex\x00"+j.key, func() indexRead { return readIndex(ctx, j) })
			st.mu.Lock()
			defer st.mu.Unlock()
			if read.err != "" {
				st.unread[j.digest] = read.err
				return nil
			}
			st.platforms[j.digest] = read.manifests
			return nil
		})
	}
	_ = g.Wait()
}

func readIndex(ctx context.Context, j *indexJob) indexRead {
	desc, e := j.arts.Manifest(ctx, j.ref)
	if e != nil {
		return indexRead{err: e.Error()}
	}
	if !desc.MediaType.IsIndex() {
		return indexRead{} // an image: it lists no other manifest
	}
	idx, err := v1.ParseIndexManifest(bytes.NewReader(desc.Manifest))
	if err != nil {
		return indexRead{err: "the index " + j.digest + " does not parse"}
	}
	out := indexRead{}
	for _, m := range idx.Manifests {
		out.manifests = append(out.manifests, m.Digest.String())
	}
	return out
}

// apply joins every item to the reports.
func (st *vulnStage) apply(items []audit.Item, o audit.VulnerabilityOptions) {
	for i := range items {
		r := st.index.Lookup(items[i].VulnerabilityUsage(), st.platforms)
		if r.Match == vulns.MatchOther && st.unread[r.ScannedDigest] != "" {
			r.Note = "whether " + r.ScannedDigest + " is the index of what runs could not be read: " + st.unread[r.ScannedDigest]
		}
		if r.Counts == nil {
			r = withAttestation(&items[i], r)
		}
		r = withVEX(&items[i], r)
		r.SBOM = st.index.SBOM(items[i].VulnerabilityUsage(), st.platforms)
		if r.SBOM == nil {
			r.SBOM = sbomAttestation(&items[i])
		}
		audit.ApplyVulnerabilities(&items[i], r, o)
	}
}

// withAttestation is the second source: a cosign vulnerability attestation
// of the running digest, found by the signature lookup (no request of its
// own). It stands for the item when no report scanned what runs: of those
// read, the newest verified by its scan time (a later scan supersedes an
// earlier one), else the newest unverified, reported as unverified. One
// that does not parse is skipped with its reason, and attestations that
// could not be read make a lookup failure of what would be no data.
func withAttestation(it *audit.Item, r vulns.Result) vulns.Result {
	sig := it.Signature
	if sig == nil {
		return r
	}
	var best *vulns.Result
	var skipped []string
	for _, a := range sig.Attestations {
		if !vulns.IsCosignVuln(a.PredicateType) {
			continue
		}
		ar, err := vulns.FromAttestation(vulns.Attested{Digest: a.Digest, Statement: a.Statement, Verified: a.Verified, SignedBy: a.SignedBy, Problem: a.Problem})
		ar.ScannedDigest = sig.Digest
		if err != nil {
			skipped = append(skipped, "the cosign vuln attestation "+a.Digest+" was skipped: "+err.Error())
			continue
		}
		if best == nil || vulns.Newer(ar, *best) {
			best = &ar
		}
	}
	if best != nil {
		out := *best
		if sig.AttestationsError != "" {
			// A newer scan may be among those unread: say so.
			skipped = append(skipped, "some attestations could not be read ("+sig.AttestationsError+"): a newer scan may be among them")
		}
		if len(skipped) > 0 {
			out.Note = strings.Join(skipped, "; ")
		}
		return out
	}
	if len(skipped) > 0 {
		r.Note = strings.TrimPrefix(r.Note+"; ", "; ") + strings.Join(skipped, "; ")
		return r
	}
	if sig.AttestationsError != "" && r.Match == "" && r.Error == "" {
		r.Error = "the attestations could not be read: " + sig.AttestationsError
	}
	return r
}

// withVEX applies the OpenVEX attestations of the running digest found by
// the signature lookup (verified ones only; an unverified one is reported).
func withVEX(it *audit.Item, r vulns.Result) vulns.Result {
	sig := it.Signature
	if sig == nil {
		return r
	}
	var docs []vulns.VEXDoc
	for _, a := range sig.Attestations {
		if vulns.IsOpenVEX(a.PredicateType) {
			docs = append(docs, vulns.VEXDoc{Digest: a.Digest, Statement: a.Statement, Verified: a.Verified, SignedBy: a.SignedBy, Problem: a.Problem})
		}
	}
	return vulns.ApplyVEX(r, sig.Digest, docs)
}

// sbomAttestation is an SPDX or CycloneDX attestation of the running
// digest, found by the signature lookup: a verified one first.
func sbomAttestation(it *audit.Item) *vulns.SBOM {
	if it.Signature == nil {
		return nil
	}
	var found *vulns.SBOM
	for _, a := range it.Signature.Attestations {
		s := vulns.SBOMFromAttestation(a.PredicateType, vulns.Attested{Digest: a.Digest, Verified: a.Verified, SignedBy: a.SignedBy, Problem: a.Problem})
		if s != nil && (found == nil || *s.Verified && !*found.Verified) {
			found = s
		}
	}
	return found
}
