package audit

import (
	"fmt"
	"slices"

	"github.com/imgtrust/kubectl-imgtrust/pkg/imageref"

	"github.com/imgtrust/kubectl-imgtrust/pkg/registry"
)

// NeedsRegistry reports whether the registry has something to say about the
// item: tag references (what does the tag point at now, and can this pod's
// credentials pull it). A digest reference names its image already.
func (it *Item) NeedsRegistry() bool {
	return it.parsed && it.ref.Digest == ""
}

// ApplyResolution records what the registry said about the item's tag and
// adds the registry findings: tag-moved, unresolvable, no-credentials.
// credentialsKnown is false when the pod's pull secrets could not be read
// (RBAC): a refusal then proves nothing about what a node could pull.
func ApplyResolution(it *Item, res registry.Result, credentialsKnown bool) {
	if !it.NeedsRegistry() {
		return
	}
	it.CredentialSource = res.CredentialSource
	if res.Err != nil {
		switch res.Err.Reason {
		case registry.ReasonUnauthorized, registry.ReasonForbidden:
			if !credentialsKnown {
				it.add(newFinding(IDUnresolvable,
					fmt.Sprintf("%s refused the credentials we could read (%s), and the pull secrets of namespace %s are not readable", it.ref.Registry, res.Err.Message, it.Namespace),
					"run with permission to read Secrets in "+it.Namespace+" to check the pod's own pull secrets"))
				return
			}
			it.add(newFinding(IDNoCredentials,
				fmt.Sprintf("%s refused every credential this pod can use (%s): a node without the image cached cannot pull it", it.ref.Registry, res.Err.Message),
				fmt.Sprintf("add an imagePullSecret for %s to the pod or its service account: kubectl create secret docker-registry NAME --docker-server=%s -n %s, then reference it", it.ref.Registry, it.ref.Registry, it.Namespace)))
		default:
			it.add(newFinding(IDUnresolvable,
				fmt.Sprintf("the registry could not say what %q points at: %s", it.ref.TagOrLatest(), res.Err.Error()),
				unresolvableFix(res.Err.Reason)))
		}
		return
	}
	it.ResolvedDigest = res.Digest
	if len(it.RunningDigests) > 0 && !slices.Contains(it.RunningDigests, res.Digest) {
		it.add(newFinding(IDTagMoved,
			fmt.Sprintf("tag %q now points at %s, which no pod runs (they run %s): a restart or rollout would change the code",
				it.ref.TagOrLatest(), imageref.ShortDigest(res.Digest), shortDigests(it.RunningDigests)),
			"pin what runs today before anything restarts: "+it.pinCommand()+" --source=running"))
	}
}

// unresolvableFix says what to check for each kind of registry failure.
func unresolvableFix(reason registry.Reason) string {
	switch reason {
	case registry.ReasonNotFound:
		return "the tag or repository does not exist: check the spelling, or push the image"
	case registry.ReasonRateLimited:
		return "the registry rate-limited us: retry later, or authenticate (Docker Hub limits anonymous pulls)"
	case registry.ReasonTLS:
		return "the registry's certificate did not verify: pass --registry-ca-file, or --insecure-registry HOST for a test registry"
	case registry.ReasonTimeout, registry.ReasonNetwork:
		return "the registry is unreachable from here: check network access, or run with --offline"
	case registry.ReasonInsecureTokenRealm:
		return "the registry sends credentials to a token server on plain HTTP or a private address: fix its auth configuration"
	case registry.ReasonRedirectLoop, registry.ReasonRedirectRefused:
		return "the registry (or a proxy before it) redirects in a loop or to a private address: fix its redirects, or bypass the proxy"
	case registry.ReasonNotAManifest:
		return "something other than a registry answered (a proxy or login page?): check the registry address and any proxy in between"
	case registry.ReasonDigestMismatch:
		return "the registry serves content that does not match its digest: do not pin from it until it is fixed"
	case registry.ReasonTokenService:
		return "the registry's token service answers without a usable token: check its auth service"
	}
	return "check the registry, or run with --offline"
}
