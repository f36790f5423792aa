package audit

// ContextSummary is one kubeconfig context's share of a report of several
// (audit --contexts, --all-contexts).
type ContextSummary struct {
	Name      string           `json:"name"`
	Workloads int              `json:"workloads"`
	Usages    int              `json:"usages"`
	Findings  map[Severity]int `json:"findings"`
	// Error says why the context could not be audited at all; its other
	// counts are then zero.
	Error string `json:"error,omitempty"`
}

// SummarizeContexts counts the items of each context, in the order of
// names; failed holds the contexts that could not be read, and why.
func SummarizeContexts(items []Item, names []string, failed map[string]string) []ContextSummary {
	out := make([]ContextSummary, len(names))
	index := map[string]int{}
	workloads := make([]map[string]bool, len(names))
	for i, name := range names {
		out[i] = ContextSummary{Name: name, Error: failed[name],
			Findings: map[Severity]int{SeverityHigh: 0, SeverityMedium: 0, SeverityLow: 0}}
		index[name] = i
		workloads[i] = map[string]bool{}
	}
	for _, it := range items {
		i, ok := index[it.Context]
		if !ok {
			continue
		}
		out[i].Usages++
		workloads[i][it.Namespace+"/"+it.Kind+"/"+it.Name] = true
		for _, f := range it.Findings {
			out[i].Findings[f.Severity]++
		}
	}
	for i := range out {
		out[i].Workloads = len(workloads[i])
	}
	return out
}
