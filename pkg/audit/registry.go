package audit

import (
	"fmt"
	"slices"
	"strings"

	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/imgtrust/kubectl-imgtrust/pkg/imageref"
	"github.com/imgtrust/kubectl-imgtrust/pkg/registry"
)

// NeedsRegistry reports whether the registry has something to say about the
// item: for a tag, what it points at now; for tags and digests alike,
// whether this pod's credentials can pull it (a pinned image from a private
// registry without a pull secret fails on a new node just the same).
func (it *Item) NeedsRegistry() bool {
	return it.parsed
}

// ApplyResolution records what the registry said about the image for the
// pods the item's spec makes (for a Pod, the pod itself) and adds the
// registry findings: tag-moved, unresolvable, no-credentials. Pods that
// run platform manifests of the index the reference points at are then no
// longer mixed-running-digests or running-differs-from-spec; when the
// index could not be read, whether the tag moved is unresolvable.
// credentialsKnown is false when the pod's pull secrets could not be read
// (RBAC): a refusal then proves nothing about what a node could pull.
func ApplyResolution(it *Item, res registry.Result, credentialsKnown bool) {
	if !it.NeedsRegistry() {
		return
	}
	it.CredentialSource = res.CredentialSource
	pinned := it.ref.Digest != ""
	// Last, so that what it cannot tell joins the item's one unresolvable
	// finding, if the registry already could not answer.
	defer it.addRunningFindings(resolvedIndex(res))
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
				fmt.Sprintf("%s refused every credential this pod can use (%s): a node without the image cached cannot pull it%s", it.ref.Registry, res.Err.Message, nodeProviderNote(it.ref.Registry)),
				fmt.Sprintf("add an imagePullSecret for %s to the pod or its service account: kubectl create secret docker-registry NAME --docker-server=%s -n %s, then reference it", it.ref.Registry, it.ref.Registry, it.Namespace)))
		case registry.ReasonNotFound:
			if pinned {
				it.add(newFinding(IDUnresolvable,
					fmt.Sprintf("the registry has no manifest with the pinned digest %s (%s): a node without it cached cannot pull it", imageref.ShortDigest(it.ref.Digest), res.Err.Message),
					"the digest was deleted or never pushed: push it again, or pin to a digest the registry has"))
				return
			}
			fallthrough
		default:
			what := fmt.Sprintf("what %q points at", it.ref.TagOrLatest())
			if pinned {
				what = "whether this pod can pull " + imageref.ShortDigest(it.ref.Digest)
			}
			it.add(newFinding(IDUnresolvable,
				fmt.Sprintf("the registry could not say %s: %s", what, res.Err.Error()),
				unresolvableFix(res.Err.Reason)))
		}
		return
	}
	it.ResolvedDigest = res.Digest
	if !it.RunsOtherThan(res) {
		return
	}
	for _, d := range it.RunningDigests {
		if slices.Contains(res.IndexManifests, d) {
			// A platform manifest of the index the tag points at (CRI-O
			// reports it as the imageID): the same image, not moved.
			return
		}
	}
	if res.IndexError != nil || (types.MediaType(res.MediaType).IsIndex() && res.IndexManifests == nil) {
		// Only the index's list could tell a platform manifest of it
		// (CRI-O's imageID) from another image: not read, nothing proven.
		why := "its manifests were not read"
		if res.IndexError != nil {
			why = res.IndexError.Error()
		}
		it.add(newFinding(IDUnresolvable,
			fmt.Sprintf("tag %q points at the index %s and the pods run %s; the registry could not say whether they are platform manifests of it (%s), so whether the tag moved is not known",
				it.ref.TagOrLatest(), imageref.ShortDigest(res.Digest), shortDigests(it.RunningDigests), why),
			"run the audit again when the registry answers; to keep what runs today whatever the tag does: "+it.pinCommand()+" --source=running"))
		return
	}
	it.add(newFinding(IDTagMoved,
		fmt.Sprintf("tag %q now points at %s, which no pod runs (they run %s): a restart or rollout would change the code",
			it.ref.TagOrLatest(), imageref.ShortDigest(res.Digest), shortDigests(it.RunningDigests)),
		"pin what runs today before anything restarts: "+it.pinCommand()+" --source=running"))
}

// resolvedIndex is what res tells of the index the reference points at.
func resolvedIndex(res registry.Result) indexView {
	switch {
	case res.Err != nil:
		return indexView{unknown: res.Err.Error()}
	case res.MediaType == "":
		return indexView{unknown: "the registry did not say what the reference points at"}
	case !types.MediaType(res.MediaType).IsIndex():
		return indexView{}
	case res.IndexError != nil:
		return indexView{digest: res.Digest, unknown: res.IndexError.Error()}
	case res.IndexManifests == nil:
		return indexView{digest: res.Digest, unknown: "its manifests were not read"}
	}
	return indexView{digest: res.Digest, children: res.IndexManifests}
}

