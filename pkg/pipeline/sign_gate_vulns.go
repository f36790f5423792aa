package pipeline

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/imgtrust/kubectl-imgtrust/pkg/audit"
	"github.com/imgtrust/kubectl-imgtrust/pkg/imageref"
	"github.com/imgtrust/kubectl-imgtrust/pkg/registry"
	"github.com/imgtrust/kubectl-imgtrust/pkg/signature"
	"github.com/imgtrust/kubectl-imgtrust/pkg/vulns"
	"github.com/imgtrust/kubectl-imgtrust/pkg/workload"
)

// severity is the vulnerability gate asked for: the severity at or above
// which one vulnerability refuses, and the gate's name ("" when none).
// --max-severity wins over --require no-critical: any value is at least
// as strict.
func (g *SignGates) severity() (sev, gate string) {
	switch {
	case g == nil:
		return "", ""
	case g.MaxSeverity != "":
		return g.MaxSeverity, GateMaxSeverity
	case slices.Contains(g.Require, GateNoCritical):
		return "critical", GateNoCritical
	}
	return "", ""
}

// signVulns is what the vulnerability gate reads, as audit
// --vulnerabilities does: the cluster's Trivy Operator reports (with the
// index manifests that may list the digest) and, when no report scanned
// the digest, a cosign vuln attestation of it.
type signVulns struct {
	sev, gate string
	// stage is the reports read for the run; nil with -f (they live in
	// the cluster).
	stage    *vulnStage
	resolver *registry.Resolver
	// checker finds cosign vuln attestations; only our key verifies them.
	checker *signature.Checker
	// indexes caches each report digest's manifest read, by digestKey.
	indexes map[string]indexRead
}

// newSignVulns reads the reports of the namespaces the targets are in
// (every namespace with -A) once per run, through audit's stage.
func newSignVulns(ctx context.Context, c Cluster, found *workload.Discovery, g *SignGates, r *registry.Resolver, key signature.Key) (*signVulns, []string, error) {
	sev, gate := g.severity()
	checker, err := signature.New(signature.Options{Keys: []signature.Key{key}, Attestations: vulns.IsCosignVuln})
	if err != nil {
		return nil, nil, err
	}
	v := &signVulns{sev: sev, gate: gate, resolver: r, checker: checker, indexes: map[string]indexRead{}}
	var warnings []string
	if !c.Scope.Offline() && found != nil {
		// The same reading as audit --vulnerabilities; its config plays no part.
		v.stage, warnings = AuditConfig{}.readVulnerabilities(ctx, c, found)
	}
	return v, warnings, nil
}

// gateFor is the vulnerability gate of one target: the reports are joined
// to its workload and container, as audit joins them.
func (v *signVulns) gateFor(t signTarget) signGate {
	u := vulns.Usage{Namespace: t.obj.Namespace, Kind: t.obj.Kind, Name: t.obj.Name, Container: t.container}
	return signGate{v.gate, func(ctx context.Context, in *gateInput) gateVerdict { return v.check(ctx, in, u) }}
}

// lookup is what the sources say of in.d: a report of the digest (or of an
// index listing it), else a cosign vuln attestation of it.
func (v *signVulns) lookup(ctx context.Context, in *gateInput, u vulns.Usage) vulns.Result {
	u.Repository = in.d.Context().Name()
	u.Digests = []string{in.d.DigestStr()}
	r := vulns.Result{Note: "vulnerability reports are not read with -f: they live in the cluster"}
	if v.stage != nil {
		platforms, unread := v.platforms(ctx, in, u)
		r = v.stage.index.Lookup(u, platforms)
		if r.Match == vulns.MatchOther && unread[r.ScannedDigest] != "" {
			r.Note = "whether " + r.ScannedDigest + " is the index of this digest could not be read: " + unread[r.ScannedDigest]
		}
	}
	if r.Counts == nil {
		r = gateAttestation(v.checker.Check(ctx, v.resolver.Artifacts(in.cred), in.d.Context(), in.d.DigestStr()), r)
	}
	return r
}

// gateAttestation is the vuln attestation the gate weighs, as audit
// chooses it; when some attestations could not be read, a newer scan may
// be among them, so an attested answer is a lookup failure (never signed
// on an older scan).
func gateAttestation(att signature.Result, r vulns.Result) vulns.Result {
	r = withAttestation(&audit.Item{Signature: &att}, r)
	if r.Verified != nil && att.AttestationsError != "" {
		r.Error = "some attestations could not be read: " + att.AttestationsError
	}
	return r
}

