package pipeline

import (
	"context"

	"github.com/imgtrust/kubectl-imgtrust/pkg/mirror"
	"github.com/imgtrust/kubectl-imgtrust/pkg/registry"
	"github.com/imgtrust/kubectl-imgtrust/pkg/report"
	"github.com/imgtrust/kubectl-imgtrust/pkg/signature"
)

// PinSettings are what live pins (Pin) and file pins (PinFiles) share.
type PinSettings struct {
	// Registry says how to reach registries. The resolver is built only
	// when a digest comes from the registry, is verified or is mirrored.
	Registry registry.Options
	// Authorities, when set, refuse digests none of them signed.
	Authorities *signature.Authorities
	// DropTag writes repo@sha256:... instead of repo:tag@sha256:....
	DropTag bool
	// Mirror, when set, pins to copies in a registry we control.
	Mirror *MirrorConfig
	// Events is told what happens, in order; nil tells nothing.
	Events func(PinEvent)
}

// MirrorConfig is --mirror-to: where copies go and how they are named.
type MirrorConfig struct {
	Prefix        string
	Layout        mirror.Layout
	OverwriteTags bool
	// Progress, when set, is told the bytes written while an image is copied.
	Progress func(image string, written, total int64)
	// Sign, when its Key is set, signs each copy before anything is
	// pinned to it.
	Sign MirrorSign
}

// pinRun is one pin run's shared state.
type pinRun struct {
	PinSettings
	resolver *registry.Resolver
	session  *mirror.Session
	plan     *CredentialPlan
	// signer signs the copies (--sign-key); signs is each digest's
	// outcome, signed their tally.
	signer *digestSigner
	signs  map[string]error
	signed report.SignTotals
}

// newPinRun builds the resolver (when fromRegistry, signatures or the
// mirror need one), the mirror session, which copies only when copying,
// and the signer of the copies, whose key is loaded first.
func newPinRun(ctx context.Context, s PinSettings, fromRegistry, copying bool) (*pinRun, error) {
	r := &pinRun{PinSettings: s}
	if r.Events == nil {
		r.Events = func(PinEvent) {}
	}
	if fromRegistry || s.Authorities != nil || s.Mirror != nil {
		opts := s.Registry
		// pin writes the digest down: check it against the manifest's
		// content (one GET by digest) rather than trust a HEAD's header.
		opts.VerifyContent = true
		var err error
		if r.resolver, err = registry.New(opts); err != nil {
			return nil, err
		}
	}
	if s.Mirror != nil {
		r.session = mirror.NewSession(mirror.SessionOptions{
			Resolver: r.resolver, Prefix: s.Mirror.Prefix, Layout: s.Mirror.Layout, OverwriteTags: s.Mirror.OverwriteTags,
			DryRun: !copying, Progress: s.Mirror.Progress,
		})
	}
	return r, r.newMirrorSigner(ctx)
}

// mirrorTotals are the copies of the run, nil unless it copied.
func (r *pinRun) mirrorTotals() *mirror.Totals {
	if r.session == nil || r.session.DryRun() {
		return nil
	}
	t := r.session.Totals()
	return &t
}
