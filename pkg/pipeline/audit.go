package pipeline

import (
	"context"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/imgtrust/kubectl-imgtrust/pkg/audit"
	"github.com/imgtrust/kubectl-imgtrust/pkg/factcache"
	"github.com/imgtrust/kubectl-imgtrust/pkg/provenance"
	"github.com/imgtrust/kubectl-imgtrust/pkg/pullsecret"
	"github.com/imgtrust/kubectl-imgtrust/pkg/registry"
	"github.com/imgtrust/kubectl-imgtrust/pkg/signature"
	"github.com/imgtrust/kubectl-imgtrust/pkg/workload"
)

// AuditStage is the registry stage of an audit: every image is asked once
// per unique (reference, credential), with the credentials of the pods the
// spec makes now and, where a controller's running pods carry other pull
// secrets, with theirs (the kubelet reads only a pod's own spec); then,
// when Signatures is set, the signatures of the digests that run.
type AuditStage struct {
	Resolver *registry.Resolver
	// Signatures say who must have signed each image (one checker, or a
	// trust policy's rules); nil: no signature checks.
	Signatures       *signature.Authorities
	RequireSignature bool
	Concurrency      int    // signature, provenance and tag reads in flight at most per registry host
	Done             func() // called when the resolutions are in (progress)

	// Provenance reads where each running digest came from (--provenance,
	// --max-age); ProvenanceOptions say which findings to add.
	Provenance        bool
	ProvenanceOptions audit.ProvenanceOptions
	// Platform picks the manifest of multi-arch images; nil: each
	// workload's node's platform.
	Platform *v1.Platform
	// Updates lists each repository's tags once to find newer releases of
	// version tags (--updates).
	Updates bool
	// Cost, when set, is filled with what the optional reads cost.
	Cost *audit.Cost
	// Shared, when several clusters are audited at once, makes their
	// stages read each signature, provenance and tag list once.
	Shared *Shared
	// Facts, when set, keeps digest facts between runs (facts.go):
	// signature verdicts, provenance, the manifests of indexes. Signature
	// verdicts only with FactsAuthorities (SignatureConfig.FactsKey).
	Facts            *factcache.Cache
	FactsAuthorities string
	// vulns, set per cluster with --vulnerabilities, gets the manifests of
	// report digests that may be indexes of what runs.
	vulns *vulnStage
	// creds, set per cluster when the listing started it, is the read of
	// the pull secrets and service accounts the plan comes from.
	creds *pullsecret.Read
}

// Run adds the registry findings to items and returns warnings naming what
// could not be read.
func (s AuditStage) Run(ctx context.Context, client kubernetes.Interface, found *workload.Discovery, items []audit.Item) []string {
	var pending []int
	for i := range items {
		if items[i].NeedsRegistry() {
			pending = append(pending, i)
		}
	}
	if len(pending) == 0 {
		return nil
	}
	plan, warnings := loadCredentialPlan(ctx, client, found, s.creds)

	// reqs[n] is pending[n]'s template view; pods[n] its running-pod views,
	// each an index into reqs.
	reqs := make([]registry.Request, len(pending), 2*len(pending))
	known := make([]bool, len(pending), 2*len(pending))
	pods := make([][]podsRequest, len(pending))
	localWarned := false
	warn := func(err error) {
		if err != nil && !localWarned {
			warnings = append(warnings, err.Error())
			localWarned = true
		}
	}
	for n, i := range pending {
		it := &items[i]
		obj := it.Object()
		creds, complete, err := plan.For(obj, it.Image)
		warn(err)
		reqs[n] = registry.Request{Image: it.Image, Credentials: creds, CheckAccess: true}
		known[n] = complete
		if obj.Kind == "Pod" {
			continue
		}
		for _, secrets := range it.RunningPodSecrets() {
			podCreds, podComplete, err := plan.ForPods(obj.Namespace, secrets, it.Image)
			warn(err)
			if CredentialsKey(podCreds) == CredentialsKey(creds) {
				continue // the same credentials: the same answer
			}
			pods[n] = append(pods[n], podsRequest{secrets: secrets, req: len(reqs)})
			reqs = append(reqs, registry.Request{Image: it.Image, Credentials: podCreds, CheckAccess: true})
			known = append(known, podComplete)
		}
	}
	results := s.Resolver.ResolveAll(ctx, reqs)
	if s.Done != nil {
		s.Done()
	}
	s.readTagIndexes(ctx, items, pending, reqs, results)
	for n, i := range pending {
		audit.ApplyResolution(&items[i], results[n], known[n])
		if len(pods[n]) == 0 {
			continue
		}
		views := make([]audit.PodsView, len(pods[n]))
		for k, p := range pods[n] {
			views[k] = audit.PodsView{Secrets: p.secrets, Result: results[p.req], Known: known[p.req]}
		}
		audit.ApplyRunningPods(&items[i], plan.NewPodSecrets(items[i].Object()), views)
	}
	var attested map[string][]provenance.Attested
	if s.Signatures != nil {
		// After the resolutions: the digests to check and the credential
		// the registry accepted come from them.
		attested = s.checkSignatures(ctx, items, pending, reqs, results)
	}
	if s.Provenance {
		warnings = append(warnings, s.readProvenance(ctx, client, items, pending, reqs, results, attested)...)
	}
	if s.Updates {
		s.findUpdates(ctx, items, pending, reqs, results)
	}
	if s.vulns != nil {
		s.readIndexes(ctx, items, pending, reqs, results)
	}
	return warnings
}