// platforms reads, once per run, the manifests of the reports filed under
// the target's workload that name another digest: an index listing d is a
// scan of d, as audit reads it.
func (v *signVulns) platforms(ctx context.Context, in *gateInput, u vulns.Usage) (vulns.Platforms, map[string]string) {
	if v.stage.index.Lookup(u, nil).Counts != nil {
		return nil, nil
	}
	repo := in.d.Context()
	platforms, unread := vulns.Platforms{}, map[string]string{}
	for _, d := range v.stage.index.OtherDigests(u) {
		key := digestKey(repo, d, in.cred)
		read, ok := v.indexes[key]
		if !ok {
			read = readIndex(ctx, &indexJob{key: key, digest: d, arts: v.resolver.Artifacts(in.cred), ref: repo.Digest(d)})
			v.indexes[key] = read
		}
		if read.err != "" {
			unread[d] = read.err
			continue
		}
		platforms[d] = read.manifests
	}
	return platforms, unread
}

// check passes a digest whose own scan lists nothing at or above the
// severity; no scan of it, a scan of another digest or an attestation our
// key did not sign refuse (never signed on an unknown), and a lookup that
// failed fails.
func (v *signVulns) check(ctx context.Context, in *gateInput, u vulns.Usage) gateVerdict {
	r := v.lookup(ctx, in, u)
	when := "scan time unknown"
	if t := r.ScannedTime(); !t.IsZero() {
		when = "scanned " + t.UTC().Format(time.RFC3339)
	}
	note := ""
	if r.Note != "" {
		note = " (" + OneLine(r.Note) + ")"
	}
	switch {
	case r.Error != "":
		return gateVerdict{status: SignFailed, msg: fmt.Sprintf("cannot read its vulnerability scans (%s): not signed; run with permission to list vulnerabilityreports.aquasecurity.github.io (and replicasets) and read the registry, then run again", OneLine(r.Error))}
	case r.Match == vulns.MatchOther:
		return gateVerdict{status: SignRefused, msg: fmt.Sprintf("the only scan found (%s, %s) is of %s, not of this digest%s: not signed; have this digest scanned (the Trivy Operator scans what pods run)", r.Source, when, imageref.ShortDigest(r.ScannedDigest), note)}
	case r.Counts == nil:
		why := "no report of the Trivy Operator and no cosign vuln attestation names it"
		if r.Note != "" {
			why = OneLine(r.Note)
		}
		return gateVerdict{status: SignRefused, msg: fmt.Sprintf("no vulnerability scan of this digest was found (%s): not signed; scan it first (the Trivy Operator, or cosign attest --key cosign.key --type vuln)", why)}
	case r.Verified != nil && !*r.Verified:
		by := "an unknown key"
		if r.SignedBy != "" {
			by = r.SignedBy
		}
		return gateVerdict{status: SignRefused, msg: fmt.Sprintf("its only scan is %s, signed by %s, not by --key: not signed; attest the scan with the signing key (cosign attest --key cosign.key --type vuln)", r.Source, by)}
	}
	c := *r.Counts
	counts := fmt.Sprintf("%d critical, %d high, %d medium, %d low, %d unknown", c.Critical, c.High, c.Medium, c.Low, c.Unknown)
	of := ""
	if r.Match == vulns.MatchIndex {
		of = " of the index " + imageref.ShortDigest(r.ScannedDigest) + " listing it"
	}
	if n := c.AtOrAbove(v.sev); n > 0 {
		list := "kubectl get " + strings.ToLower(reportRef(r.Source)) + " -o yaml"
		if r.Verified != nil {
			list = "cosign download attestation --predicate-type " + vulns.PredicateCosignVuln + " " + in.d.Name()
		}
		return gateVerdict{status: SignRefused, msg: fmt.Sprintf("%s%s (%s) lists %s: %d at or above %s: not signed; move to a release that fixes them (%s lists each)", r.Source, of, when, counts, n, v.sev, list)}
	}
	return passed(fmt.Sprintf("%s%s (%s): %s, none at or above %s", r.Source, of, when, counts, v.sev))
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
