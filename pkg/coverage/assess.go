package coverage

import (
	"fmt"
	"strings"

	"github.com/imgtrust/kubectl-imgtrust/pkg/imageref"
	"github.com/imgtrust/kubectl-imgtrust/pkg/pullsecret"
	"github.com/imgtrust/kubectl-imgtrust/pkg/registry"
	"github.com/imgtrust/kubectl-imgtrust/pkg/workload"
)

// verdict is the status of one image of a workload.
type verdict struct {
	repo    string
	status  Status
	secrets []SecretRef
	detail  string
}

type assessor struct {
	in      Input
	w       workload.Workload
	ws      workloadSecrets
	keyring *pullsecret.Keyring
	need    func(Check)
	// pulls are the images other workloads' credentials pulled, by node.
	pulls pulls
	// note records an assumption a verdict rests on (said once).
	note func(string)
}

// verification returns the verdict of a check, asking need for it when
// collecting; ok is false without --verify.
func (a assessor) verification(c Check) (registry.Verification, bool) {
	if a.need != nil {
		a.need(c)
		return registry.Verification{}, false
	}
	if a.in.Verdicts == nil {
		return registry.Verification{}, false
	}
	v, ok := a.in.Verdicts[c.Key]
	if !ok {
		return registry.Verification{Result: registry.VerifyUnreachable, Message: "not checked"}, true
	}
	return v, true
}

// assess decides one image; see the package documentation for the order.
func (a assessor) assess(img image) verdict {
	ws := a.ws
	reg, repo := img.ref.Registry, img.ref.Repository
	v := verdict{repo: repo}
	if len(ws.failing) > 0 {
		v.status, v.secrets = InvalidSecret, ws.failing
		v.detail = fmt.Sprintf("the kubelet rejects %s, so every image pull of these pods fails: fix or remove it", strings.Join(ws.failingWhy, "; "))
		return v
	}
	if ws.unknown != "" {
		v.status, v.detail = Unknown, ws.unknown
		return v
	}
	repoName, err := registry.Repository(reg, repo, false)
	if err != nil {
		v.status, v.detail = Unknown, fmt.Sprintf("cannot match %s/%s: %v", reg, repo, err)
		return v
	}
	if matches := a.keyring.LookupRepository(repoName); len(matches) > 0 {
		return a.matched(v, reg, repo, matches)
	}
	return a.unmatched(v, reg, repo, img.pods)
}

// matched: some secret has a key for the image. The kubelet tries every
// matching credential in order; one accepted is enough.
func (a assessor) matched(v verdict, reg, repo string, matches []pullsecret.Match) verdict {
	ws := a.ws
	var users, accepted, rejected, unchecked []string
	seen := map[string]bool{}
	for _, m := range matches {
		if seen[m.Credential.ID] {
			continue
		}
		seen[m.Credential.ID] = true
		ref := SecretRef{Name: secretName(m.Source), Source: ws.source}
		v.secrets = appendRef(v.secrets, ref)
		who := fmt.Sprintf("user %q from %s", m.Username, ref.Name)
		check := Check{Key: credentialKey(reg, m.Credential), Repository: repo, Credential: m.Credential, Username: m.Username, Source: m.Source}
		if m.Empty {
			// The kubelet tries an entry without a username as an empty
			// credential: an anonymous pull, whose answer is per repository.
			who = fmt.Sprintf("an empty entry %q in %s (pulls anonymously)", m.Key, ref.Name)
			check.Key, check.Credential, check.Username = anonymousKey(reg, repo), registry.Anonymous, ""
		}
		if m.DockerHubFallback {
			who += " (through the index.docker.io fallback)"
		}
		users = append(users, who)
		res, verified := a.verification(check)
		switch {
		case !verified:
		case res.Result == registry.VerifyOK:
			accepted = append(accepted, who)
		case res.Result == registry.VerifyRejected:
			rejected = append(rejected, who+": "+res.Message)
		default:
			unchecked = append(unchecked, who+": "+res.Message)
		}
	}
	v.status = Covered
	switch {
	case len(accepted) > 0:
		v.detail = "verified: " + reg + " accepts " + strings.Join(accepted, ", ")
		if len(rejected) > 0 {
			v.detail += "; refused " + strings.Join(rejected, "; ")
		}
	case len(rejected) > 0 && len(unchecked) == 0:
		v.status = CredentialRejected
		v.detail = fmt.Sprintf("refused %s: update the secret with a valid login for %s", strings.Join(rejected, "; "), reg)
		if imageref.ProviderServed(reg) {
			v.detail += fmt.Sprintf("; nodes with a kubelet credential provider for %s may still pull it, which the API cannot show", reg)
		}
	case len(unchecked) > 0:
		v.detail = fmt.Sprintf("%s; could not verify: %s", strings.Join(users, ", "), strings.Join(unchecked, "; "))
	default:
		v.detail = strings.Join(users, ", ")
	}
	if len(ws.missing) > 0 {
		v.detail += fmt.Sprintf("; also references missing secret %s (the kubelet skips it)", strings.Join(ws.labels(refNames(ws.missing)), ", "))
	}
	if len(ws.notes) > 0 {
		v.detail += "; note " + strings.Join(ws.notes, "; ")
	}
	return v
}

