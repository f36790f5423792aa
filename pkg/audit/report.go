package audit

import (
	"sort"
	"strconv"

	"github.com/imgtrust/kubectl-imgtrust/pkg/workload"
)

// Report is the AuditReport object of -o json|yaml.
type Report struct {
	APIVersion string  `json:"apiVersion"`
	Kind       string  `json:"kind"`
	Items      []Item  `json:"items"`
	Summary    Summary `json:"summary"`
}

// Summary counts what the report holds.
type Summary struct {
	// Images is the number of distinct image references as written.
	Images int `json:"images"`
	// Workloads is the number of distinct workloads (namespace, kind, name).
	Workloads int `json:"workloads"`
	// Usages is the number of items (one per workload and container).
	Usages int `json:"usages"`
	// Findings counts findings by severity: high, medium, low.
	Findings map[Severity]int `json:"findings"`
	// ByID counts findings by ID.
	ByID map[string]int `json:"byID"`
	// Registry says whether registry rules ran: "online" or "offline".
	Registry string `json:"registry"`
	// Warnings name what could not be read; the items hold the rest.
	Warnings []string `json:"warnings,omitempty"`
	// InputErrors name -f inputs that could not be read or parsed (also
	// among the warnings): the report does not cover them.
	InputErrors []workload.InputError `json:"inputErrors,omitempty"`
	// Cost is what the optional registry reads cost (--provenance,
	// --max-age, --updates); nil when none ran.
	Cost *Cost `json:"cost,omitempty"`
	// Contexts are the per-context counts of a report of several
	// kubeconfig contexts; nil for one cluster.
	Contexts []ContextSummary `json:"contexts,omitempty"`
}

// Cost counts registry requests of the opt-in reads: manifest GETs count
// as pulls on Docker Hub.
type Cost struct {
	Provenance *ReadCost `json:"provenance,omitempty"`
	Updates    *ReadCost `json:"updates,omitempty"`
}

// Add sums two costs of the same reads (several clusters); either may be nil.
func (c *Cost) Add(other *Cost) *Cost {
	if other == nil {
		return c
	}
	if c == nil {
		c = &Cost{}
	}
	c.Provenance = c.Provenance.add(other.Provenance)
	c.Updates = c.Updates.add(other.Updates)
	return c
}

func (r *ReadCost) add(other *ReadCost) *ReadCost {
	if other == nil {
		return r
	}
	if r == nil {
		r = &ReadCost{}
	}
	r.Lookups += other.Lookups
	r.Requests += other.Requests
	return r
}

// ReadCost is how many digests (provenance) or repositories (updates)
// were read, with how many requests.
type ReadCost struct {
	Lookups  int `json:"lookups"`
	Requests int `json:"requests"`
}

// NewReport wraps items with their summary.
func NewReport(apiVersion string, items []Item, online bool, warnings []string) Report {
	if items == nil {
		items = []Item{}
	}
	s := Summary{
		Usages:   len(items),
		Findings: map[Severity]int{SeverityHigh: 0, SeverityMedium: 0, SeverityLow: 0},
		ByID:     map[string]int{},
		Registry: "offline",
		Warnings: warnings,
	}
	if online {
		s.Registry = "online"
	}
	images, workloads := map[string]bool{}, map[string]bool{}
	for i := range items {
		it := &items[i]
		if it.Findings == nil {
			it.Findings = []Finding{}
		}
		images[it.Image] = true
		// Manifests may hold two objects of one name (generateName, or
		// one per namespace-less document): each is its own workload.
		workloads[it.Namespace+"/"+it.Kind+"/"+it.Name+"/"+it.object.Source+"/"+strconv.Itoa(it.object.SourceLine)] = true
		for _, f := range it.Findings {
			s.Findings[f.Severity]++
			s.ByID[f.ID]++
		}
	}
	s.Images, s.Workloads = len(images), len(workloads)
	return Report{APIVersion: apiVersion, Kind: "AuditReport", Items: items, Summary: s}
}

// Exceeds reports whether any finding is at or above threshold; a threshold
// of none never is.
func (r Report) Exceeds(threshold Severity) bool {
	if threshold.Rank() == 0 {
		return false
	}
	for i := range r.Items {
		if r.Items[i].MaxSeverity().Rank() >= threshold.Rank() {
			return true
		}
	}
	return false
}

// FindingIDs returns the IDs present, worst severity first, then by name.
func (r Report) FindingIDs() []string {
	ids := make([]string, 0, len(r.Summary.ByID))
	for id := range r.Summary.ByID {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(a, b int) bool {
		ra, rb := SeverityOf(ids[a]).Rank(), SeverityOf(ids[b]).Rank()
		if ra != rb {
			return ra > rb
		}
		return ids[a] < ids[b]
	})
	return ids
}
