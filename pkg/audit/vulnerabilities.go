package audit

import (
	"fmt"
	"strings"
	"time"

	"github.com/imgtrust/kubectl-imgtrust/pkg/imageref"
	"github.com/imgtrust/kubectl-imgtrust/pkg/vulns"
)

// VulnerabilityOptions say what --vulnerabilities reports.
type VulnerabilityOptions struct {
	// MaxSeverity: vulnerable when any is at or above it (critical, high,
	// medium, low; default critical).
	MaxSeverity string
	// MaxScanAge, when set, adds scan-too-old.
	MaxScanAge time.Duration
	Now        time.Time
}

// VulnerabilityUsage is the item as the reports are joined to it: its
// workload, container, repository and the digests that run.
func (it *Item) VulnerabilityUsage() vulns.Usage {
	u := vulns.Usage{Namespace: it.Namespace, Kind: it.Kind, Name: it.Name, Container: it.Container, ConfigDigests: it.RunningImageIDs}
	if it.Reference != nil {
		u.Repository = it.Reference.Registry + "/" + it.Reference.Repository
	}
	u.Digests, _ = it.SignatureDigests()
	return u
}

// ApplyVulnerabilities records what the reports say of the digest the item
// runs and adds the finding it calls for. A failed read is reported as
// such, never as missing data.
func ApplyVulnerabilities(it *Item, r vulns.Result, o VulnerabilityOptions) {
	if r.Known() {
		it.Vulnerabilities = &r // else no "vulnerabilities": {} in -o json
	}
	running := shortDigests(it.VulnerabilityUsage().Digests)
	if running == "" {
		running = "no digest known"
	}
	scanned := imageref.ShortDigest(r.ScannedDigest)
	switch {
	case r.Error != "" && r.UnreadReport() != "":
		it.add(newFinding(IDVulnerabilityLookupFailed,
			"the vulnerability reports could not be read: "+r.Error,
			"have it scanned again: "+rescan(r.UnreadReport())))
	case r.Error != "":
		it.add(newFinding(IDVulnerabilityLookupFailed,
			"the vulnerability reports could not be read: "+r.Error,
			"run with permission to list vulnerabilityreports.aquasecurity.github.io (and replicasets) in "+it.Namespace+", then run again"))
	case r.Match == vulns.MatchOther:
		note := ""
		if r.Note != "" {
			note = " (" + r.Note + ")"
		}
		it.add(newFinding(IDScanOfOtherDigest,
			fmt.Sprintf("the only scan found (%s, %s) is of %s, not of what runs (%s): it describes another image%s", r.Source, day(r.ScannedTime()), scanned, running, note),
			"pin the workload to what runs, so the scanner scans that digest ("+it.pinCommand()+" --source=running), or run what was scanned"))
	case r.Counts == nil:
		why := "no report of the Trivy Operator names it"
		if r.Note != "" {
			why = r.Note
		}
		it.add(newFinding(IDNoVulnerabilityData,
			fmt.Sprintf("no vulnerability scan of %s was found: %s", running, why),
			"run a scanner that writes reports (the Trivy Operator), or attach a vulnerability attestation to the digest (cosign attest --type vuln)"))
	default:
		sev := o.MaxSeverity
		if sev == "" {
			sev = "critical"
		}
		if n := r.Counts.AtOrAbove(sev); n > 0 {
			list := "the report lists each: kubectl get " + strings.ToLower(reportRef(r.Source)) + " -o yaml"
			if r.Verified != nil {
				list = "the attestation lists each: cosign download attestation --predicate-type " + vulns.PredicateCosignVuln + " IMAGE@" + r.ScannedDigest
			}
			it.add(newFinding(IDVulnerable,
				fmt.Sprintf("%s (%s, %s) lists %s: %d at or above %s%s", scanOf(r, scanned, running), sourceText(r), day(r.ScannedTime()), countsText(*r.Counts), n, sev, vexText(r.VEX)),
				"move to a release that fixes them, pin it and roll it out; "+list))
		}
		if at := r.NewestScanTime(); o.MaxScanAge > 0 && !at.IsZero() {
			if age := o.Now.Sub(at); age > o.MaxScanAge {
				it.add(newFinding(IDScanTooOld,
					fmt.Sprintf("the newest scan of %s (%s) is from %s, %s ago, more than --max-scan-age %s", scanned, r.Source, day(at), Days(age), Days(o.MaxScanAge)),
					"have it scanned again: "+rescan(r.Source)))
			}
		}
	}
}

// sourceText names the source, and for an attestation whether it was
// verified: an unverified one is never said to be.
func sourceText(r vulns.Result) string {
	switch {
	case r.Verified == nil:
		return r.Source
	case *r.Verified:
		return r.Source + ", verified: signed by " + r.SignedBy
	case r.SignedBy != "":
		return r.Source + ", unverified: signed by " + r.SignedBy
	}
	return r.Source + ", unverified"
}

// vexText says what OpenVEX changed: what a verified one excluded, or
// that an unverified one was not applied.
func vexText(v *vulns.VEX) string {
	switch {
	case v == nil:
		return ""
	case !v.Verified:
		by := ""
		if v.SignedBy != "" {
			by = ", signed by " + v.SignedBy
		}
		return fmt.Sprintf(" (%s%s, is not verified by an authority you trust: not applied)", v.Source, by)
	case len(v.Excluded) > 0:
		return fmt.Sprintf(" (not counting %s, not_affected or fixed by %s)", strings.Join(v.Excluded, ", "), v.Source)
	}
	return ""
}

// scanOf says what was scanned: the running digest, or what stands for it.
func scanOf(r vulns.Result, scanned, running string) string {
	switch r.Match {
	case vulns.MatchIndex:
		return "the scan of the index " + scanned + ", which lists the manifest that runs (" + running + "),"
	case vulns.MatchConfig:
		return "the scan of the config digest " + scanned + ", which the runtime reports,"
	}
	return "the scan of the running digest " + scanned
}

// countsText is "3 critical, 12 high, 0 medium, 1 low, 0 unknown".
func countsText(c vulns.Counts) string {
	return fmt.Sprintf("%d critical, %d high, %d medium, %d low, %d unknown", c.Critical, c.High, c.Medium, c.Low, c.Unknown)
}

func day(t time.Time) string {
	if t.IsZero() {
		return "time unknown"
	}
	return "scanned " + t.UTC().Format("2006-01-02 15:04 UTC")
}

// reportRef turns "VulnerabilityReport NS/NAME" into kubectl's
// "VulnerabilityReport NAME -n NS".
func reportRef(source string) string {
	kind, rest, _ := strings.Cut(source, " ")
	if ns, name, ok := strings.Cut(rest, "/"); ok {
		return kind + " " + name + " -n " + ns
	}
	return source
}

// rescan is how the Trivy Operator is made to scan again: it rescans
// when its report is gone.
func rescan(source string) string {
	return "kubectl delete " + strings.ToLower(reportRef(source)) + " (the Trivy Operator scans again)"
}
