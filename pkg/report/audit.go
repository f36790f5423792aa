package report

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/imgtrust/kubectl-imgtrust/pkg/audit"
	"github.com/imgtrust/kubectl-imgtrust/pkg/imageref"
	"github.com/imgtrust/kubectl-imgtrust/pkg/vulns"
	"github.com/imgtrust/kubectl-imgtrust/pkg/workload"
)

// AuditTable prints one row per item; wide adds the registry, the pod count
// and what the pods run (and, online, what the tag resolves to).
func AuditTable(w io.Writer, r audit.Report, wide bool) error {
	headers := []string{"namespace", "workload", "container", "image", "pinning", "findings"}
	online := r.Summary.Registry == "online"
	signed, traced, ruled, checked, scanned := false, false, false, false, false
	for _, it := range r.Items {
		checked = checked || it.Provenance != nil && it.Provenance.CheckedBy != nil
		scanned = scanned || it.Vulnerabilities != nil || slices.ContainsFunc(it.Findings, func(f audit.Finding) bool { return audit.Category(f.ID) == "vulnerabilities" })
		signed = signed || it.Signature != nil
		traced = traced || it.Provenance != nil
		ruled = ruled || it.Signature != nil && it.Signature.Rule != ""
	}
	several := len(r.Summary.Contexts) > 0
	if several {
		headers = append([]string{"context"}, headers...)
	}
	if signed {
		headers = append(headers, "signed")
	}
	if scanned {
		headers = append(headers, "vulns")
	}
	if wide {
		headers = append(headers, "registry", "pods", "running")
		if online {
			headers = append(headers, "resolved", "credentials")
		}
		if signed {
			headers = append(headers, "signed by")
		}
		if ruled {
			headers = append(headers, "trust rule")
		}
		if traced {
			headers = append(headers, "source", "revision", "created")
		}
		if checked {
			headers = append(headers, "imgtrust signed after")
		}
		if scanned {
			headers = append(headers, "vuln report", "scanned")
		}
	}
	rows := make([][]string, 0, len(r.Items))
	for _, it := range r.Items {
		ids := make([]string, len(it.Findings))
		for i, f := range it.Findings {
			ids[i] = f.ID
		}
		row := []string{
			dash(it.Namespace),
			it.ObjectRef(),
			containerLabel(it.Container, it.ContainerType),
			image(it.Image, wide),
			string(it.Pinning),
			dash(strings.Join(ids, ",")),
		}
		if several {
			row = append([]string{it.Context}, row...)
		}
		if signed {
			row = append(row, signedStatus(it))
		}
		if scanned {
			row = append(row, vulnsCell(it))
		}
		if wide {
			registry := "-"
			if it.Reference != nil {
				registry = it.Reference.Registry
			}
			running := append(shortAll(it.RunningDigests), prefixAll("id:", shortAll(it.RunningImageIDs))...)
			row = append(row, registry, strconv.Itoa(it.Pods), dash(strings.Join(running, ",")))
			if online {
				row = append(row, dash(imageref.ShortDigest(it.ResolvedDigest)), dash(it.CredentialSource))
			}
			if signed {
				row = append(row, signedBy(it))
			}
			if ruled {
				rule := "-"
				if it.Signature != nil && it.Signature.Rule != "" {
					// "rules[1]": the pattern holds no space, but the
					// column must stay one word for scripts.
					rule, _, _ = strings.Cut(it.Signature.Rule, " ")
				}
				row = append(row, rule)
			}
			if traced {
				row = append(row, provenanceColumns(it)...)
			}
			if checked {
				row = append(row, checkedColumn(it))
			}
			if scanned {
				row = append(row, vulnColumns(it)...)
			}
		}
		rows = append(rows, row)
	}
	return Table(w, headers, rows)
}

// AuditText is audit's default output: the table and, on errOut, its
// summary; with nothing to show, the warnings and why: skipped -f
// objects, unread input (its error says it) or an empty scope.
func AuditText(table, errOut io.Writer, r audit.Report, wide bool, skipped int) error {
	if len(r.Items) > 0 {
		if err := AuditTable(table, r, wide); err != nil {
			return err
		}
		AuditSummary(errOut, r)
		return nil
	}
	Warnings(errOut, r.Summary.Warnings)
	switch {
	case len(r.Summary.InputErrors) > 0: // the error says it
	case skipped > 0:
		fmt.Fprintln(errOut, "No workloads with a pod template found in scope; the skipped objects above were not audited.")
	default:
		fmt.Fprintln(errOut, "No workloads with container images found in scope.")
	}
	return nil
}

