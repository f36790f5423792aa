package trustpolicy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"regexp/syntax"
	"slices"
	"strconv"
	"strings"

	yamlv3 "go.yaml.in/yaml/v3"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/yaml"
)

// compiledRule is what Parse works out of a rule once, for Match and for
// verification: its patterns normalised as names are, and its keyless
// identities with their regular expressions compiled.
type compiledRule struct {
	patterns []string
	keyless  []compiledIdentity
}

// compiledIdentity is an Identity whose regular expressions are compiled
// (nil where the exact form is used).
type compiledIdentity struct {
	issuer, subject *regexp.Regexp
}

// Load reads a TrustPolicy file. Relative key and certificate paths in it
// are resolved against the file's directory. Every error is one line
// naming the file, the rule and the field.
func Load(path string) (*Policy, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, &parseError{source: path, msg: "cannot read the trust policy: " + fsReason(err) +
			"; give the path of a TrustPolicy file"}
	}
	return Parse(data, path, filepath.Dir(path))
}

// Parse reads a TrustPolicy (YAML or JSON) named source in messages;
// relative key and certificate paths are resolved against baseDir and
// must name readable files. Parsing is strict: an unknown field, a value
// of the wrong type, a pattern, action, identity or regular expression
// that is not valid gives one error line,
// "source: rules[2].keyless[0].subjectRegExp: what is wrong; what to do".
func Parse(data []byte, source, baseDir string) (*Policy, error) {
	p := &parser{baseDir: baseDir}
	pol, err := p.parse(data)
	if err != nil {
		var pe *parseError
		if errors.As(err, &pe) {
			pe.source = source
			return nil, pe
		}
		return nil, &parseError{source: source, msg: err.Error()}
	}
	pol.Source = source
	return pol, nil
}

// parseError is one line: "source: path: what; fix".
type parseError struct {
	source, path, msg string
}

func (e *parseError) Error() string {
	s := e.source
	if s == "" {
		s = "trust policy"
	}
	if e.path != "" {
		s += ": " + e.path
	}
	return oneLine(s + ": " + e.msg)
}

// oneLine keeps a message on one line whatever the input held.
func oneLine(s string) string {
	return strings.NewReplacer("\r\n", `\n`, "\n", `\n`, "\r", `\r`).Replace(s)
}

func fail(path, what, fix string) error {
	return &parseError{path: path, msg: what + "; " + fix}
}

// quote shows a value from the file in a message, shortened when long.
func quote(s string) string {
	const most = 80
	if len(s) > most {
		cut := most
		for cut > 0 && s[cut]&0xC0 == 0x80 { // not within a UTF-8 sequence
			cut--
		}
		return strconv.Quote(s[:cut]) + "…"
	}
	return strconv.Quote(s)
}

type parser struct {
	baseDir string
}

var (
	topFields      = []string{"apiVersion", "kind", "rules"}
	ruleFields     = []string{"images", "keys", "notation", "keyless", "ignoreTlog", "ignoreSCT", "action", "require"}
	identityFields = []string{"issuer", "issuerRegExp", "subject", "subjectRegExp"}
	actions        = []Action{ActionVerify, ActionRequire, ActionReportUnsigned, ActionIgnore}
)

func (p *parser) parse(data []byte) (*Policy, error) {
	if err := singleDocument(data); err != nil {
		return nil, err
	}
	j, err := yaml.YAMLToJSONStrict(data)
	if err != nil {
		return nil, fail("", "not valid YAML or JSON: "+strings.TrimPrefix(strings.Join(strings.Fields(err.Error()), " "), "yaml: "),
			"fix the syntax (indent with spaces, quote values with ': ' or '#' in them)")
	}
	dec := json.NewDecoder(bytes.NewReader(j))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return nil, fail("", "not valid YAML or JSON: "+err.Error(), "fix the syntax")
	}
	top, ok := doc.(map[string]any)
	if !ok {
		what := "the file is empty"
		if doc != nil {
			what = "the file holds " + kindOf(doc) + ", not a mapping"
		}
		return nil, fail("", what, "write a TrustPolicy: apiVersion: "+APIVersion+", kind: "+Kind+" and rules")
	}
	if err := checkFields("", top, topFields); err != nil {
		return nil, err
	}
	for _, f := range []struct{ name, want string }{{"apiVersion", APIVersion}, {"kind", Kind}} {
		v, ok := top[f.name]
		if !ok || v == nil {
			return nil, fail(f.name, "missing", "write "+f.name+": "+f.want+" at the top of the file")
		}
		s, err := stringValue(f.name, v)
		if err != nil {
			return nil, err
		}
		if s != f.want {
			return nil, fail(f.name, quote(s)+" is not "+f.want, "write "+f.name+": "+f.want)
		}
	}
	rules, ok := top["rules"].([]any)
	if !ok && top["rules"] != nil {
		return nil, fail("rules", "want a list of rules, got "+kindOf(top["rules"]), "write rules: as a list, each rule starting with '- images:'")
	}
	if len(rules) == 0 {
		return nil, fail("rules", "no rules", `add at least one rule; a last rule {images: ["**"], action: report-unsigned} covers every other image`)
	}
	pol := &Policy{Rules: make([]Rule, 0, len(rules)), compiled: make([]compiledRule, 0, len(rules))}
	for i, v := range rules {
		r, c, err := p.rule(i, v)
		if err != nil {
			return nil, err
		}
		pol.Rules = append(pol.Rules, r)
		pol.compiled = append(pol.compiled, c)
	}
	return pol, nil
}

