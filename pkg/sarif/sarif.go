// Package sarif writes audit reports as SARIF 2.1.0, the format GitHub code
// scanning and other security dashboards read: one rule per finding ID, one
// result per finding, pointing at the manifest line of the image (-f) or at
// the workload's container (live).
package sarif

import (
	"crypto/sha256"
	"encoding/hex"
	"net/url"
	"path/filepath"
	"sort"
	"strings"

	"github.com/imgtrust/kubectl-imgtrust/pkg/audit"
	"github.com/imgtrust/kubectl-imgtrust/pkg/workload"
)

// Schema and version of the log.
const (
	SchemaURI = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
	Version   = "2.1.0"
	infoURI   = "https://github.com/imgtrust/kubectl-imgtrust"
	// fingerprintKey names our partial fingerprint, versioned so that a
	// change of what it hashes starts a new series instead of mismatching.
	fingerprintKey = "imgtrustFinding/v1"
)

// Our own small types: the fields we write, nothing that defaults wrongly
// (a zero index or offset means something in SARIF).
type (
	Log struct {
		Schema  string `json:"$schema"`
		Version string `json:"version"`
		Runs    []Run  `json:"runs"`
	}
	Run struct {
		Tool        Tool         `json:"tool"`
		Invocations []Invocation `json:"invocations,omitempty"`
		// OriginalURIBaseIDs says where %SRCROOT% is, for relative URIs.
		OriginalURIBaseIDs map[string]ArtifactLocation `json:"originalUriBaseIds,omitempty"`
		// ColumnKind is the unit of region columns.
		ColumnKind string   `json:"columnKind,omitempty"`
		Results    []Result `json:"results"`
	}
	Invocation struct {
		ExecutionSuccessful        bool           `json:"executionSuccessful"`
		ToolExecutionNotifications []Notification `json:"toolExecutionNotifications,omitempty"`
	}
	Notification struct {
		Level     string     `json:"level"`
		Message   Text       `json:"message"`
		Locations []Location `json:"locations,omitempty"`
	}
	Tool struct {
		Driver Driver `json:"driver"`
	}
	Driver struct {
		Name           string `json:"name"`
		Version        string `json:"version,omitempty"`
		InformationURI string `json:"informationUri"`
		Rules          []Rule `json:"rules"`
	}
	Rule struct {
		ID                   string       `json:"id"`
		ShortDescription     Text         `json:"shortDescription"`
		FullDescription      Text         `json:"fullDescription"`
		Help                 Text         `json:"help"`
		DefaultConfiguration Config       `json:"defaultConfiguration"`
		Properties           RuleProperty `json:"properties"`
	}
	Text struct {
		Text string `json:"text"`
	}
	Config struct {
		Level string `json:"level"`
	}
	RuleProperty struct {
		Tags     []string `json:"tags"`
		Severity string   `json:"security-severity"`
	}
	Result struct {
		RuleID              string            `json:"ruleId"`
		Level               string            `json:"level"`
		Message             Text              `json:"message"`
		Locations           []Location        `json:"locations"`
		PartialFingerprints map[string]string `json:"partialFingerprints"`
		Properties          ResultProperty    `json:"properties"`
	}
	ResultProperty struct {
		Image    string `json:"image,omitempty"`
		Digest   string `json:"digest,omitempty"`
		Registry string `json:"registry,omitempty"`
	}
	Location struct {
		PhysicalLocation *PhysicalLocation `json:"physicalLocation,omitempty"`
		LogicalLocations []LogicalLocation `json:"logicalLocations,omitempty"`
	}
	PhysicalLocation struct {
		ArtifactLocation ArtifactLocation `json:"artifactLocation"`
		Region           *Region          `json:"region,omitempty"`
	}
	ArtifactLocation struct {
		URI       string `json:"uri"`
		URIBaseID string `json:"uriBaseId,omitempty"`
	}
	Region struct {
		StartLine   int `json:"startLine"`
		StartColumn int `json:"startColumn,omitempty"`
	}
	LogicalLocation struct {
		Name               string `json:"name"`
		FullyQualifiedName string `json:"fullyQualifiedName"`
		Kind               string `json:"kind"`
	}
)

// levels maps our severities to SARIF levels; scores map those to
// GitHub's security-severity (high ≥ 7, medium ≥ 4, low < 4).
var (
	levels = map[audit.Severity]string{audit.SeverityHigh: "error", audit.SeverityMedium: "warning", audit.SeverityLow: "note"}
	scores = map[string]string{"error": "8.0", "warning": "5.0", "note": "2.0"}
)

// srcRootID names the directory relative artifact URIs start from.
const srcRootID = "%SRCROOT%"