// podsRequest is one registry request for a controller's running pods.
type podsRequest struct {
	secrets []string
	req     int
}

// sigJob is one signature check: per unique (repository, digest,
// credential), never per pod.
type sigJob struct {
	key    string // digestKey: what the provenance read joins on
	image  string // the first item's image: the reads draw from its lookup budget
	repo   name.Repository
	digest string
	cred   registry.Credential
	choice signature.Choice
	res    signature.Result
}

// checkSignatures checks the digests each item runs, with the credential
// the registry accepted for its image, and adds the findings. It returns
// the attestations found, by digestKey, for the provenance read.
func (s AuditStage) checkSignatures(ctx context.Context, items []audit.Item, pending []int, reqs []registry.Request, results []registry.Result) map[string][]provenance.Attested {
	jobs := map[string]*sigJob{}
	var order []*sigJob
	perItem := make([][]*sigJob, len(pending))
	froms := make([]string, len(pending))
	choices := make([]signature.Choice, len(pending))
	for n, i := range pending {
		repo, digests, from, cred, ok := s.digestsOf(&items[i], reqs[n], results[n])
		if !ok {
			continue
		}
		froms[n] = from
		choices[n] = s.Signatures.ForImage(items[i].Image, repo)
		if choices[n].Checker == nil {
			continue // a rule that ignores the image, or none covers it
		}
		for _, d := range digests {
			// One check per credential content (the same login held by
			// secrets in many namespaces is one credential) and rule.
			key := digestKey(repo, d, cred)
			rule := choices[n].Rule + "\x00" + choices[n].KeySet
			j, ok := jobs[rule+"\x00"+key]
			if !ok {
				j = &sigJob{key: key, image: items[i].Image, repo: repo, digest: d, cred: cred, choice: choices[n]}
				jobs[rule+"\x00"+key] = j
				order = append(order, j)
			}
			perItem[n] = append(perItem[n], j)
		}
	}
	perHost(order, func(j *sigJob) string { return j.repo.RegistryStr() }, s.Concurrency, func(j *sigJob) {
		j.res, _ = once(s.Shared, "signature\x00"+j.choice.Rule+"\x00"+j.choice.KeySet+"\x00"+j.key, func() signature.Result {
			return s.signatureFact(j, func() signature.Result {
				return j.choice.Checker.Check(ctx, s.Resolver.Artifacts(j.cred).ForImage(j.image).ForDigest(j.repo.Digest(j.digest)), j.repo, j.digest)
			})
		})
	})
	for n, i := range pending {
		var rs []signature.Result
		for _, j := range perItem[n] {
			rs = append(rs, j.res)
		}
		audit.ApplySignatures(&items[i], rs, froms[n], audit.SignaturePolicy{
			Require: s.RequireSignature, Rule: choices[n].Rule, Action: choices[n].Action,
			Uncovered: choices[n].Uncovered, NoMatch: choices[n].NoMatch, Source: s.Signatures.PolicySource(),
		})
	}
	attested := map[string][]provenance.Attested{}
	for _, j := range order {
		for _, a := range j.res.Attestations {
			attested[j.key] = append(attested[j.key], provenance.Attested{Statement: a.Statement, Verified: a.Verified, SignedBy: a.SignedBy})
		}
	}
	return attested
}

// digestsOf is where the signature and provenance reads of an item
// start: its repository, the digests it runs and where they came from, and
// the credential the registry accepted for it. ok is false when there is
// nothing to read.
func (s AuditStage) digestsOf(it *audit.Item, req registry.Request, res registry.Result) (repo name.Repository, digests []string, from string, cred registry.Credential, ok bool) {
	digests, from = it.SignatureDigests()
	repo, err := s.Resolver.RepositoryOf(it.Image)
	if err != nil || len(digests) == 0 {
		return repo, nil, "", cred, false
	}
	return repo, digests, from, registry.AcceptedCredential(req, res), true
}

// digestKey identifies one registry read of a digest: per repository,
// digest and credential content (the same login held by secrets in many
// namespaces is one credential).
func digestKey(repo name.Repository, digest string, cred registry.Credential) string {
	return repo.Name() + "@" + digest + "\x00" + registry.CredentialKey(cred)
}

// CredentialsKey identifies a credential list by content, in order.
func CredentialsKey(creds []registry.Credential) string {
	ids := make([]string, len(creds))
	for i, c := range creds {
		ids[i] = registry.CredentialKey(c)
	}
	return strings.Join(ids, ",")
}