// singleDocument refuses a second YAML document, which YAMLToJSON would
// silently drop with all its rules.
func singleDocument(data []byte) error {
	dec := yamlv3.NewDecoder(bytes.NewReader(data))
	var first, second yamlv3.Node
	if dec.Decode(&first) != nil {
		return nil // the syntax error is told by the real parse
	}
	if err := dec.Decode(&second); err != nil {
		return nil // io.EOF, or a syntax error the real parse tells
	}
	return fail("", "line "+strconv.Itoa(second.Line)+": a second YAML document",
		"a trust policy is one document: move its rules into the first and drop the '---'")
}

func (p *parser) rule(i int, v any) (Rule, compiledRule, error) {
	path := "rules[" + strconv.Itoa(i) + "]"
	r := Rule{Index: i}
	var c compiledRule
	m, ok := v.(map[string]any)
	if !ok {
		return r, c, fail(path, "want a rule (a mapping with images and its authorities), got "+kindOf(v),
			`write the rule as '- images: ["registry.example/**"]' followed by keys, notation or keyless`)
	}
	if err := checkFields(path, m, ruleFields); err != nil {
		return r, c, err
	}
	images, err := stringList(path+".images", m["images"])
	if err != nil {
		return r, c, err
	}
	if len(images) == 0 {
		return r, c, fail(path+".images", "no image patterns", `name the images the rule is for, e.g. images: ["registry.example/**"]`)
	}
	for j, img := range images {
		if what, fix := checkPattern(img); what != "" {
			return r, c, fail(path+".images["+strconv.Itoa(j)+"]", what, fix)
		}
		c.patterns = append(c.patterns, normalizePattern(img))
	}
	r.Images = images
	if r.Keys, err = p.files(path+".keys", m["keys"], "a cosign public key (PEM)"); err != nil {
		return r, c, err
	}
	if r.Notation, err = p.files(path+".notation", m["notation"], "a Notation root or signing certificate (PEM)"); err != nil {
		return r, c, err
	}
	if r.Keyless, c.keyless, err = identities(path+".keyless", m["keyless"]); err != nil {
		return r, c, err
	}
	for _, f := range []struct {
		name string
		to   *bool
	}{{"ignoreTlog", &r.IgnoreTlog}, {"ignoreSCT", &r.IgnoreSCT}} {
		if *f.to, err = optionalBool(path+"."+f.name, m[f.name]); err != nil {
			return r, c, err
		}
		if *f.to && len(r.Keyless) == 0 {
			return r, c, fail(path+"."+f.name, "only keyless signatures have a log entry or certificate timestamps to skip",
				"drop it, or name keyless identities in this rule")
		}
	}
	if v, ok := m["action"]; ok && v != nil {
		s, err := stringValue(path+".action", v)
		if err != nil {
			return r, c, err
		}
		r.Action = Action(s)
	}
	if r.Action == "" {
		r.Action = ActionVerify
	}
	if !slices.Contains(actions, r.Action) {
		return r, c, fail(path+".action", quote(string(r.Action))+" is not an action",
			"write verify (the default), require, report-unsigned or ignore")
	}
	switch r.Action {
	case ActionVerify, ActionRequire:
		if len(r.Keys)+len(r.Notation)+len(r.Keyless) == 0 {
			return r, c, fail(path, "action "+string(r.Action)+" needs an authority and the rule names none",
				"name who signs these images with keys, notation or keyless, or write action: report-unsigned")
		}
	default:
		for _, f := range []struct {
			name string
			n    int
		}{{"keys", len(r.Keys)}, {"notation", len(r.Notation)}, {"keyless", len(r.Keyless)}} {
			if f.n > 0 {
				return r, c, fail(path+"."+f.name, "action "+string(r.Action)+" checks no authority",
					"drop "+f.name+", or drop the action to verify these images by it")
			}
		}
	}
	if err := requirements(path, m["require"], &r); err != nil {
		return r, c, err
	}
	return r, c, nil
}