// FromAudit builds the SARIF log of an audit report. Results of -f point
// at the image's line and column in its file, relative to srcRoot (the
// working directory) when the file is under it; live results name the
// workload's container as a logical location. Inputs that could not be
// read are tool execution notifications of an unsuccessful run.
func FromAudit(rep audit.Report, toolVersion, srcRoot string) Log {
	run := Run{Tool: Tool{Driver: Driver{Name: "kubectl-imgtrust", Version: toolVersion, InformationURI: infoURI}}, Results: []Result{}}
	if root := rootURI(srcRoot); root != "" {
		run.OriginalURIBaseIDs = map[string]ArtifactLocation{srcRootID: {URI: root}}
	}
	run.ColumnKind = "utf16CodeUnits" // pkg/manifest.EditorPosition counts so
	inv := Invocation{ExecutionSuccessful: len(rep.Summary.InputErrors) == 0}
	for _, e := range rep.Summary.InputErrors {
		n := Notification{Level: "error", Message: Text{"cannot read " + e.Error()}}
		if loc := artifact(e.File, srcRoot); loc != nil {
			pl := &PhysicalLocation{ArtifactLocation: *loc}
			if e.Line > 0 {
				pl.Region = &Region{StartLine: e.Line}
			}
			n.Locations = []Location{{PhysicalLocation: pl}}
		}
		inv.ToolExecutionNotifications = append(inv.ToolExecutionNotifications, n)
	}
	run.Invocations = []Invocation{inv}
	fixes := map[string]string{}
	for _, it := range rep.Items {
		for _, f := range it.Findings {
			if _, ok := fixes[f.ID]; !ok {
				fixes[f.ID] = f.Fix
			}
			run.Results = append(run.Results, result(it, f, srcRoot))
		}
	}
	ids := make([]string, 0, len(fixes))
	for id := range fixes {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	run.Tool.Driver.Rules = []Rule{}
	for _, id := range ids {
		desc, sev := audit.Describe(id)
		if desc == "" {
			desc = id
		}
		help := audit.GeneralFix(id)
		if help == "" {
			help = "Fix: " + fixes[id]
		}
		run.Tool.Driver.Rules = append(run.Tool.Driver.Rules, Rule{
			ID: id, ShortDescription: Text{desc}, FullDescription: Text{desc},
			Help:                 Text{help},
			DefaultConfiguration: Config{Level: levels[sev]},
			Properties:           RuleProperty{Tags: []string{"security", "supply-chain", "kubernetes"}, Severity: scores[levels[sev]]},
		})
	}
	return Log{Schema: SchemaURI, Version: Version, Runs: []Run{run}}
}

func result(it audit.Item, f audit.Finding, srcRoot string) Result {
	container := it.Container
	if it.ContainerType == workload.ImageVolume {
		// Volumes and containers are named apart: "data" may be both.
		container = "volume/" + container
	}
	fqn := inContext(it.Context, strings.Join([]string{it.Namespace, it.Kind, it.Name, container}, "/"))
	r := Result{
		RuleID: f.ID, Level: levels[f.Severity],
		Message:   Text{f.Message + ". Fix: " + f.Fix},
		Locations: []Location{{LogicalLocations: []LogicalLocation{{Name: container, FullyQualifiedName: fqn, Kind: "resource"}}}},
		// Stable across runs: what is wrong, where; not the wording.
		PartialFingerprints: map[string]string{fingerprintKey: fingerprint(f.ID, fqn, it.Image)},
		Properties:          ResultProperty{Image: it.Image},
	}
	if it.Reference != nil {
		r.Properties.Registry = it.Reference.Registry
	}
	if len(it.RunningDigests) > 0 {
		r.Properties.Digest = it.RunningDigests[0]
	}
	if it.Source != nil {
		if a := artifact(it.Source.File, srcRoot); a != nil {
			loc := &PhysicalLocation{ArtifactLocation: *a}
			if it.Source.Line > 0 {
				loc.Region = &Region{StartLine: it.Source.Line, StartColumn: it.Source.Column}
			}
			r.Locations[0].PhysicalLocation = loc
		}
	}
	return r
}

// artifact is a file's location: a relative, percent-encoded URI against
// %SRCROOT% when the file is under srcRoot, else an absolute file:// URI;
// nil for stdin.
func artifact(path, srcRoot string) *ArtifactLocation {
	if path == "" || path == "-" || path == "stdin" {
		return nil
	}
	abs := path
	if !filepath.IsAbs(abs) && srcRoot != "" {
		abs = filepath.Join(srcRoot, path)
	}
	if srcRoot != "" {
		if rel, err := filepath.Rel(srcRoot, abs); err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			return &ArtifactLocation{URI: relativeURI(filepath.ToSlash(rel)), URIBaseID: srcRootID}
		}
	}
	abs, _ = filepath.Abs(abs)
	return &ArtifactLocation{URI: fileURI(abs)}
}

// relativeURI percent-encodes each segment of a slash path; ":" too, so
// that "a:b.yaml" is not read as a URI with scheme "a".
func relativeURI(p string) string {
	segments := strings.Split(p, "/")
	for i, seg := range segments {
		segments[i] = strings.ReplaceAll(url.PathEscape(seg), ":", "%3A")
	}
	return strings.Join(segments, "/")
}

func fileURI(abs string) string {
	p := filepath.ToSlash(abs)
	if !strings.HasPrefix(p, "/") {
		p = "/" + p // C:/x on Windows
	}
	return "file://" + relativeURI(p)
}

// rootURI is srcRoot as a file:// URI ending in "/", as SARIF requires of
// a base.
func rootURI(srcRoot string) string {
	if srcRoot == "" {
		return ""
	}
	u := fileURI(srcRoot)
	if !strings.HasSuffix(u, "/") {
		u += "/"
	}
	return u
}

// inContext prefixes a logical location with its kubeconfig context, so
// that one finding in two clusters is two results (--contexts).
func inContext(context, fqn string) string {
	if context == "" {
		return fqn
	}
	return context + "/" + fqn
}

func fingerprint(parts ...string) string {
	h := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return hex.EncodeToString(h[:16])
}
