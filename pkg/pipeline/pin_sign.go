package pipeline

import (
	"context"
	"fmt"

	"github.com/imgtrust/kubectl-imgtrust/pkg/report"
	"github.com/imgtrust/kubectl-imgtrust/pkg/sign"
	"github.com/imgtrust/kubectl-imgtrust/pkg/workload"
)

// SignPlanned: a dry run (no --apply, no --write) would sign the digest.
const SignPlanned SignStatus = "planned"

// MirrorSign is --sign-key: each copy in the mirror is signed with the
// key, by digest, before anything is pinned to it.
type MirrorSign struct {
	// Cluster reads a k8s://NAMESPACE/NAME key.
	Cluster Cluster
	// Key is a cosign private key file or k8s://NAMESPACE/NAME.
	Key string
	// Password decrypts a key file (COSIGN_PASSWORD).
	Password sign.Password
	Format   SignFormat
}

// newMirrorSigner loads --sign-key, when set, before anything is copied:
// a wrong password fails the run with nothing written.
func (r *pinRun) newMirrorSigner(ctx context.Context) error {
	if r.Mirror == nil || r.Mirror.Sign.Key == "" {
		return nil
	}
	s := r.Mirror.Sign
	signer, err := newDigestSigner(ctx, s.Cluster, s.Key, s.Password, s.Format, r.resolver)
	if err != nil {
		return err
	}
	r.signer, r.signs = signer, map[string]error{}
	return nil
}

// signCopy signs the mirror's copy target@digest with --sign-key, once per
// run (a dry run only tells that it would). A digest our key already
// signed is not signed again. The error means the object is not patched.
func (r *pinRun) signCopy(ctx context.Context, obj workload.Object, target, digest string) error {
	if r.signer == nil {
		return nil
	}
	repo, err := r.resolver.RepositoryOf(target)
	if err != nil {
		return fmt.Errorf("signing %s@%s: %v", target, digest, err)
	}
	d := repo.Digest(digest)
	if err, done := r.signs[d.Name()]; done {
		return err
	}
	o := SignOutcome{Object: obj, Image: target, Target: d.Name()}
	if r.session.DryRun() {
		o.Status, o.Message = SignPlanned, fmt.Sprintf("with %s, %s format", r.signer.key.Source, r.signer.format)
	} else {
		// The pods' credentials, then the docker config that pushed the copy.
		creds, _, _ := r.plan.For(obj, d.Name())
		var pre []SignCheck
		if r.Authorities != nil {
			pre = append(pre, SignCheck{Name: GateVerifiedUpstream, Result: checkPassed, Detail: "the source digest, before it was copied"})
		}
		o.Status, o.Message = r.signer.signDigest(ctx, d, target, creds, nil, pre...)
	}
	switch o.Status {
	case SignSigned:
		r.signed.Signed++
	case SignAlreadySigned:
		r.signed.AlreadySigned++
	case SignPlanned:
	default:
		err = fmt.Errorf("signing %s: %s", d.Name(), o.Message)
	}
	r.signs[d.Name()] = err
	if err == nil {
		r.Events(PinEvent{Kind: PinMirrorSign, Object: obj, Sign: o})
	}
	return err
}

// signTotals are what --sign-key signed, nil unless the run copied and signed.
func (r *pinRun) signTotals() *report.SignTotals {
	if r.signer == nil || r.session.DryRun() {
		return nil
	}
	t := r.signed
	return &t
}