// unmatched: no secret has a key for the image, so the kubelet pulls
// anonymously (or with the node's own credentials).
func (a assessor) unmatched(v verdict, reg, repo string, pods int) verdict {
	ws := a.ws
	if len(ws.missing) > 0 {
		v.status, v.secrets = MissingSecret, ws.missing
		v.detail = fmt.Sprintf("secret %s does not exist in %s and no other secret covers %s: new pods fail to pull (ImagePullBackOff) unless the registry is public; ",
			strings.Join(ws.labels(refNames(ws.missing)), ", "), ws.ns, reg)
		if where := a.elsewhere(ws.missing); where != "" {
			v.detail += where + ": copy it (see the namespace findings)"
		} else {
			v.detail += fmt.Sprintf("create it: kubectl create secret docker-registry %s -n %s --docker-server=%s --docker-username=USER --docker-password=PASSWORD", ws.missing[0].Name, ws.ns, reg)
		}
		return v
	}
	if len(ws.invalid) > 0 {
		v.status, v.secrets = InvalidSecret, ws.invalid
		v.detail = fmt.Sprintf("the kubelet ignores %s, and no other secret covers %s: recreate it with kubectl create secret docker-registry", strings.Join(ws.invalidWhy, "; "), reg)
		return v
	}
	v.secrets = ws.usable
	anon, verified := a.verification(Check{Key: anonymousKey(reg, repo), Repository: repo, Credential: registry.Anonymous, Source: registry.Anonymous.Source})
	if verified && anon.Result == registry.VerifyOK {
		v.status, v.detail = NotNeeded, fmt.Sprintf("no secret needed: %s", anon.Message)
		return v
	}
	refused := ""
	switch {
	case verified && anon.Result == registry.VerifyRejected:
		refused = fmt.Sprintf("%s refuses anonymous pulls (%s)", reg, strings.TrimPrefix(anon.Message, reg+" "))
	case verified:
		refused = fmt.Sprintf("anonymous access not verified: %s", anon.Message)
	}
	// A node credential provider (which may pull with the pod's service
	// account token) is a credential the API cannot show.
	if by := nodeCredential(a.in.NodeCredentials, reg, repo); by != "" {
		v.status = NodeProvided
		v.detail = fmt.Sprintf("no pull secret covers %s, but %s serves it on the nodes: no pull secret is not no credential; a provider that uses service-account tokens pulls as service account %s/%s", reg, by, ws.ns, ws.serviceAccount)
		if refused != "" {
			v.detail += "; " + refused
		}
		return v
	}
	if pods > 0 && verified && anon.Result == registry.VerifyRejected {
		if cached, ok := a.onCachedPull(v, reg, repo, refused); ok {
			return cached
		}
	}
	if pods > 0 {
		v.status = NodeProvided
		v.detail = fmt.Sprintf("no pull secret covers %s, yet %s run it: the node has credentials or a cached image, which the API cannot show; a new node may fail to pull", reg, plural(pods, "pod"))
		if refused != "" {
			v.detail += "; " + refused
		}
		if nodes, by := a.pulls.sharedNodes(a.w, reg+"/"+repo); !verified && len(nodes) > 0 {
			v.detail += fmt.Sprintf("; %s pulled it onto node %s with a pull secret: --verify tells whether these pods run on that cached pull", strings.Join(by[nodes[0]], ", "), nodes[0])
		}
		return v
	}
	keys := a.keys()
	switch {
	case verified && anon.Result == registry.VerifyRejected:
		v.status = NoMatchingCredential
		v.detail = refused + ", and no pull secret has a key for it"
		if len(keys) > 0 {
			v.detail += " (keys: " + strings.Join(keys, ", ") + ")"
		}
		v.detail += fmt.Sprintf(": add a pull secret for %s", reg)
	case len(ws.usable) > 0:
		v.status = NoMatchingCredential
		v.detail = fmt.Sprintf("%s %s no key for %s (keys: %s); fine only if %s serves it anonymously: check with --verify",
			strings.Join(ws.labels(refNames(ws.usable)), ", "), hasHave(len(ws.usable)), reg, strings.Join(keys, ", "), reg)
		if refused != "" {
			v.detail = fmt.Sprintf("%s %s no key for %s (keys: %s); %s", strings.Join(ws.labels(refNames(ws.usable)), ", "), hasHave(len(ws.usable)), reg, strings.Join(keys, ", "), refused)
		}
	default:
		v.status = Unknown
		v.detail = fmt.Sprintf("no pull secret: pulls are anonymous, which works only if %s serves %s publicly; --verify checks it", reg, repo)
		if refused != "" {
			v.detail = "no pull secret; " + refused
		}
	}
	return v
}

// keys lists the registry keys of the workload's usable secrets.
func (a assessor) keys() []string {
	var out []string
	seen := map[string]bool{}
	for _, s := range a.ws.sources {
		for _, e := range s.Secret.Entries {
			if !seen[e.Key] {
				seen[e.Key] = true
				out = append(out, e.Key)
			}
		}
	}
	return out
}

// elsewhere says which other namespaces hold the missing secrets.
func (a assessor) elsewhere(missing []SecretRef) string {
	var parts []string
	for _, m := range missing {
		var nss []string
		for _, loc := range a.in.Elsewhere[m.Name] {
			if loc.Namespace != a.ws.ns {
				nss = append(nss, loc.Namespace)
			}
		}
		if len(nss) > 0 {
			parts = append(parts, fmt.Sprintf("%s exists in namespace %s, but a pod can use only secrets of its own namespace", m.Name, strings.Join(nss, ", ")))
		}
	}
	return strings.Join(parts, "; ")
}

// secretName takes NAME from a keyring source "pod-secret NS/NAME".
func secretName(source string) string {
	if i := strings.LastIndex(source, "/"); i >= 0 {
		return source[i+1:]
	}
	return source
}

func appendRef(refs []SecretRef, r SecretRef) []SecretRef {
	for _, x := range refs {
		if x == r {
			return refs
		}
	}
	return append(refs, r)
}

func hasHave(n int) string {
	if n == 1 {
		return "has"
	}
	return "have"
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}