// RunsOtherThanResolved reports whether a pod of the item runs another
// digest than the one its reference (tag or digest) resolved to (res):
// only then may the index's manifests (res.IndexManifests) be needed.
func (it *Item) RunsOtherThanResolved(res registry.Result) bool {
	return it.parsed && res.Err == nil && res.Digest != "" &&
		slices.ContainsFunc(it.RunningDigests, func(d string) bool { return d != res.Digest })
}

// RunsOtherThan reports whether the item's tag resolved (res) to a digest
// none of its pods runs. When res is an index, its manifests
// (res.IndexManifests, read by the caller only then) may still be what
// runs.
func (it *Item) RunsOtherThan(res registry.Result) bool {
	return it.parsed && it.ref.Digest == "" && res.Err == nil && res.Digest != "" &&
		len(it.RunningDigests) > 0 && !slices.Contains(it.RunningDigests, res.Digest)
}

// PodsView is what the registry said for the running pods of a controller
// that carry their own pull secrets, different from what new pods get.
type PodsView struct {
	Secrets []string // the pods' imagePullSecrets
	Result  registry.Result
	Known   bool // the secrets could be read
}

// ApplyRunningPods compares the running pods' own credentials with the
// template's (already applied by ApplyResolution, whose view newSecrets
// names): the kubelet reads only a pod's spec, so pods created before a
// secret was added to (or removed from) the template or service account
// pull with what they were created with.
func ApplyRunningPods(it *Item, newSecrets []string, views []PodsView) {
	if !it.NeedsRegistry() {
		return
	}
	var existing *Finding
	for i := range it.Findings {
		if it.Findings[i].ID == IDNoCredentials {
			existing = &it.Findings[i]
		}
	}
	for _, v := range views {
		refused := v.Result.Err != nil && (v.Result.Err.Reason == registry.ReasonUnauthorized || v.Result.Err.Reason == registry.ReasonForbidden)
		switch {
		case !v.Known:
		case refused && existing != nil:
			existing.Message += fmt.Sprintf("; the running pods' own pull secrets (%s) are refused too", secretList(v.Secrets))
		case refused:
			f := newFinding(IDNoCredentials,
				fmt.Sprintf("the running pods were created with pull secrets %s, which %s refuses (%s): they cannot pull the image again, e.g. on a new node after an eviction; pods created now get %s and can pull%s",
					secretList(v.Secrets), it.ref.Registry, v.Result.Err.Message, secretList(newSecrets), nodeProviderNote(it.ref.Registry)),
				it.recreatePodsFix())
			it.add(f)
			existing = &it.Findings[len(it.Findings)-1]
		case v.Result.Err == nil && existing != nil:
			existing.Message += fmt.Sprintf("; the running pods still pull with the secrets they were created with (%s), so the template or its service account lost a secret since they started", secretList(v.Secrets))
			existing.Fix = fmt.Sprintf("add the secret to the template (spec.template.spec.imagePullSecrets) or to its service account, so that new pods get it: kubectl create secret docker-registry NAME --docker-server=%s -n %s if it is gone", it.ref.Registry, it.Namespace)
		}
	}
}

// recreatePodsFix says how to give running pods the template's current
// pull secrets: they are fixed at pod creation.
func (it *Item) recreatePodsFix() string {
	switch it.Kind {
	case "Deployment", "StatefulSet", "DaemonSet":
		return "recreate the running pods so they get the current pull secrets: kubectl rollout restart " + it.objectRef() + " -n " + it.Namespace
	case "CronJob", "Job":
		return "the pods of the next Job get the current pull secrets; delete the old pods of " + it.objectRef() + " -n " + it.Namespace + " once it has run"
	}
	return "recreate the running pods so they get the current pull secrets: delete them and let " + it.objectRef() + " -n " + it.Namespace + " create new ones"
}

func secretList(names []string) string {
	if len(names) == 0 {
		return "(none)"
	}
	return "[" + strings.Join(names, ", ") + "]"
}

// nodeProviderNote warns that a node may hold credentials of its own for
// registries that cloud providers serve through kubelet credential
// providers (ECR, GCR/Artifact Registry, ACR), which the API cannot show.
func nodeProviderNote(host string) string {
	if !imageref.ProviderServed(host) {
		return ""
	}
	return "; unless the nodes run a kubelet credential provider for " + host + ", which may still pull it"
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
