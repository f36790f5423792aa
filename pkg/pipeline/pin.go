package pipeline

import (
	"context"
	"fmt"

	"github.com/imgtrust/kubectl-imgtrust/pkg/imageref"
	"github.com/imgtrust/kubectl-imgtrust/pkg/pin"
	"github.com/imgtrust/kubectl-imgtrust/pkg/registry"
	"github.com/imgtrust/kubectl-imgtrust/pkg/signature"
	"github.com/imgtrust/kubectl-imgtrust/pkg/trustpolicy"
	"github.com/imgtrust/kubectl-imgtrust/pkg/workload"
)

// DigestFor asks the registry for the digest of one image of obj, with the
// credentials plan gives obj.
func DigestFor(ctx context.Context, resolver *registry.Resolver, plan *CredentialPlan, obj workload.Object, image string) (string, error) {
	creds, _, err := plan.For(obj, image)
	if err != nil && len(creds) == 0 {
		return "", err
	}
	res := resolver.Resolve(ctx, registry.Request{Image: image, Credentials: creds})
	if res.Err != nil {
		return "", res.Err // pin.Plan names the image
	}
	return res.Digest, nil
}

// VerifyDigest refuses (*pin.Refusal) a digest of image that no authority
// signed: a --verify-key or --trust-cert, or with a trust policy an
// authority of the image's rule. Signatures are read with the credentials
// a node would use for obj's image.
func VerifyDigest(ctx context.Context, resolver *registry.Resolver, authorities *signature.Authorities, plan *CredentialPlan, obj workload.Object, image, digest string) error {
	repo, err := resolver.RepositoryOf(image)
	if err != nil {
		return err
	}
	choice := authorities.ForImage(image, repo)
	short := imageref.ShortDigest(digest)
	switch {
	case choice.Uncovered:
		return &pin.Refusal{Reason: pin.ReasonNotVerified, Message: fmt.Sprintf("no rule of %s covers %s: not pinned", authorities.PolicySource(), repo.Name())}
	case choice.Checker == nil || choice.Action == trustpolicy.ActionReportUnsigned:
		return nil // the rule asks for no authority
	}
	creds, _, _ := plan.For(obj, image)
	req := registry.Request{Image: repo.Digest(digest).Name(), Credentials: creds, CheckAccess: true}
	cred := registry.AcceptedCredential(req, resolver.Resolve(ctx, req))
	res := choice.Checker.Check(ctx, resolver.Artifacts(cred), repo, digest)
	if res.Status == signature.StatusVerified {
		for _, r := range res.Required {
			if r.Status != signature.RequiredVerified {
				why := string(r.Status)
				if r.Problem != "" {
					why += ": " + r.Problem
				}
				return &pin.Refusal{Reason: pin.ReasonNotVerified, Message: fmt.Sprintf("%s has no %s attestation verified by an authority of %s in %s (%s): not pinned", short, r.PredicateType, choice.Rule, authorities.PolicySource(), why)}
			}
		}
		return nil
	}
	why := string(res.Status)
	if res.Error != "" {
		why += ": " + res.Error
	}
	by := "a --verify-key or --trust-cert"
	if choice.Rule != "" {
		by = "an authority of " + choice.Rule + " in " + authorities.PolicySource()
	}
	return &pin.Refusal{Reason: pin.ReasonNotVerified, Message: fmt.Sprintf("%s is not signed by %s (%s): not pinned", short, by, why)}
}
