package admission

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/imgtrust/kubectl-imgtrust/pkg/trustpolicy"
)

// Engines that verify signatures at admission, which CEL cannot (no
// registry calls): `policy --for ENGINE` renders a trust policy for them.
const (
	EnginePolicyController = "policy-controller"
	EngineKyverno          = "kyverno"
)

// Engines lists the --for values.
var Engines = []string{EnginePolicyController, EngineKyverno}

// Rendered is a trust policy written for an engine: the objects to apply
// and one line per thing the engine cannot express, naming the rule and
// the field, so nothing is dropped silently.
type Rendered struct {
	Objects  []map[string]any
	Warnings []string
}

func (r *Rendered) warn(rule trustpolicy.Rule, field, format string, args ...any) {
	at := ruleAt(rule)
	if field != "" {
		at += "." + field
	}
	r.Warnings = append(r.Warnings, at+": "+fmt.Sprintf(format, args...))
}

// RenderEngine writes p's rules as the engine's objects, each named
// name-rule-N after the rule it comes from.
func RenderEngine(engine string, p *trustpolicy.Policy, name string) (Rendered, error) {
	switch engine {
	case EnginePolicyController:
		return renderPolicyController(p, name)
	case EngineKyverno:
		return renderKyverno(p, name)
	}
	return Rendered{}, fmt.Errorf("--for %q is not an engine: use %s", engine, strings.Join(Engines, " or "))
}

func ruleAt(r trustpolicy.Rule) string { return "rules[" + strconv.Itoa(r.Index) + "]" }

func objectName(name string, r trustpolicy.Rule) string {
	return name + "-rule-" + strconv.Itoa(r.Index)
}

// engineMeta labels what we render as ours and names the rule it is for.
func engineMeta(name string, p *trustpolicy.Policy, r trustpolicy.Rule) map[string]any {
	return map[string]any{
		"name":        objectName(name, r),
		"labels":      map[string]any{ManagedByLabel: ManagedBy},
		"annotations": map[string]any{"imgtrust.dev/trust-policy": filepath.Base(p.Source) + " " + r.Name()},
	}
}

// readPEM is a key or certificate file inlined: the engines read no files.
func readPEM(rule trustpolicy.Rule, field, file string) (string, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("%s.%s: %w", ruleAt(rule), field, err)
	}
	if !strings.Contains(string(b), "-----BEGIN ") {
		return "", fmt.Errorf("%s.%s: %s holds no PEM block", ruleAt(rule), field, file)
	}
	return string(b), nil
}

// identities are the keyless identities as both engines spell them
// (the same four fields as the trust policy).
func identities(r trustpolicy.Rule) []any {
	var out []any
	for _, id := range r.Keyless {
		m := map[string]any{}
		for k, v := range map[string]string{"issuer": id.Issuer, "issuerRegExp": id.IssuerRegExp,
			"subject": id.Subject, "subjectRegExp": id.SubjectRegExp} {
			if v != "" {
				m[k] = v
			}
		}
		out = append(out, m)
	}
	return out
}
