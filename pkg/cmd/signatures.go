package cmd

import (
	"context"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"

	"github.com/imgtrust/kubectl-imgtrust/pkg/audit"
	"github.com/imgtrust/kubectl-imgtrust/pkg/registry"
	"github.com/imgtrust/kubectl-imgtrust/pkg/signature"
)

// signatureFlags ask for signature checks (audit, pin).
type signatureFlags struct {
	Signatures       bool
	VerifyKeys       []string
	TrustCerts       []string
	RequireSignature bool

	checker *signature.Checker
}

func (f *signatureFlags) AddFlags(cmd *cobra.Command) {
	cmd.Flags().BoolVar(&f.Signatures, "signatures", false, "Look up cosign and Notation signatures of the running digests and say who signed (implied by --verify-key and --trust-cert)")
	cmd.Flags().StringArrayVar(&f.VerifyKeys, "verify-key", nil, "PEM public key (cosign.pub) whose signatures count, verified offline (repeatable)")
	cmd.Flags().StringArrayVar(&f.TrustCerts, "trust-cert", nil, "PEM certificate of a Notation root or signing authority whose signatures count (repeatable)")
}

// Enabled reports whether any signature flag was given.
func (f *signatureFlags) Enabled() bool {
	return f.Signatures || len(f.VerifyKeys) > 0 || len(f.TrustCerts) > 0
}

// Complete loads the keys and certificates.
func (f *signatureFlags) Complete() error {
	if !f.Enabled() {
		return nil
	}
	keys, err := signature.LoadKeys(f.VerifyKeys)
	if err != nil {
		return err
	}
	certs, err := signature.LoadCerts(f.TrustCerts)
	if err != nil {
		return err
	}
	f.checker, err = signature.New(signature.Options{Keys: keys, Certs: certs})
	return err
}

// sigJob is one signature check: per unique (repository, digest,
// credential), never per pod.
type sigJob struct {
	repo   name.Repository
	digest string
	cred   registry.Credential
	res    signature.Result
}

// checkSignatures checks the digests each item runs, with the credential
// the registry accepted for its image, and adds the findings.
func (o *AuditOptions) checkSignatures(ctx context.Context, items []audit.Item, pending []int, reqs []registry.Request, results []registry.Result) {
	jobs := map[string]*sigJob{}
	var order []*sigJob
	perItem := make([][]*sigJob, len(pending))
	froms := make([]string, len(pending))
	for n, i := range pending {
		it := &items[i]
		digests, from := it.SignatureDigests()
		repo, err := o.resolver.RepositoryOf(it.Image)
		if err != nil || len(digests) == 0 {
			continue
		}
		cred := acceptedCredential(reqs[n], results[n])
		froms[n] = from
		for _, d := range digests {
			// One check per credential content: the same login held by
			// secrets in many namespaces is one credential.
			key := repo.Name() + "@" + d + "\x00" + registry.CredentialKey(cred)
			j, ok := jobs[key]
			if !ok {
				j = &sigJob{repo: repo, digest: d, cred: cred}
				jobs[key] = j
				order = append(order, j)
			}
			perItem[n] = append(perItem[n], j)
		}
	}
	var g errgroup.Group
	g.SetLimit(o.Concurrency)
	for _, j := range order {
		g.Go(func() error {
			j.res = o.checker.Check(ctx, o.resolver.Artifacts(j.cred), j.repo, j.digest)
			return nil
		})
	}
	_ = g.Wait()
	for n, i := range pending {
		var rs []signature.Result
		for _, j := range perItem[n] {
			rs = append(rs, j.res)
		}
		audit.ApplySignatures(&items[i], rs, froms[n], o.RequireSignature)
	}
}

// acceptedCredential is the credential whose answer resolved the image,
// else the first the kubelet would try.
func acceptedCredential(req registry.Request, res registry.Result) registry.Credential {
	for _, c := range req.Credentials {
		if c.Source == res.CredentialSource {
			return c
		}
	}
	if len(req.Credentials) > 0 {
		return req.Credentials[0]
	}
	return registry.Anonymous
}