// files reads keys or notation: paths of readable regular files, relative
// ones resolved against the policy's directory.
func (p *parser) files(path string, v any, what string) ([]string, error) {
	refs, err := stringList(path, v)
	if err != nil {
		return nil, err
	}
	var out []string
	for j, ref := range refs {
		fpath := path + "[" + strconv.Itoa(j) + "]"
		if ref == "" {
			return nil, fail(fpath, "empty path", "give the file of "+what+", relative to the policy's directory")
		}
		if scheme, _, ok := strings.Cut(ref, "://"); ok && !strings.ContainsAny(scheme, `/\`) {
			if scheme == "k8s" && strings.HasSuffix(path, ".keys") {
				if what := checkK8sKey(ref); what != "" {
					return nil, fail(fpath, quote(ref)+" "+what,
						"write k8s://NAMESPACE/NAME, the Secret whose cosign.pub holds the key (as cosign generate-key-pair k8s://NAMESPACE/NAME makes it)")
				}
				out = append(out, ref) // read from the cluster when verifying
				continue
			}
			return nil, fail(fpath, quote(scheme+"://")+" references are not supported",
				"export "+what+" to a file and name the file")
		}
		file := ref
		if !filepath.IsAbs(file) {
			file = filepath.Join(p.baseDir, file)
		}
		if err := readableFile(file); err != nil {
			fix := "give the file of " + what + ", relative to the policy's directory"
			if strings.HasPrefix(ref, "~") {
				fix += " ('~' is not expanded)"
			}
			return nil, fail(fpath, quote(file)+": "+err.Error(), fix)
		}
		out = append(out, file)
	}
	return out, nil
}

// K8sKey splits a key reference k8s://NAMESPACE/NAME, a Secret in the
// cluster whose data key cosign.pub holds the PEM public key (as cosign
// generate-key-pair k8s://NAMESPACE/NAME makes it). ok is false for a file.
func K8sKey(ref string) (namespace, name string, ok bool) {
	rest, ok := strings.CutPrefix(ref, K8sKeyScheme)
	if !ok {
		return "", "", false
	}
	namespace, name, _ = strings.Cut(rest, "/")
	return namespace, name, true
}

// K8sKeyScheme starts a key that is read from a Secret in the cluster.
const K8sKeyScheme = "k8s://"

// K8sKeyData is the Secret's data key that holds the public key.
const K8sKeyData = "cosign.pub"

// checkK8sKey says what is wrong with a k8s:// reference, "" if nothing.
func checkK8sKey(ref string) string {
	ns, name, _ := K8sKey(ref)
	switch {
	case strings.Count(strings.TrimPrefix(ref, K8sKeyScheme), "/") != 1 || ns == "" || name == "":
		return "is not k8s://NAMESPACE/NAME"
	case len(validation.IsDNS1123Label(ns)) > 0:
		return "names no valid namespace (" + quote(ns) + " is not a DNS label: lowercase letters, digits and '-', at most 63)"
	case len(validation.IsDNS1123Subdomain(name)) > 0:
		return "names no valid Secret (" + quote(name) + " is not a DNS subdomain: lowercase letters, digits, '-' and '.', at most 253)"
	}
	return ""
}

func readableFile(file string) error {
	f, err := os.Open(file)
	if err != nil {
		return errors.New(fsReason(err))
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return errors.New(fsReason(err))
	}
	if !st.Mode().IsRegular() {
		if st.IsDir() {
			return errors.New("is a directory")
		}
		return errors.New("is not a regular file")
	}
	return nil
}

// fsReason is an os error without the path it repeats.
func fsReason(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "no such file"
	case errors.Is(err, fs.ErrPermission):
		return "permission denied"
	}
	return err.Error()
}

func identities(path string, v any) ([]Identity, []compiledIdentity, error) {
	if v == nil {
		return nil, nil, nil
	}
	list, ok := v.([]any)
	if !ok {
		return nil, nil, fail(path, "want a list of identities, got "+kindOf(v),
			"write keyless: [{issuer: ISSUER, subject: SUBJECT}]")
	}
	var ids []Identity
	var cids []compiledIdentity
	for j, e := range list {
		ipath := path + "[" + strconv.Itoa(j) + "]"
		m, ok := e.(map[string]any)
		if !ok {
			return nil, nil, fail(ipath, "want an identity (a mapping), got "+kindOf(e),
				"write {issuer: ISSUER, subject: SUBJECT} (or issuerRegExp, subjectRegExp)")
		}
		if err := checkFields(ipath, m, identityFields); err != nil {
			return nil, nil, err
		}
		var id Identity
		var cid compiledIdentity
		var err error
		if id.Issuer, id.IssuerRegExp, cid.issuer, err = exactOrRegExp(ipath, m, "issuer",
			"the OIDC issuer, e.g. issuer: https://token.actions.githubusercontent.com"); err != nil {
			return nil, nil, err
		}
		if id.Subject, id.SubjectRegExp, cid.subject, err = exactOrRegExp(ipath, m, "subject",
			"the certificate's identity (an e-mail or URI), e.g. subject: https://github.com/ORG/REPO/.github/workflows/release.yaml@refs/heads/main"); err != nil {
			return nil, nil, err
		}
		ids = append(ids, id)
		cids = append(cids, cid)
	}
	return ids, cids, nil
}

// exactOrRegExp reads one of name and nameRegExp.
func exactOrRegExp(path string, m map[string]any, name, example string) (string, string, *regexp.Regexp, error) {
	reName := name + "RegExp"
	exact, err := optionalString(path+"."+name, m[name])
	if err != nil {
		return "", "", nil, err
	}
	re, err := optionalString(path+"."+reName, m[reName])
	if err != nil {
		return "", "", nil, err
	}
	switch {
	case exact == "" && re == "":
		return "", "", nil, fail(path+"."+name, "missing (and no "+reName+")", "give "+example)
	case exact != "" && re != "":
		return "", "", nil, fail(path+"."+reName, name+" is also given", "keep one of "+name+" (exact) and "+reName)
	case exact != "":
		return exact, "", nil, nil
	}
	compiled, err := regexp.Compile(re)
	if err != nil {
		reason := err.Error()
		var se *syntax.Error
		if errors.As(err, &se) {
			reason = string(se.Code) + " " + quote(se.Expr)
		}
		return "", "", nil, fail(path+"."+reName, "does not compile: "+reason,
			"fix the regular expression (Go RE2 syntax: no lookaround or backreferences)")
	}
	return "", re, compiled, nil
}

// checkFields refuses an unknown field, the first in sorted order.
func checkFields(path string, m map[string]any, known []string) error {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if slices.Contains(known, k) {
			continue
		}
		fpath := fieldPath(path, k)
		fix := "the fields here are " + strings.Join(known, ", ")
		if s := suggest(k, known); s != "" {
			fix = "did you mean " + s + "? " + fix
		}
		return fail(fpath, "unknown field", fix)
	}
	return nil
}

var plainField = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]*$`)

func fieldPath(path, k string) string {
	if !plainField.MatchString(k) {
		return path + "[" + quote(k) + "]"
	}
	if path == "" {
		return k
	}
	return path + "." + k
}

// suggest is the known field a typo most likely meant, or "".
func suggest(k string, known []string) string {
	best, bestDist := "", 3
	for _, f := range known {
		if strings.EqualFold(f, k) {
			return f
		}
		if d := editDistance(strings.ToLower(k), strings.ToLower(f)); d < bestDist {
			best, bestDist = f, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance of two short strings.
func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 64
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

func kindOf(v any) string {
	switch v.(type) {
	case nil:
		return "nothing (null)"
	case string:
		return "a string"
	case bool:
		return "true/false"
	case json.Number:
		return "a number"
	case []any:
		return "a list"
	case map[string]any:
		return "a mapping"
	}
	return fmt.Sprintf("%T", v)
}

func stringValue(path string, v any) (string, error) {
	s, ok := v.(string)
	if !ok {
		return "", fail(path, "want a string, got "+kindOf(v), "quote the value")
	}
	return s, nil
}

// optionalBool reads true or false; absent or null is false.
func optionalBool(path string, v any) (bool, error) {
	if v == nil {
		return false, nil
	}
	b, ok := v.(bool)
	if !ok {
		return false, fail(path, "want true or false, got "+kindOf(v), "write true or false")
	}
	return b, nil
}

func optionalString(path string, v any) (string, error) {
	if v == nil {
		return "", nil
	}
	return stringValue(path, v)
}

// stringList reads a list of strings; nothing (absent or null) is nil.
func stringList(path string, v any) ([]string, error) {
	if v == nil {
		return nil, nil
	}
	list, ok := v.([]any)
	if !ok {
		fix := "write a list: " + path[strings.LastIndexByte(path, '.')+1:] + ": [VALUE, …]"
		if s, isString := v.(string); isString {
			fix = "write a list: " + path[strings.LastIndexByte(path, '.')+1:] + ": [" + quote(s) + "]"
		}
		return nil, fail(path, "want a list of strings, got "+kindOf(v), fix)
	}
	out := make([]string, 0, len(list))
	for j, e := range list {
		s, ok := e.(string)
		if !ok {
			return nil, fail(path+"["+strconv.Itoa(j)+"]", "want a string, got "+kindOf(e), "quote the value")
		}
		out = append(out, s)
	}
	return out, nil
}
