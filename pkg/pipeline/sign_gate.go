package pipeline

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/imgtrust/kubectl-imgtrust/pkg/audit"
	"github.com/imgtrust/kubectl-imgtrust/pkg/provenance"
	"github.com/imgtrust/kubectl-imgtrust/pkg/registry"
	"github.com/imgtrust/kubectl-imgtrust/pkg/signature"
	"github.com/imgtrust/kubectl-imgtrust/pkg/trustpolicy"
)

// The gates a digest may have to pass before it is signed. --max-age
// sets GateMaxAge, --max-severity GateMaxSeverity; --require names the
// others.
const (
	GateVerifiedUpstream = "verified-upstream"
	GateProvenance       = "provenance"
	GateNoCritical       = "no-critical"
	GateMaxAge           = "max-age"
	GateMaxSeverity      = "max-severity"
)

// RequireGates are the names --require takes. A gate joins here and in
// SignGates.list (the vulnerability gate in signRun.gatesFor).
var RequireGates = []string{GateVerifiedUpstream, GateProvenance, GateNoCritical}

// CheckRequire says what is wrong with a --require name, in one line.
func CheckRequire(names []string) error {
	for _, n := range names {
		switch {
		case slices.Contains(RequireGates, n):
		case n == GateMaxSeverity || strings.HasPrefix(n, GateMaxSeverity+"="):
			// A flag of its own, as audit's --max-severity.
			return fmt.Errorf("--require %s is not a gate name: give the severity as audit does, --max-severity critical|high|medium|low", n)
		default:
			return fmt.Errorf("--require %q is not a gate: use %s (and --max-age DURATION for age, --max-severity SEVERITY for vulnerabilities)", n, strings.Join(RequireGates, ", "))
		}
	}
	return nil
}

// SignGates say what a digest must pass to be signed.
type SignGates struct {
	// Require are --require names (CheckRequire'd).
	Require []string
	// Authorities check verified-upstream: --verify-key, --trust-cert,
	// the keyless flags or the trust policy.
	Authorities *signature.Authorities
	// PolicyFile is the trust-policy file, when one was used: the checks
	// attestation names its digest.
	PolicyFile string
	// MaxAge, when set, refuses digests built longer ago (--max-age).
	MaxAge time.Duration
	// MaxSeverity, when set, refuses digests whose scan lists a
	// vulnerability at or above it (--max-severity: critical, high,
	// medium, low; --require no-critical is critical).
	MaxSeverity string
	// Platform picks a multi-arch index's manifest for provenance and age.
	Platform *v1.Platform
	// Now is the time ages are judged at (time.Now when zero).
	Now time.Time
}

// SignCheck is one gate a digest passed: what the checks attestation
// records. Only passed checks are recorded: a digest failing one is not
// signed.
type SignCheck struct {
	Name   string `json:"name"`
	Result string `json:"result"`
	Detail string `json:"detail,omitempty"`
}

// checkPassed is SignCheck.Result of a gate passed.
const checkPassed = "passed"

// gateInput is what the gates read of one digest: the credential the
// registry accepted and the attestations found with our own key's check.
type gateInput struct {
	d name.Digest
	// image is the image the workload or manifest names, which
	// ClusterImagePolicy globs match (as audit --trust-policy=cluster).
	image    string
	cred     registry.Credential
	attested []provenance.Attested
	// prov is read once, for the provenance and age gates.
	prov *provenance.Provenance
}

// gateVerdict is one gate's answer; a failing one carries the status
// (refused, or failed for a lookup that failed) and the message.
type gateVerdict struct {
	ok     bool
	status SignStatus
	msg    string
	detail string
}

func passed(detail string) gateVerdict { return gateVerdict{ok: true, detail: detail} }

// signGate is one gate by name.
type signGate struct {
	name  string
	check func(ctx context.Context, in *gateInput) gateVerdict
}

// list is the gates g asks for, in RequireGates order, then max-age.
func (g *SignGates) list(r *registry.Resolver) []signGate {
	if g == nil {
		return nil
	}
	var out []signGate
	if g.Authorities != nil { // asked for by --require, or by giving them

		out = append(out, signGate{GateVerifiedUpstream, func(ctx context.Context, in *gateInput) gateVerdict { return g.upstream(ctx, r, in) }})
	}
	if slices.Contains(g.Require, GateProvenance) {
		out = append(out, signGate{GateProvenance, func(ctx context.Context, in *gateInput) gateVerdict { return g.provenance(ctx, r, in) }})
	}
	if g.MaxAge > 0 {
		out = append(out, signGate{GateMaxAge, func(ctx context.Context, in *gateInput) gateVerdict { return g.age(ctx, r, in) }})
	}
	return out
}

