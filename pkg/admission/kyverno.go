package admission

import (
	"regexp"
	"strconv"
	"strings"

	"github.com/imgtrust/kubectl-imgtrust/pkg/trustpolicy"
)

// Kyverno 1.19 serves two image-verification kinds: ClusterPolicy
// (kyverno.io/v1) verifyImages rules, whose CRD marks it deprecated ("will
// be removed"), and ImageValidatingPolicy (policies.kyverno.io/v1, CEL),
// the kind its documentation now recommends. We write the latter.
const (
	kyAPIVersion = "policies.kyverno.io/v1"
	kyKind       = "ImageValidatingPolicy"
)

// renderKyverno writes one ImageValidatingPolicy per rule that verifies.
// Kyverno matches the references as written in the pod spec (nginx:1.27,
// not docker.io/library/nginx), so each rule matches by a CEL expression
// over every spelling of its patterns, minus the earlier rules' patterns:
// the trust policy's first matching rule decides, exactly.
func renderKyverno(p *trustpolicy.Policy, name string) (Rendered, error) {
	var out Rendered
	for i, r := range p.Rules {
		switch r.Action {
		case trustpolicy.ActionIgnore:
			continue // nothing to verify; later rules leave its images alone
		case trustpolicy.ActionReportUnsigned:
			out.warn(r, "action", "report-unsigned (any signature will do) cannot be expressed for kyverno, which verifies attestors; rule not rendered")
			continue
		}
		attestors, names, err := kyAttestors(r)
		if err != nil {
			return Rendered{}, err
		}
		actions, require := []any{"Warn", "Audit"}, false
		if r.Action == trustpolicy.ActionRequire {
			actions, require = []any{"Deny"}, true
		}
		out.Objects = append(out.Objects, map[string]any{
			"apiVersion": kyAPIVersion, "kind": kyKind,
			"metadata": engineMeta(name, p, r),
			"spec": map[string]any{
				"validationActions": actions,
				"matchConstraints": map[string]any{"resourceRules": []any{map[string]any{
					"apiGroups": []any{""}, "apiVersions": []any{"v1"},
					"operations": []any{"CREATE", "UPDATE"}, "resources": []any{"pods"},
				}}},
				"matchImageReferences": []any{map[string]any{"expression": kyMatch(p, i)}},
				// mutateDigest pins what was verified, so a tag moved after
				// the check is never pulled (only when refusing: a warning
				// stage changes no object); verifyDigest refuses an image
				// still without a digest. `kubectl imgtrust pin` pins before.
				"validationConfigurations": map[string]any{
					"mutateDigest": require, "verifyDigest": require, "required": require,
				},
				"attestors": attestors,
				"validations": []any{map[string]any{
					"expression": "images.all(kind, images[kind].all(image, verifyImageSignatures(image, [" +
						strings.Join(names, ", ") + "]) > 0))",
					"message": "image not signed by an authority of " + r.Name() + " of the trust policy",
				}},
			},
		})
	}
	return out, nil
}

// kyAttestors are the rule's authorities, alternatives as in the rule:
// verifyImageSignatures counts those that verify.
func kyAttestors(r trustpolicy.Rule) (attestors []any, names []string, err error) {
	add := func(name string, a map[string]any) {
		a["name"] = name
		attestors = append(attestors, a)
		names = append(names, "attestors."+name)
	}
	for j, k := range r.Keys {
		key := map[string]any{"hashAlgorithm": "sha256"}
		if strings.HasPrefix(k, trustpolicy.K8sKeyScheme) {
			key["kms"] = k // cosign reads the Secret's cosign.pub itself
		} else if key["data"], err = readPEM(r, "keys["+strconv.Itoa(j)+"]", k); err != nil {
			return nil, nil, err
		}
		// Offline, as audit checks keys: no transparency log.
		add("key"+strconv.Itoa(j), map[string]any{"cosign": map[string]any{
			"key": key, "ctlog": map[string]any{"insecureIgnoreTlog": true},
		}})
	}
	if len(r.Keyless) > 0 {
		cosign := map[string]any{"keyless": map[string]any{"identities": identities(r)}}
		ctlog := map[string]any{}
		if r.IgnoreTlog {
			ctlog["insecureIgnoreTlog"] = true
		}
		if r.IgnoreSCT {
			ctlog["insecureIgnoreSCT"] = true
		}
		if len(ctlog) > 0 {
			cosign["ctlog"] = ctlog
		}
		add("keyless", map[string]any{"cosign": cosign})
	}
	for j, c := range r.Notation {
		pem, err := readPEM(r, "notation["+strconv.Itoa(j)+"]", c)
		if err != nil {
			return nil, nil, err
		}
		add("notation"+strconv.Itoa(j), map[string]any{"notary": map[string]any{"certs": map[string]any{"value": pem}}})
	}
	return attestors, names, nil
}

