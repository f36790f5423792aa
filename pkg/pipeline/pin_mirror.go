package pipeline

import (
	"context"
	"fmt"
	"strings"

	"github.com/imgtrust/kubectl-imgtrust/pkg/imageref"
	"github.com/imgtrust/kubectl-imgtrust/pkg/mirror"
	"github.com/imgtrust/kubectl-imgtrust/pkg/pin"
	"github.com/imgtrust/kubectl-imgtrust/pkg/pin/apply"
	"github.com/imgtrust/kubectl-imgtrust/pkg/workload"
)

// mirrorBefore copies each changed image into the mirror (when the run
// copies), checks the copy by digest, signs it (--sign-key), and checks that the pods will have
// a credential for the mirror. An error means the object is not patched.
func (r *pinRun) mirrorBefore(ctx context.Context, t apply.Target, changes []pin.Change) error {
	if r.session == nil {
		return nil
	}
	for _, c := range changes {
		target := strings.TrimSuffix(c.New, "@"+c.Digest)
		if err := r.copyOnce(ctx, t.Object, c.Old, c.Digest, target); err != nil {
			return fmt.Errorf("%v; nothing patched", err)
		}
		// Signed once the copy is checked, before anything names it.
		if err := r.signCopy(ctx, t.Object, target, c.Digest); err != nil {
			return fmt.Errorf("%v; nothing patched", err)
		}
	}
	if r.session.DryRun() {
		return nil
	}
	for _, c := range changes {
		if err := r.checkMirrorPull(ctx, t.Object, c); err != nil {
			return err
		}
	}
	return nil
}

// copyOnce copies image's digest to target once per run (or plans it),
// telling each copy made or planned; the error names what failed.
func (r *pinRun) copyOnce(ctx context.Context, obj workload.Object, image, digest, target string) error {
	creds, _, _ := r.plan.For(obj, image)
	res, err := r.session.Copy(ctx, mirror.CopyRequest{Image: image, Digest: digest, Target: target, Credentials: creds})
	if res.Planned || (err == nil && !res.Cached) {
		r.Events(PinEvent{Kind: PinMirrorCopy, Object: obj, Copy: res})
	}
	return err
}

// checkMirrorPull refuses a patch after which the pods would have no
// credential the mirror accepts, naming the secret to create.
func (r *pinRun) checkMirrorPull(ctx context.Context, obj workload.Object, c pin.Change) error {
	creds, _, _ := r.plan.For(obj, c.New)
	check := r.session.CheckPull(ctx, c.New, creds)
	switch {
	case check.Err == nil:
		return nil
	case !check.Denied():
		return fmt.Errorf("checking that the pods can pull %s: %v; not patched", c.New, check.Err)
	}
	sa := "default"
	if obj.Spec != nil && obj.Spec.ServiceAccount != "" {
		sa = obj.Spec.ServiceAccount
	}
	return fmt.Errorf("the pods of %s would have no credential for %s (%s): not patched; create one and give it to them, then run again:\n"+
		"  kubectl create secret docker-registry mirror-pull -n %s --docker-server=%s --docker-username=USER --docker-password=PASSWORD\n"+
		"  kubectl patch serviceaccount %s -n %s -p '{\"imagePullSecrets\":[{\"name\":\"mirror-pull\"}]}'",
		obj.Label(), check.Registry, check.Err.Reason, obj.Namespace, check.Registry, sa, obj.Namespace)
}

// mirrorResolver is -f's resolver with --mirror-to: the digest from the
// registry (or as written), copied with --write, named in the mirror.
func (r *pinRun) mirrorResolver(ctx context.Context) pin.Resolver {
	return func(image string) (string, error) {
		target, ok, err := r.session.Target(image)
		if err != nil {
			return "", err
		}
		if !ok {
			return "", pin.ErrAlreadyMirrored
		}
		ref, err := imageref.Parse(image)
		if err != nil {
			return "", err
		}
		digest := ref.Digest
		if digest == "" {
			if digest, err = DigestFor(ctx, r.resolver, r.plan, workload.Object{}, image); err != nil {
				return "", err
			}
		}
		if err := r.verify(ctx, workload.Object{}, image, digest); err != nil {
			return "", err
		}
		if err := r.copyOnce(ctx, workload.Object{}, image, digest, target); err != nil {
			return "", err
		}
		if err := r.signCopy(ctx, workload.Object{}, target, digest); err != nil {
			return "", err
		}
		return pin.PinnedImage(target, digest, r.DropTag)
	}
}

// verify refuses a digest no authority signed, when authorities are set.
func (r *pinRun) verify(ctx context.Context, obj workload.Object, image, digest string) error {
	if r.Authorities == nil {
		return nil
	}
	return VerifyDigest(ctx, r.resolver, r.Authorities, r.plan, obj, image, digest)
}
