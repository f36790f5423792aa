package admission

import (
	"strconv"
	"strings"

	"github.com/imgtrust/kubectl-imgtrust/pkg/trustpolicy"
)

// The sigstore policy-controller (v0.13.1) serves ClusterImagePolicy as
// v1alpha1 and v1beta1; v1beta1 is the one its documentation writes.
const (
	pcAPIVersion = "policy.sigstore.dev/v1beta1"
	pcKind       = "ClusterImagePolicy"
	// pcRekor is checked for keyless signatures unless the rule says
	// ignoreTlog: without a ctlog the policy-controller skips the log.
	pcRekor = "https://rekor.sigstore.dev"
)

// renderPolicyController writes one ClusterImagePolicy per rule. Its
// authorities are alternatives (any one verifying admits the image), as a
// rule's are.
func renderPolicyController(p *trustpolicy.Policy, name string) (Rendered, error) {
	var out Rendered
	for i, r := range p.Rules {
		if r.Action == trustpolicy.ActionReportUnsigned {
			out.warn(r, "action", "report-unsigned (any signature will do) cannot be expressed for policy-controller, which verifies authorities; rule not rendered")
			continue
		}
		pcOverlaps(&out, p, i)
		if len(r.Notation) > 0 {
			out.warn(r, "", "notation cannot be expressed for policy-controller; it verifies cosign signatures only, so images signed only with Notation are refused (use --for kyverno)")
		}
		authorities, err := pcAuthorities(&out, r)
		if err != nil {
			return Rendered{}, err
		}
		if len(authorities) == 0 {
			out.warn(r, "", "no authority left that policy-controller can check; rule not rendered")
			continue
		}
		mode := "enforce"
		if r.Action == trustpolicy.ActionVerify {
			mode = "warn" // verify reports, require refuses
		}
		out.Objects = append(out.Objects, map[string]any{
			"apiVersion": pcAPIVersion, "kind": pcKind,
			"metadata": engineMeta(name, p, r),
			"spec": map[string]any{
				"mode":        mode,
				"images":      pcGlobs(&out, r),
				"authorities": authorities,
			},
		})
	}
	return out, nil
}

func pcAuthorities(out *Rendered, r trustpolicy.Rule) ([]any, error) {
	if r.Action == trustpolicy.ActionIgnore {
		return []any{map[string]any{"name": "ignore", "static": map[string]any{"action": "pass"}}}, nil
	}
	var auths []any
	for j, k := range r.Keys {
		field := "keys[" + strconv.Itoa(j) + "]"
		key := map[string]any{"hashAlgorithm": "sha256"}
		if ns, secret, ok := trustpolicy.K8sKey(k); ok {
			key["secretRef"] = map[string]any{"name": secret}
			out.warn(r, field, "policy-controller reads key Secrets only from its own namespace (cosign-system by default) and wants the public key as their only data entry: copy %s/%s's %s into such a Secret named %s",
				ns, secret, trustpolicy.K8sKeyData, secret)
		} else {
			pem, err := readPEM(r, field, k)
			if err != nil {
				return nil, err
			}
			key["data"] = pem
		}
		// No ctlog: checked offline, as audit checks keys.
		auths = append(auths, map[string]any{"name": "key-" + strconv.Itoa(j), "key": key})
	}
	if len(r.Keyless) > 0 {
		keyless := map[string]any{"identities": identities(r)}
		if r.IgnoreSCT {
			keyless["insecureIgnoreSCT"] = true
		}
		a := map[string]any{"name": "keyless", "keyless": keyless}
		if !r.IgnoreTlog {
			a["ctlog"] = map[string]any{"url": pcRekor}
		}
		auths = append(auths, a)
	}
	return auths, nil
}

// pcGlobs are the rule's patterns as policy-controller globs, which match
// the whole reference with its tag or digest (index.docker.io/library/
// nginx:1.27): a pattern not ending in a wildcard gets ":**" and "@**".
func pcGlobs(out *Rendered, r trustpolicy.Rule) []any {
	var globs []any
	for j, pat := range r.Patterns() {
		if strings.Contains(pat, "?") {
			out.warn(r, "images["+strconv.Itoa(j)+"]", `"?" has no policy-controller glob; written as "*", which matches more`)
			pat = strings.ReplaceAll(pat, "?", "*")
		}
		if rest, ok := strings.CutPrefix(pat, "docker.io/"); ok {
			pat = "index.docker.io/" + rest // how go-containerregistry names Docker Hub
		}
		if strings.HasSuffix(pat, "*") {
			globs = append(globs, map[string]any{"glob": pat})
			continue
		}
		globs = append(globs, map[string]any{"glob": pat + ":**"}, map[string]any{"glob": pat + "@**"})
	}
	return globs
}

// pcOverlaps warns when rule i shares images with an earlier rule: the
// trust policy's first matching rule decides, while policy-controller
// applies every ClusterImagePolicy whose globs match.
func pcOverlaps(out *Rendered, p *trustpolicy.Policy, i int) {
	r := p.Rules[i]
	for _, earlier := range p.Rules[:i] {
		if earlier.Action == trustpolicy.ActionReportUnsigned {
			continue // not rendered
		}
		for _, a := range earlier.Patterns() {
			for _, b := range r.Patterns() {
				if trustpolicy.Overlap(a, b) {
					out.warn(r, "images", "%q overlaps %s's %q: policy-controller applies every matching policy, not the first, so images matching both must satisfy both",
						b, ruleAt(earlier), a)
					return
				}
			}
		}
	}
}
