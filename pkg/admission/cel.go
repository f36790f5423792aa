package admission

import (
	"fmt"
	"strings"
)

// celString quotes s as a CEL string literal.
func celString(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

func celList(items []string) string {
	quoted := make([]string, len(items))
	for i, s := range items {
		quoted[i] = celString(s)
	}
	return "[" + strings.Join(quoted, ", ") + "]"
}

// podSpecOf is the CEL for the pod spec of root ("object" or
// "oldObject"), wherever its kind keeps it.
func podSpecOf(root string) string {
	return fmt.Sprintf(`%[1]s.kind == 'Pod' ? %[1]s.spec : `+
		`%[1]s.kind == 'CronJob' ? %[1]s.spec.jobTemplate.spec.template.spec : `+
		`%[1]s.kind == 'PodTemplate' ? %[1]s.?template.?spec.orValue({}) : `+
		`%[1]s.spec.?template.?spec.orValue({})`, root)
}

// imagesOf is the CEL for every image the kubelet pulls for spec:
// containers, init and ephemeral containers, and image volumes.
func imagesOf(spec string) string {
	field := func(list string) string {
		return fmt.Sprintf(`%s.?%s.orValue([]).map(c, c.?image.orValue(''))`, spec, list)
	}
	return strings.Join([]string{
		field("containers"), field("initContainers"), field("ephemeralContainers"),
		fmt.Sprintf(`%s.?volumes.orValue([]).filter(v, has(v.image)).map(v, v.image.?reference.orValue(''))`, spec),
	}, " + ")
}

// variable is a named CEL expression of the policy.
type variable struct{ Name, Expression string }

// validation is one rule's CEL check with the message that names the
// images, the rule and the fix.
type validation struct{ Rule, Expression, Message string }

// celVariables compute, once per request, the images to check: those the
// request adds (an UPDATE that keeps its images passes, so no running
// workload becomes un-updatable), not exempt, not empty.
func (r Rules) celVariables() []variable {
	vars := []variable{
		{"spec", podSpecOf("object")},
		{"images", imagesOf("variables.spec")},
		{"oldSpec", "oldObject == null ? {} : (" + podSpecOf("oldObject") + ")"},
		{"oldImages", imagesOf("variables.oldSpec")},
		{"checked", "variables.images.filter(i, i != '' && !(i in variables.oldImages)" + exemptCEL(r.Exempt) + ")"},
	}
	if r.RequireDigest {
		vars = append(vars, variable{"unpinned", fmt.Sprintf("variables.checked.filter(i, !i.matches(%s))", celString(digestPattern))})
	}
	if len(r.Allowed) > 0 {
		vars = append(vars, variable{"disallowed", fmt.Sprintf("variables.checked.filter(i, !%s.exists(p, i.startsWith(p)))", celList(r.Allowed))})
	}
	return vars
}

func exemptCEL(exempt []string) string {
	if len(exempt) == 0 {
		return ""
	}
	return fmt.Sprintf(" && !%s.exists(p, i.startsWith(p))", celList(exempt))
}

// celValidations are the rules' checks, each with a message naming the
// images, the rule and the fix. The fix works for a refused create as for
// a refused update: the object the request names may not exist.
func (r Rules) celValidations() []validation {
	var out []validation
	if r.RequireDigest {
		out = append(out, validation{
			Rule:       RuleRequireDigest,
			Expression: "size(variables.unpinned) == 0",
			Message: `'imgtrust ` + RuleRequireDigest + `: ' + variables.unpinned.join(', ') + ' not pinned to a digest (name@sha256:...); ` +
				`fix: use the digest (kubectl imgtrust resolve ' + variables.unpinned[0] + ' prints it), or pin the manifest: kubectl imgtrust pin -f FILE --write'`,
		})
	}
	if len(r.Allowed) > 0 {
		mirror := strings.TrimSuffix(r.Allowed[0], "/")
		out = append(out, validation{
			Rule:       RuleAllowedRegistries,
			Expression: "size(variables.disallowed) == 0",
			Message: `'imgtrust ` + RuleAllowedRegistries + `: ' + variables.disallowed.join(', ') + ' not from ' + ` + celString(strings.Join(r.Allowed, ", ")) + ` + '; ` +
				`fix: copy it there and use the copy: kubectl imgtrust pin -f FILE --write --mirror-to ' + ` + celString(mirror),
		})
	}
	return out
}
