// Package vulns reads what vulnerability scanners already wrote about the
// images a cluster runs (the Trivy Operator's VulnerabilityReports) and
// joins it to the digest that runs. It scans nothing itself.
package vulns

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// The Trivy Operator's labels on a report (pkg/trivyoperator/constants.go
// of github.com/aquasecurity/trivy-operator).
const (
	LabelResourceKind      = "trivy-operator.resource.kind"
	LabelResourceName      = "trivy-operator.resource.name"
	LabelResourceNamespace = "trivy-operator.resource.namespace"
	LabelContainerName     = "trivy-operator.container.name"
)

// Counts are the vulnerabilities of one scan by severity.
type Counts struct {
	Critical int `json:"critical"`
	High     int `json:"high"`
	Medium   int `json:"medium"`
	Low      int `json:"low"`
	Unknown  int `json:"unknown"`
}

// AtOrAbove counts the vulnerabilities at or above severity (critical,
// high, medium, low).
func (c Counts) AtOrAbove(severity string) int {
	n := c.Critical
	for _, s := range []struct {
		name  string
		count int
	}{{"high", c.High}, {"medium", c.Medium}, {"low", c.Low}} {
		if severity == "critical" {
			break
		}
		n += s.count
		if severity == s.name {
			break
		}
	}
	return n
}

// Severities are --max-severity's values, worst first.
var Severities = []string{"critical", "high", "medium", "low"}

// ParseSeverity reads --max-severity.
func ParseSeverity(s string) (string, error) {
	v := strings.ToLower(strings.TrimSpace(s))
	for _, known := range Severities {
		if v == known {
			return v, nil
		}
	}
	return "", fmt.Errorf("unknown severity %q: use critical, high, medium or low", s)
}

// Report is one scan as the Trivy Operator recorded it: what it scanned,
// for which workload container, when, and what it counted.
type Report struct {
	// Kind is VulnerabilityReport or ClusterVulnerabilityReport.
	Kind      string
	Namespace string // "" for a ClusterVulnerabilityReport
	Name      string
	// Owner is the object the operator scanned, from its labels: a
	// ReplicaSet for a Deployment's pods, a CronJob for its Jobs'.
	OwnerKind, OwnerName, OwnerNamespace string
	Container                            string
	// Repository is the registry and repository, normalised as
	// go-containerregistry spells them ("index.docker.io/library/nginx").
	Repository string
	Tag        string
	// Digest is what the spec's tag resolved to at scan time (an index
	// digest for multi-arch images); older operators recorded the image
	// config digest.
	Digest    string
	Scanner   string
	ScannedAt time.Time
	Counts    Counts
	// Vulns are the vulnerabilities it lists (ID and severity), which a
	// verified VEX statement may take out of Counts.
	Vulns []Vuln
}

// Ref names the report as kubectl takes it.
func (r Report) Ref() string {
	if r.Namespace == "" {
		return r.Kind + " " + r.Name
	}
	return r.Kind + " " + r.Namespace + "/" + r.Name
}

// Skipped is a report that could not be used, and why, with the labels
// it is filed under: the usage it may concern gets a lookup failure, never
// a "no data" it did not prove.
type Skipped struct {
	Ref    string
	Reason string
	// Namespace and the operator's labels, as in Report.
	Namespace                            string
	OwnerKind, OwnerName, OwnerNamespace string
	Container                            string
}

// skipped names an unusable report and keeps its labels.
func skipped(kind string, u *unstructured.Unstructured, reason string) Skipped {
	ref := kind + " " + u.GetName()
	if u.GetNamespace() != "" {
		ref = kind + " " + u.GetNamespace() + "/" + u.GetName()
	}
	l := u.GetLabels()
	owner := l[LabelResourceName]
	if owner == "" {
		owner = u.GetAnnotations()[LabelResourceName]
	}
	return Skipped{Ref: ref, Reason: reason, Namespace: u.GetNamespace(), OwnerKind: l[LabelResourceKind], OwnerName: owner,
		OwnerNamespace: l[LabelResourceNamespace], Container: l[LabelContainerName]}
}

// report is the skipped report's labels as a Report, to tell whom it is
// filed under.
func (s Skipped) report() Report {
	return Report{Namespace: s.Namespace, OwnerKind: s.OwnerKind, OwnerName: s.OwnerName, OwnerNamespace: s.OwnerNamespace, Container: s.Container}
}