// Warnings says each warning on a line of its own.
func Warnings(w io.Writer, warnings []string) {
	for _, warning := range warnings {
		fmt.Fprintf(w, "warning: %s\n", warning)
	}
}

// AuditSummary prints, for humans on stderr, the counts and one fix per
// finding ID (with the first affected workload as the example).
func AuditSummary(w io.Writer, r audit.Report) {
	Warnings(w, r.Summary.Warnings)
	s := r.Summary
	fmt.Fprintf(w, "%s in %s: %d high, %d medium, %d low findings (registry %s)\n",
		plural(s.Images, "image"), plural(s.Workloads, "workload"), s.Findings[audit.SeverityHigh], s.Findings[audit.SeverityMedium], s.Findings[audit.SeverityLow], s.Registry)
	for _, c := range s.Contexts {
		if c.Error != "" {
			fmt.Fprintf(w, "  context %s: not audited (see the warning above)\n", c.Name)
			continue
		}
		fmt.Fprintf(w, "  context %s: %s: %d high, %d medium, %d low findings\n",
			c.Name, plural(c.Workloads, "workload"), c.Findings[audit.SeverityHigh], c.Findings[audit.SeverityMedium], c.Findings[audit.SeverityLow])
	}
	if c := s.Cost; c != nil && c.Provenance != nil {
		fmt.Fprintf(w, "provenance: %s read with %s\n", plural(c.Provenance.Lookups, "digest"), plural(c.Provenance.Requests, "registry request"))
	}
	if c := s.Cost; c != nil && c.Updates != nil {
		fmt.Fprintf(w, "updates: tags of %s listed with %s\n", plural(c.Updates.Lookups, "repository"), plural(c.Updates.Requests, "registry request"))
	}
	lines := summaryLines(r)
	width := 26 // the usual width; a longer ID widens the column for all
	for _, id := range r.FindingIDs() {
		width = max(width, len(id))
	}
	for _, id := range r.FindingIDs() {
		l := lines[id]
		fix := l.first
		if len(l.fixes) > 1 {
			// One workload's command fixes only some of them.
			fix = fmt.Sprintf("%s (1 of %d fixes; -o json gives each finding's own)", l.first, len(l.fixes))
		}
		fmt.Fprintf(w, "  %-*s %-6s x%-3d fix: %s\n", width, id, l.worst, s.ByID[id], fix)
	}
}

// summaryLine is what the summary says of one finding ID: its worst
// severity (flags and rules raise some: unsigned is high with
// --require-signature), the first item's fix and how many fixes differ.
type summaryLine struct {
	worst audit.Severity
	first string
	fixes map[string]bool
}

// summaryLines reads every finding once, for all IDs at a time.
func summaryLines(r audit.Report) map[string]*summaryLine {
	lines := map[string]*summaryLine{}
	for _, it := range r.Items {
		for _, f := range it.Findings {
			l, ok := lines[f.ID]
			if !ok {
				l = &summaryLine{worst: f.Severity, first: f.Fix, fixes: map[string]bool{}}
				lines[f.ID] = l
			}
			if f.Severity.Rank() > l.worst.Rank() {
				l.worst = f.Severity
			}
			l.fixes[f.Fix] = true
		}
	}
	return lines
}

// containerLabel marks init and ephemeral containers without a space, so
// the column stays one word for scripts: "init:migrate"; an image volume
// is "volume/data", since it is no container.
func containerLabel(name string, t workload.ContainerType) string {
	switch t {
	case workload.InitContainer:
		return "init:" + name
	case workload.EphemeralContainer:
		return "ephemeral:" + name
	case workload.ImageVolume:
		return "volume/" + name
	}
	return name
}

func shortAll(ds []string) []string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = imageref.ShortDigest(d)
	}
	return out
}