// upstream is the verified-upstream gate: d is signed by us only when an
// authority (--verify-key, --trust-cert, keyless, the trust policy's rule
// for d's repository, or the ClusterImagePolicies matching the image)
// verified a signature of d.
func (g *SignGates) upstream(ctx context.Context, r *registry.Resolver, in *gateInput) gateVerdict {
	a, d := g.Authorities, in.d
	image := in.image
	if image == "" {
		image = d.Name()
	}
	// Policies match as audit --trust-policy=cluster matches them: the
	// image as written (tag or digest), not the bare repository.
	choice := a.ForImage(image, d.Context())
	cluster := a.PolicySource() == signature.ClusterSource
	switch {
	case cluster && choice.Checker == nil:
		// policy-controller's no-match-policy allow admits it unchecked,
		// but verified-upstream means a signature was verified.
		return gateVerdict{status: SignRefused, msg: fmt.Sprintf("no ClusterImagePolicy matches %s, so nothing verified it: not signed; add a ClusterImagePolicy whose images glob matches it", image)}
	case choice.Uncovered:
		return gateVerdict{status: SignRefused, msg: fmt.Sprintf("no rule of %s covers %s, so its upstream signature cannot be checked: not signed; add a rule for it", a.PolicySource(), d.Context().Name())}
	case choice.Checker == nil || choice.Action == trustpolicy.ActionReportUnsigned:
		return passed("no authority asked for by " + ruleName(choice, a))
	}
	res := choice.Checker.Check(ctx, r.Artifacts(in.cred), d.Context(), d.DigestStr())
	switch res.Status {
	case signature.StatusVerified:
		return passed("a signature verified by " + ruleName(choice, a))
	case signature.StatusLookupFailed:
		return gateVerdict{status: SignFailed, msg: fmt.Sprintf("cannot check its upstream signature (%s): not signed; fix the registry access and run again", OneLine(res.Error))}
	}
	by := "a --verify-key, --trust-cert or keyless identity"
	if choice.Rule != "" {
		by = "an authority of " + choice.Rule + " in " + a.PolicySource()
	}
	why := string(res.Status)
	if res.Error != "" {
		why += ": " + OneLine(res.Error)
	}
	return gateVerdict{status: SignRefused, msg: fmt.Sprintf("the upstream signature is not verified by %s (%s): not signed; sign only what its publisher signed, or change the authorities", by, why)}
}

// byImage reports whether the verified-upstream gate's verdict depends on
// the image the workload names, not only on the digest: the cluster's
// ClusterImagePolicies match it.
func (g *SignGates) byImage() bool {
	return g != nil && g.Authorities != nil && g.Authorities.PolicySource() == signature.ClusterSource
}

// ruleName names who verified: the trust policy's rule, or the flags.
func ruleName(c signature.Choice, a *signature.Authorities) string {
	if c.Rule != "" {
		return "rule " + c.Rule + " of " + a.PolicySource()
	}
	return "--verify-key, --trust-cert or the keyless flags"
}

// readProvenance reads d's provenance once, as audit --provenance does
// (pkg/provenance), with the cosign attestations our check found.
func (g *SignGates) readProvenance(ctx context.Context, r *registry.Resolver, in *gateInput) *provenance.Provenance {
	if in.prov == nil {
		// The digest's one budget, shared with its signature check.
		p := provenance.Read(ctx, r.Artifacts(in.cred).ForDigest(in.d), in.d.Context(), in.d.DigestStr(), g.Platform, in.attested)
		in.prov = &p
	}
	return in.prov
}

// provenance is the provenance gate: a source or revision named by an OCI
// annotation, a config label or a SLSA attestation of d.
func (g *SignGates) provenance(ctx context.Context, r *registry.Resolver, in *gateInput) gateVerdict {
	p := g.readProvenance(ctx, r, in)
	if p.Known() {
		what := strings.TrimSpace(p.Source + " " + p.Revision)
		return passed(fmt.Sprintf("%s (from %s)", what, strings.Join(p.Sources, ", ")))
	}
	if p.Error != "" {
		return gateVerdict{status: SignFailed, msg: fmt.Sprintf("cannot read its provenance (%s): not signed; fix the registry access and run again", OneLine(p.Error))}
	}
	if p.Note != "" {
		// Part was not read: its absence is not proven.
		return gateVerdict{status: SignRefused, msg: fmt.Sprintf("its provenance could not be read in full (%s): not signed", OneLine(p.Note))}
	}
	return gateVerdict{status: SignRefused, msg: "it names no source repository or revision (no OCI annotation or label, no SLSA provenance): not signed; sign only images built with provenance (org.opencontainers.image.source and .revision, or docker buildx --provenance=mode=max)"}
}

// age is the --max-age gate: d's build time (an annotation, a label, an
// attestation or its config's created time, as audit --max-age reads it)
// is within MaxAge.
func (g *SignGates) age(ctx context.Context, r *registry.Resolver, in *gateInput) gateVerdict {
	p := g.readProvenance(ctx, r, in)
	created, ok := p.CreatedTime()
	if !ok {
		if p.Error != "" {
			return gateVerdict{status: SignFailed, msg: fmt.Sprintf("cannot read its build time for --max-age (%s): not signed; fix the registry access and run again", OneLine(p.Error))}
		}
		why := "no annotation, label, attestation or config gives one"
		if p.Note != "" {
			why = OneLine(p.Note)
		}
		return gateVerdict{status: SignRefused, msg: fmt.Sprintf("its build time is unknown (%s), so --max-age cannot be judged: not signed", why)}
	}
	now := g.Now
	if now.IsZero() {
		now = time.Now()
	}
	age := now.Sub(created)
	if age > g.MaxAge {
		return gateVerdict{status: SignRefused, msg: fmt.Sprintf("it was built %s (%s ago, from its %s), more than --max-age %s: not signed; rebuild it on a current base image", created.Format("2006-01-02"), audit.Days(age), p.CreatedFrom, audit.Days(g.MaxAge))}
	}
	return passed(fmt.Sprintf("built %s (from its %s), %s old, at most %s", created.UTC().Format(time.RFC3339), p.CreatedFrom, audit.Days(age), audit.Days(g.MaxAge)))
}

// runGates runs gates in order; the first failing one stops it. checks are
// those passed.
func runGates(ctx context.Context, gates []signGate, in *gateInput) (checks []SignCheck, failed *gateVerdict, gateName string) {
	for _, gt := range gates {
		v := gt.check(ctx, in)
		if !v.ok {
			return checks, &v, gt.name
		}
		checks = append(checks, SignCheck{Name: gt.name, Result: checkPassed, Detail: v.detail})
	}
	return checks, nil, ""
}
