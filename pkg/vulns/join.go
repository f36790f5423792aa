package vulns

import (
	"slices"
	"strings"
	"time"
)

// Usage is one container of one workload and the digests it runs.
type Usage struct {
	Namespace, Kind, Name, Container string
	// Repository is normalised as go-containerregistry spells it.
	Repository string
	// Digests are the manifest digests the pods run (else the one the
	// spec names, else the one its tag resolves to).
	Digests []string
	// ConfigDigests are bare config digests some runtimes report; older
	// operators recorded the config digest as the artifact's.
	ConfigDigests []string
}

// How a scan relates to what runs.
const (
	MatchRunning  = "running" // the scan is of a digest that runs
	MatchIndex    = "index"   // of the index whose platform manifest runs
	MatchConfig   = "config"  // of the config digest the runtime reports
	MatchOther    = "other-digest"
	MatchNotFound = ""
)

// Result is what the reports say of one usage. Its JSON is part of the
// AuditReport contract.
type Result struct {
	// Source names the report: "VulnerabilityReport NS/NAME".
	Source  string `json:"source,omitempty"`
	Scanner string `json:"scanner,omitempty"`
	// ScannedDigest is the digest the scan was of; Match how it relates
	// to what runs.
	ScannedDigest string `json:"scannedDigest,omitempty"`
	Match         string `json:"match,omitempty"`
	ScannedAt     string `json:"scannedAt,omitempty"`
	// Counts are given for a scan of what runs only.
	Counts *Counts `json:"counts,omitempty"`
	// Verified and SignedBy, for an attestation: whether an authority
	// given verified it, and who signed it.
	Verified *bool  `json:"verified,omitempty"`
	SignedBy string `json:"signedBy,omitempty"`
	// SBOM is where a bill of materials of what runs is, when one is.
	SBOM *SBOM `json:"sbom,omitempty"`
	// VEX is the OpenVEX attestations of what runs and what a verified
	// one took out of Counts.
	VEX *VEX `json:"vex,omitempty"`
	// Note says why there is nothing, when that is known.
	Note string `json:"note,omitempty"`
	// Error says why the reports could not be read: no fact about the image.
	Error string `json:"error,omitempty"`

	scannedAt time.Time
	// vulns is what the scan lists, for ApplyVEX.
	vulns []Vuln
	// unread names the report filed under the usage that could not be
	// read, when that is the Error.
	unread string
	// newest is when the newest qualifying scan of what runs was made,
	// when the worst counts stand from an older one.
	newest time.Time
}

// NewestScanTime is when the newest scan of what runs was made: the worst
// counts may come from an older report of the same digest, and a scan is
// only as old as the newest one.
func (r Result) NewestScanTime() time.Time {
	if r.newest.After(r.scannedAt) {
		return r.newest
	}
	return r.scannedAt
}

// UnreadReport names the report ("VulnerabilityReport NS/NAME") whose
// parse failure is the Error; "" when the Error is another.
func (r Result) UnreadReport() string { return r.unread }

// Known reports whether the result holds anything to say: a source, an
// SBOM, a note or an error. An empty one is left out of the AuditReport
// (its finding says why).
func (r Result) Known() bool {
	return r.Source != "" || r.ScannedDigest != "" || r.Counts != nil || r.SBOM != nil || r.VEX != nil || r.Note != "" || r.Error != ""
}

// ScannedTime is when the scan was made.
func (r Result) ScannedTime() time.Time { return r.scannedAt }

// Platforms maps an index digest to the manifest digests it lists.
type Platforms map[string][]string

// OtherDigests are the digests of the reports filed under the usage's
// workload and container, of its repository, that match nothing it runs:
// the ones that may be an index of what runs, whose manifest the caller
// reads once into Platforms.
func (ix *Index) OtherDigests(u Usage) []string {
	var out []string
	for _, i := range ix.candidates(u, nil) {
		r := ix.Reports[i]
		if ix.filedUnder(r, u) && r.Repository == u.Repository && !slices.Contains(u.Digests, r.Digest) && !slices.Contains(u.ConfigDigests, r.Digest) && !slices.Contains(out, r.Digest) {
			out = append(out, r.Digest)
		}
	}
	return out
}