func prefixAll(p string, ss []string) []string {
	for i := range ss {
		ss[i] = p + ss[i]
	}
	return ss
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// vulnsCell is the VULNS column: the non-zero counts of a scan of what
// runs ("C3 H12", "0" for a clean scan), "stale" when it is older than
// --max-scan-age, "other-digest" when only another digest was scanned,
// "-" when unknown.
func vulnsCell(it audit.Item) string {
	v := it.Vulnerabilities
	switch {
	case v == nil || v.Error != "":
		return "-"
	case v.Match == vulns.MatchOther:
		return "other-digest"
	case v.Counts == nil:
		return "-"
	}
	for _, f := range it.Findings {
		if f.ID == audit.IDScanTooOld {
			return "stale"
		}
	}
	var parts []string
	for _, c := range []struct {
		letter string
		n      int
	}{{"C", v.Counts.Critical}, {"H", v.Counts.High}, {"M", v.Counts.Medium}, {"L", v.Counts.Low}, {"U", v.Counts.Unknown}} {
		if c.n > 0 {
			parts = append(parts, c.letter+strconv.Itoa(c.n))
		}
	}
	if len(parts) == 0 {
		return "0"
	}
	return strings.Join(parts, " ")
}

// vulnColumns are VULN REPORT (the report's namespace/name) and SCANNED
// (its time) of -o wide.
func vulnColumns(it audit.Item) []string {
	v := it.Vulnerabilities
	if v == nil || v.Source == "" {
		return []string{"-", "-"}
	}
	_, name, _ := strings.Cut(v.Source, " ")
	if v.Verified != nil { // "cosign vuln attestation DIGEST"
		name = "attestation:" + imageref.ShortDigest(v.Source[strings.LastIndex(v.Source, " ")+1:])
	}
	switch x := v.VEX; {
	case x == nil:
	case !x.Verified:
		name += ",vex:unverified"
	default:
		name += fmt.Sprintf(",vex:%d-excluded", len(x.Excluded))
	}
	return []string{name, dash(v.ScannedAt)}
}

// signedStatus is the SIGNED column: the signature status, "-" when the
// item was not checked.
func signedStatus(it audit.Item) string {
	if it.Signature == nil {
		return "-"
	}
	return string(it.Signature.Status)
}

// signedBy names the keys and certificates that verified, else who the
// signatures say signed.
func signedBy(it audit.Item) string {
	if it.Signature == nil {
		return "-"
	}
	var out []string
	for _, v := range it.Signature.VerifiedBy {
		switch {
		case v.Kind == "x509", v.Kind == "keyless":
			// A keyless signer is its certificate's subject; -o json
			// also gives the issuer.
			out = append(out, v.Subject)
		case v.File != "":
			out = append(out, v.File)
		default:
			out = append(out, v.KeyID)
		}
	}
	if len(out) == 0 {
		for _, a := range it.Signature.Artifacts {
			if a.SignedBy != "" && !slices.Contains(out, a.SignedBy) {
				out = append(out, a.SignedBy)
			}
		}
	}
	return dash(strings.Join(out, ", "))
}

// provenanceColumns are SOURCE, REVISION (abbreviated as git does) and
// CREATED (the day) of -o wide.
func provenanceColumns(it audit.Item) []string {
	p := it.Provenance
	if p == nil {
		return []string{"-", "-", "-"}
	}
	rev := p.Revision
	if len(rev) > 12 {
		rev = rev[:12]
	}
	created := "-"
	if t, ok := p.CreatedTime(); ok {
		created = t.UTC().Format("2006-01-02")
	}
	return []string{dash(p.Source), dash(rev), created}
}

// checkedColumn is IMGTRUST SIGNED AFTER of -o wide: the checks
// kubectl imgtrust sign ran before it signed the digest, from its checks
// attestation.
func checkedColumn(it audit.Item) string {
	if it.Provenance == nil || it.Provenance.CheckedBy == nil {
		return "-"
	}
	return it.Provenance.CheckedBy.Word()
}

// plural counts things: "1 digest", "2 digests", "3 repositories".
func plural(n int, thing string) string {
	if n == 1 {
		return "1 " + thing
	}
	if strings.HasSuffix(thing, "y") {
		return fmt.Sprintf("%d %sies", n, strings.TrimSuffix(thing, "y"))
	}
	return fmt.Sprintf("%d %ss", n, thing)
}

// image is the IMAGE cell: the digest abbreviated unless wide.
func image(s string, wide bool) string {
	if wide {
		return s
	}
	return ShortImage(s)
}
