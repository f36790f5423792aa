package coverage

import (
	"slices"
	"sort"
	"strings"

	"github.com/imgtrust/kubectl-imgtrust/pkg/imageref"
	"github.com/imgtrust/kubectl-imgtrust/pkg/pullsecret"
	"github.com/imgtrust/kubectl-imgtrust/pkg/workload"
)

// Result is what Evaluate found.
type Result struct {
	Rows     []Row
	Findings []Finding
	Warnings []string
}

// Evaluate computes one row per workload and registry, sorted by
// namespace, kind, name and registry, and the namespace-level findings.
func Evaluate(in Input) Result {
	var r Result
	notes := walk(in, nil, func(row Row) { r.Rows = append(r.Rows, row) })
	r.Findings, r.Warnings = namespaceFindings(in)
	r.Warnings = append(r.Warnings, notes...)
	return r
}

// Checks lists the registry checks --verify needs, each once: every
// credential that matches an image, and anonymous access where none does.
func Checks(in Input) []Check {
	in.Verdicts = nil
	var out []Check
	seen := map[CheckKey]bool{}
	walk(in, func(c Check) {
		if !seen[c.Key] {
			seen[c.Key] = true
			out = append(out, c)
		}
	}, func(Row) {})
	return out
}

// image is one repository a workload pulls from a registry.
type image struct {
	ref  imageref.Reference
	pods int // pods whose status says they run it
}

// walk assesses every workload and registry; need, when set, collects the
// registry checks instead of reading verdicts. It returns the assumptions
// verdicts rest on, each once.
func walk(in Input, need func(Check), emit func(Row)) []string {
	workloads := append([]workload.Workload(nil), in.Workloads...)
	sort.SliceStable(workloads, func(i, j int) bool {
		a, b := workloads[i], workloads[j]
		if a.Namespace != b.Namespace {
			return a.Namespace < b.Namespace
		}
		if a.Kind != b.Kind {
			return a.Kind < b.Kind
		}
		return a.Name < b.Name
	})
	var notes []string
	note := func(s string) {
		if !slices.Contains(notes, s) {
			notes = append(notes, s)
		}
	}
	p := credentialedPulls(in, workloads)
	for _, w := range workloads {
		byRegistry := imagesByRegistry(w)
		if len(byRegistry) == 0 {
			continue
		}
		ws := secretsOf(w, in.Store)
		a := assessor{in: in, w: w, ws: ws, keyring: pullsecret.NewKeyring(ws.sources...), need: need, pulls: p, note: note}
		registries := make([]string, 0, len(byRegistry))
		for reg := range byRegistry {
			registries = append(registries, reg)
		}
		sort.Strings(registries)
		for _, reg := range registries {
			var verdicts []verdict
			for _, img := range byRegistry[reg] {
				verdicts = append(verdicts, a.assess(img))
			}
			row := merge(verdicts)
			row.Namespace, row.Kind, row.Name, row.Registry = w.Namespace, w.Kind, w.Name, reg
			emit(row)
		}
	}
	return notes
}

// imagesByRegistry groups the workload's parsed images by registry, one
// entry per repository (the tag does not change which key matches).
// Images that do not parse are left to `kubectl imgtrust audit`.
func imagesByRegistry(w workload.Workload) map[string][]image {
	out := map[string][]image{}
	index := map[string]int{}
	for _, u := range w.Containers {
		ref, err := imageref.Parse(u.Image)
		if err != nil {
			continue
		}
		key := ref.Name()
		i, ok := index[key]
		if !ok {
			i = len(out[ref.Registry])
			index[key] = i
			out[ref.Registry] = append(out[ref.Registry], image{ref: ref})
		}
		out[ref.Registry][i].pods = max(out[ref.Registry][i].pods, len(u.Running))
	}
	return out
}

// merge turns the verdicts of one registry's images into a row: the most
// severe status, the union of secrets, and the details of the images with
// that status (prefixed by the repository when there are several images).
func merge(vs []verdict) Row {
	worst := vs[0].status
	for _, v := range vs[1:] {
		if v.status.rank() < worst.rank() {
			worst = v.status
		}
	}
	row := Row{Status: worst, Secrets: []SecretRef{}}
	seenSecret := map[SecretRef]bool{}
	seenDetail := map[string]bool{}
	var details []string
	for _, v := range vs {
		if v.status != worst {
			continue
		}
		for _, s := range v.secrets {
			if !seenSecret[s] {
				seenSecret[s] = true
				row.Secrets = append(row.Secrets, s)
			}
		}
		d := v.detail
		if len(vs) > 1 {
			d = v.repo + ": " + d
		}
		if !seenDetail[d] {
			seenDetail[d] = true
			details = append(details, d)
		}
	}
	row.Detail = strings.Join(details, "; ")
	return row
}