// kyMatch is the CEL matchImageReferences expression of rule i: one of its
// patterns and none of an earlier rule's.
func kyMatch(p *trustpolicy.Policy, i int) string {
	expr := "(" + anyCEL(refConds(p.Rules[i])) + ")"
	for _, earlier := range p.Rules[:i] {
		expr += " && !(" + anyCEL(refConds(earlier)) + ")"
	}
	return expr
}

func anyCEL(conds []refCond) string {
	parts := make([]string, len(conds))
	for i, c := range conds {
		parts[i] = c.cel()
	}
	return strings.Join(parts, " || ")
}

// Hosts that are Docker Hub, as the kubelet reads them.
const (
	hubHosts = `(?:docker\.io|index\.docker\.io|registry-1\.docker\.io)/`
	// refTail is the tag and/or digest after the repository.
	refTail = `(?::[^/@]*)?(?:@.*)?$`
	// hostFirst: a reference whose first segment is a registry host
	// (has '.' or ':', or is localhost), not a Docker Hub namespace.
	hostFirst = `^(?:[^/]*[.:][^/]*|localhost)/`
)

// refCond is one condition on ref, the reference as written: it matches
// re, and when hubless its first segment is no registry host. It is kept
// as data so that the tests evaluate in Go what the CEL says.
type refCond struct {
	re      string
	hubless bool
}

func (c refCond) cel() string {
	m := "ref.matches(r'" + c.re + "')"
	if c.hubless {
		return "(!ref.matches(r'" + hostFirst + "') && " + m + ")"
	}
	return m
}

// refConds are true of a reference when its normalised name matches one
// of the rule's normalised patterns.
func refConds(r trustpolicy.Rule) []refCond {
	var out []refCond
	for _, pat := range r.Patterns() {
		host, repo, _ := strings.Cut(pat, "/")
		switch {
		case strings.Contains(host, "**"): // any registry, or none
			if rest, ok := strings.CutPrefix(pat, "**/"); ok {
				out = append(out, refCond{re: "^(?:.*/)?" + globRE(rest) + refTail})
				continue
			}
			out = append(out, refCond{re: "^" + globRE(pat) + refTail})
		case host == "docker.io":
			repos := globRE(repo)
			// A one-segment name is Docker Hub's library/ repository.
			if one, ok := strings.CutPrefix(repo, "library/"); ok && !strings.Contains(one, "/") && !strings.Contains(one, "**") {
				repos = "(?:" + repos + "|" + globRE(one) + ")"
			}
			out = append(out, refCond{re: "^" + hubHosts + repos + refTail}, refCond{re: "^" + repos + refTail, hubless: true})
		default:
			out = append(out, refCond{re: "^" + globRE(host) + "/" + globRE(repo) + refTail})
		}
	}
	return out
}

// globRE is a trust-policy glob as RE2: "**" any run, "*" a run without
// '/', "?" one character but '/'.
func globRE(glob string) string {
	var b strings.Builder
	for i := 0; i < len(glob); i++ {
		switch {
		case strings.HasPrefix(glob[i:], "**"):
			b.WriteString(".*")
			i++
		case glob[i] == '*':
			b.WriteString("[^/]*")
		case glob[i] == '?':
			b.WriteString("[^/]")
		default:
			b.WriteString(regexp.QuoteMeta(glob[i : i+1]))
		}
	}
	return b.String()
}
