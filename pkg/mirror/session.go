package mirror

import (
	"context"
	"fmt"

	"github.com/imgtrust/kubectl-imgtrust/pkg/imageref"
	"github.com/imgtrust/kubectl-imgtrust/pkg/pullsecret"
	"github.com/imgtrust/kubectl-imgtrust/pkg/registry"
)

// SessionOptions configure one run's mirroring.
type SessionOptions struct {
	Resolver *registry.Resolver
	// Prefix is where copies go (registry host and optional path), named
	// by Layout.
	Prefix string
	Layout Layout
	// OverwriteTags moves a target tag that names another digest.
	OverwriteTags bool
	// DryRun plans only: Copy reads and writes nothing and Totals stay zero.
	DryRun bool
	// Progress, when set, is told the bytes written while an image is
	// copied.
	Progress func(image string, written, total int64)
}

// Session is one run's mirroring: each digest is copied to a target once
// per run, each copy's blobs are checked at the target once per run, the
// copies are totalled, and the pods' access to the mirror is checked. It prints nothing and is not safe for concurrent use.
type Session struct {
	opts   SessionOptions
	mirror *Mirror
	// copies are the copies made this run, by source digest and target.
	copies map[string]Result
	totals Totals
}

// Totals sum up the copies of a session, each counted once.
type Totals struct {
	// Copied and Present count images: copied, or found in the mirror.
	Copied, Present int
	// Blobs and Bytes are what was transferred.
	Blobs int
	Bytes int64
	// Signatures are the signatures and attestations copied;
	// ReferrersSkipped those past MaxReferrerCopies or the request
	// budget for an image; ReferrersOverBudget those the budget cut.
	Signatures, ReferrersSkipped, ReferrersOverBudget int
	// BlobsChecked are the HEADs that found the copies' blobs at the
	// target, each blob once per run.
	BlobsChecked int
}

// CopyRequest is one image to copy into the mirror.
type CopyRequest struct {
	// Image is the source as written; Digest what to copy of it.
	Image, Digest string
	// Target is the mirror repository[:tag] (see Session.Target).
	Target string
	// Credentials are the pods' for Image, in the kubelet's order: the
	// source is read with the first the registry accepts for the digest.
	Credentials []registry.Credential
}

// CopyError is a failed copy.
type CopyError struct {
	Source, Target string
	Err            *registry.Error
}

func (e *CopyError) Error() string {
	return fmt.Sprintf("copying %s to %s: %v", e.Source, e.Target, e.Err)
}

// PullCheck says whether pods can pull an image from the mirror.
type PullCheck struct {
	Image string
	// Registry is the mirror's host, as written in Image.
	Registry string
	// Err is nil when the pods can pull Image.
	Err *registry.Error
}

// Denied reports whether the mirror refused the pods' credentials (rather
// than failing otherwise).
func (c PullCheck) Denied() bool {
	return c.Err != nil && (c.Err.Reason == registry.ReasonUnauthorized || c.Err.Reason == registry.ReasonForbidden)
}

// NewSession starts a run.
func NewSession(o SessionOptions) *Session {
	return &Session{
		opts:   o,
		mirror: &Mirror{Resolver: o.Resolver, OverwriteTags: o.OverwriteTags, Progress: o.Progress, Seen: registry.NewBlobsSeen()},
		copies: map[string]Result{},
	}
}

// DryRun reports whether the session only plans.
func (s *Session) DryRun() bool { return s.opts.DryRun }

// Target names the mirror copy of image; ok is false when image already
// lives in the mirror.
func (s *Session) Target(image string) (target string, ok bool, err error) {
	return Target(s.opts.Prefix, image, s.opts.Layout)
}

// Totals are the copies made so far.
func (s *Session) Totals() Totals { return s.totals }

// Copy copies req's digest to its target once per session. In a dry run
// it returns the plan (Planned); a digest this session already copied to
// the target is answered from the cache (Cached), with its error if it
// failed. The error is a *CopyError.
func (s *Session) Copy(ctx context.Context, req CopyRequest) (Result, error) {
	if s.opts.DryRun {
		return Result{Source: repoOf(req.Image) + "@" + req.Digest, Target: req.Target + "@" + req.Digest, Planned: true}, nil
	}
	key := req.Digest + " " + req.Target
	res, done := s.copies[key]
	if done {
		res.Cached = true
	} else {
		cred := s.sourceCredential(ctx, req)
		res = s.mirror.Copy(ctx, req.Image, req.Digest, req.Target, cred)
		res.PullCredential = cred.Source
		s.copies[key] = res
		if res.Err == nil {
			s.tally(res)
		}
	}
	if res.Err != nil {
		return res, &CopyError{Source: res.Source, Target: req.Target, Err: res.Err}
	}
	return res, nil
}

// sourceCredential is the credential the registry accepts for the source
// digest among the pods' (the kubelet's order).
func (s *Session) sourceCredential(ctx context.Context, req CopyRequest) registry.Credential {
	r := registry.Request{Image: repoOf(req.Image) + "@" + req.Digest, Credentials: req.Credentials, CheckAccess: true}
	return registry.AcceptedCredential(r, s.opts.Resolver.Resolve(ctx, r))
}

func (s *Session) tally(r Result) {
	if r.AlreadyPresent {
		s.totals.Present++
	} else {
		s.totals.Copied++
	}
	s.totals.Blobs += r.Blobs
	s.totals.Bytes += r.Bytes
	s.totals.Signatures += r.Signatures
	s.totals.ReferrersSkipped += r.ReferrersSkipped
	s.totals.ReferrersOverBudget += r.ReferrersOverBudget
	s.totals.BlobsChecked += r.BlobsChecked
}

// CheckPull asks the mirror whether pods holding creds (their pull
// secrets and their service account's, in order) can pull image: with
// those, or anonymously when they have none; never with the local docker
// config, which a node does not have.
func (s *Session) CheckPull(ctx context.Context, image string, creds []registry.Credential) PullCheck {
	var pods []registry.Credential
	for _, c := range creds {
		if c.Source != pullsecret.SourceLocalDockerConfig {
			pods = append(pods, c)
		}
	}
	if len(pods) == 0 {
		pods = []registry.Credential{registry.Anonymous}
	}
	res := s.opts.Resolver.Resolve(ctx, registry.Request{Image: image, Credentials: pods, CheckAccess: true})
	ref, _ := imageref.Parse(image)
	return PullCheck{Image: image, Registry: ref.Registry, Err: res.Err}
}

// repoOf is an image's repository, without tag or digest.
func repoOf(image string) string {
	ref, err := imageref.Parse(image)
	if err != nil {
		return image
	}
	return ref.Name()
}