// Lookup finds the scan of what the usage runs among the reports that
// speak for it: those filed under its workload and container (a
// Deployment's under its ReplicaSets) and the ClusterVulnerabilityReports.
// Whoever may write VulnerabilityReports in some namespace could file one
// of any digest there, so a report filed elsewhere never masks this
// workload's. When several of what runs qualify, the worst counts stand
// (the newest on a tie). Else the newest scan of another digest of its
// repository filed under its workload. A report filed under it that could
// not be read makes a lookup failure of what would be no scan.
func (ix *Index) Lookup(u Usage, platforms Platforms) Result {
	var match, other *Report
	var newest time.Time
	matchKind := ""
	for _, i := range ix.candidates(u, platforms) {
		r := &ix.Reports[i]
		filed := ix.filedUnder(*r, u)
		if kind := matchOf(r.Digest, u, platforms); kind != "" && (filed || r.Namespace == "") {
			if match == nil || worse(*r, *match) {
				match, matchKind = r, kind
			}
			if r.ScannedAt.After(newest) {
				newest = r.ScannedAt
			}
			continue
		}
		if filed && r.Repository == u.Repository && (other == nil || r.ScannedAt.After(other.ScannedAt)) {
			other = r
		}
	}
	if match != nil {
		res := result(*match, matchKind)
		c := match.Counts
		res.Counts, res.vulns, res.newest = &c, match.Vulns, newest
		return res
	}
	if msg := ix.Failure(u.Namespace, u.Kind); msg != "" {
		return Result{Error: msg}
	}
	if msg, ref := ix.unreadFor(u); msg != "" {
		return Result{Error: msg, unread: ref}
	}
	if other != nil {
		return result(*other, MatchOther)
	}
	if !ix.Served {
		return Result{Note: "the cluster serves no VulnerabilityReports (" + GroupVersion + "): no Trivy Operator"}
	}
	return Result{}
}

// worse reports whether a's counts are worse than b's: more at the worst
// severity where they differ; the newer scan on a tie.
func worse(a, b Report) bool {
	x, y := a.Counts, b.Counts
	for _, d := range [][2]int{{x.Critical, y.Critical}, {x.High, y.High}, {x.Medium, y.Medium}, {x.Low, y.Low}, {x.Unknown, y.Unknown}} {
		if d[0] != d[1] {
			return d[0] > d[1]
		}
	}
	return a.ScannedAt.After(b.ScannedAt)
}

// unreadFor names the reports filed under u that could not be read, and
// why: one of them may be the scan of what runs.
func (ix *Index) unreadFor(u Usage) (msg, first string) {
	var out []string
	for _, s := range ix.skippedReports {
		if ix.filedUnder(s.report(), u) {
			if first == "" {
				first = s.Ref
			}
			out = append(out, s.String())
		}
	}
	if len(out) == 0 {
		return "", ""
	}
	return "a report filed under it could not be read (" + strings.Join(out, "; ") + ")", first
}

func result(r Report, kind string) Result {
	return Result{
		Source: r.Ref(), Scanner: r.Scanner, ScannedDigest: r.Digest, Match: kind,
		ScannedAt: r.ScannedAt.UTC().Format(time.RFC3339), scannedAt: r.ScannedAt,
	}
}

func matchOf(digest string, u Usage, platforms Platforms) string {
	switch {
	case slices.Contains(u.Digests, digest):
		return MatchRunning
	case slices.Contains(u.ConfigDigests, digest):
		return MatchConfig
	}
	for _, d := range platforms[digest] {
		if slices.Contains(u.Digests, d) {
			return MatchIndex
		}
	}
	return ""
}

// filedUnder reports whether the operator filed r under u's workload and
// container: a Deployment's pods under its ReplicaSets, a CronJob's under
// the CronJob, every other kind under itself.
func (ix *Index) filedUnder(r Report, u Usage) bool {
	if r.Namespace == "" || r.Namespace != u.Namespace || r.OwnerNamespace != u.Namespace || r.Container != u.Container {
		return false
	}
	if u.Kind == "Deployment" && r.OwnerKind == "ReplicaSet" {
		return ix.owners[r.Namespace+"/"+r.OwnerName] == u.Name
	}
	return r.OwnerKind == u.Kind && r.OwnerName == u.Name
}

// candidates are the reports that may concern u, in report order: those
// of its digests (or of an index listing one) and those filed in its
// namespace for its container. The maps are built on first use, so a
// large cluster is not joined in items × reports.
func (ix *Index) candidates(u Usage, platforms Platforms) []int {
	if ix.byDigest == nil {
		ix.byDigest, ix.byContainer = map[string][]int{}, map[string][]int{}
		for i, r := range ix.Reports {
			ix.byDigest[r.Digest] = append(ix.byDigest[r.Digest], i)
			if r.Namespace != "" {
				k := r.Namespace + "/" + r.Container
				ix.byContainer[k] = append(ix.byContainer[k], i)
			}
		}
	}
	seen := map[int]bool{}
	var out []int
	add := func(is []int) {
		for _, i := range is {
			if !seen[i] {
				seen[i] = true
				out = append(out, i)
			}
		}
	}
	for _, d := range u.Digests {
		add(ix.byDigest[d])
	}
	for _, d := range u.ConfigDigests {
		add(ix.byDigest[d])
	}
	for index, manifests := range platforms {
		for _, d := range u.Digests {
			if slices.Contains(manifests, d) {
				add(ix.byDigest[index])
			}
		}
	}
	add(ix.byContainer[u.Namespace+"/"+u.Container])
	slices.Sort(out)
	return out
}