func (s Skipped) String() string { return s.Ref + ": " + s.Reason }

// raw holds the fields we read of a report; the rest is ignored, so the
// operator's module is not needed.
type raw struct {
	Metadata struct {
		Name      string            `json:"name"`
		Namespace string            `json:"namespace"`
		Labels    map[string]string `json:"labels"`
		// The operator writes the name here when it is too long for a
		// label value (kube.ObjectToObjectMeta).
		Annotations map[string]string `json:"annotations"`
	} `json:"metadata"`
	Report struct {
		UpdateTimestamp string `json:"updateTimestamp"`
		Scanner         struct {
			Name    string `json:"name"`
			Version string `json:"version"`
		} `json:"scanner"`
		Registry struct {
			Server string `json:"server"`
		} `json:"registry"`
		Artifact struct {
			Repository string `json:"repository"`
			Tag        string `json:"tag"`
			Digest     string `json:"digest"`
		} `json:"artifact"`
		Vulnerabilities []struct {
			ID       string `json:"vulnerabilityID"`
			Severity string `json:"severity"`
		} `json:"vulnerabilities"`
		Summary struct {
			Critical int `json:"criticalCount"`
			High     int `json:"highCount"`
			Medium   int `json:"mediumCount"`
			Low      int `json:"lowCount"`
			Unknown  int `json:"unknownCount"`
		} `json:"summary"`
	} `json:"report"`
}

// Parse reads one report object; a report whose artifact or time cannot
// be used is an error that names what is wrong (the caller skips it).
func Parse(kind string, u *unstructured.Unstructured) (Report, error) {
	data, err := json.Marshal(u.Object)
	if err != nil {
		return Report{}, fmt.Errorf("does not encode: %w", err)
	}
	var r raw
	if err := json.Unmarshal(data, &r); err != nil {
		return Report{}, fmt.Errorf("does not parse as a Trivy Operator report: %w", err)
	}
	out := Report{
		Kind: kind, Namespace: r.Metadata.Namespace, Name: r.Metadata.Name,
		OwnerKind:      r.Metadata.Labels[LabelResourceKind],
		OwnerName:      r.Metadata.Labels[LabelResourceName],
		OwnerNamespace: r.Metadata.Labels[LabelResourceNamespace],
		Container:      r.Metadata.Labels[LabelContainerName],
		Tag:            r.Report.Artifact.Tag,
		Scanner:        strings.TrimSpace(r.Report.Scanner.Name + " " + r.Report.Scanner.Version),
	}
	a := r.Report.Artifact
	if out.OwnerName == "" {
		out.OwnerName = r.Metadata.Annotations[LabelResourceName]
	}
	if a.Repository == "" {
		return Report{}, fmt.Errorf("report.artifact.repository is empty")
	}
	repo := a.Repository
	if r.Report.Registry.Server != "" {
		repo = r.Report.Registry.Server + "/" + a.Repository
	}
	parsed, err := name.NewRepository(repo)
	if err != nil {
		return Report{}, fmt.Errorf("report.artifact.repository %q is not a repository", repo)
	}
	out.Repository = parsed.Name()
	if a.Digest == "" {
		return Report{}, fmt.Errorf("report.artifact.digest is empty: which image was scanned is unknown")
	}
	if _, err := v1.NewHash(a.Digest); err != nil {
		return Report{}, fmt.Errorf("report.artifact.digest %q is not a digest", a.Digest)
	}
	out.Digest = a.Digest
	if out.ScannedAt, err = time.Parse(time.RFC3339, r.Report.UpdateTimestamp); err != nil {
		return Report{}, fmt.Errorf("report.updateTimestamp %q is not a time", r.Report.UpdateTimestamp)
	}
	s := r.Report.Summary
	if s.Critical < 0 || s.High < 0 || s.Medium < 0 || s.Low < 0 || s.Unknown < 0 {
		return Report{}, fmt.Errorf("report.summary has a negative count")
	}
	out.Counts = Counts{Critical: s.Critical, High: s.High, Medium: s.Medium, Low: s.Low, Unknown: s.Unknown}
	for _, v := range r.Report.Vulnerabilities {
		if v.ID != "" {
			out.Vulns = append(out.Vulns, Vuln{ID: v.ID, Severity: v.Severity})
		}
	}
	return out, nil
}
