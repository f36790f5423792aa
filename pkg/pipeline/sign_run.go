package pipeline

import (
	"context"
	"fmt"
	"slices"
)

// signRun is one run of Sign: its clients and tally.
type signRun struct {
	cfg    SignConfig
	signer *digestSigner
	plan   *CredentialPlan
	// done is each digest's first outcome: a digest many workloads run
	// is checked and signed once.
	done  map[string]SignOutcome
	gates []signGate
	// vulns, when set, is the vulnerability gate's sources
	// (--require no-critical, --max-severity).
	vulns  *signVulns
	result SignResult
}

// gatesFor are the gates of one target: the run's, then the vulnerability
// gate, whose reports are joined to the target's workload.
func (s *signRun) gatesFor(t signTarget) []signGate {
	if s.vulns == nil {
		return s.gates
	}
	return append(slices.Clip(s.gates), s.vulns.gateFor(t))
}

// add tallies o and tells it.
func (s *signRun) add(o SignOutcome) {
	s.result.Outcomes = append(s.result.Outcomes, o)
	switch o.Status {
	case SignSigned:
		s.result.Signed++
	case SignAlreadySigned:
		s.result.AlreadySigned++
	case SignRefused:
		s.result.Refused++
	case SignFailed:
		s.result.Failed++
	}
	if s.cfg.Events != nil {
		s.cfg.Events(o)
	}
}

// signOne checks and signs one target's digest, once per run.
func (s *signRun) signOne(ctx context.Context, t signTarget) SignOutcome {
	o := SignOutcome{Object: t.obj, Container: t.container, Image: t.image}
	if t.refusal != "" {
		o.Status, o.Message = SignRefused, t.refusal
		return o
	}
	repo, err := s.signer.resolver.RepositoryOf(t.repo)
	if err != nil {
		o.Status, o.Message = SignRefused, fmt.Sprintf("%s is not a repository (%v): nothing signed", t.repo, err)
		return o
	}
	d := repo.Digest(t.digest)
	o.Target = d.Name()
	key := o.Target
	if s.cfg.Gates.byImage() {
		// ClusterImagePolicies match the image as the workload names it:
		// one digest under two names may pass under one only.
		key += "\x00" + t.image
	}
	if prev, ok := s.done[key]; ok {
		o.Status, o.Message = prev.Status, prev.Message
		if prev.Status == SignSigned {
			o.Status, o.Message = SignAlreadySigned, "signed above in this run"
		}
		return o
	}
	creds, _, _ := s.plan.For(t.obj, d.Name())
	o.Status, o.Message = s.signer.signDigest(ctx, d, t.image, creds, s.gatesFor(t))
	s.done[key] = o
	return o
}
