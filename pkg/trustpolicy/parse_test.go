package trustpolicy

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// policyDir is a directory holding the files policies in tests name:
// cosign.pub, acme-ca.pem and keys/ (a directory).
func policyDir(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	for _, f := range []string{"cosign.pub", "acme-ca.pem"} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte("-----BEGIN PUBLIC KEY-----\n-----END PUBLIC KEY-----\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, "keys"), 0o700); err != nil {
		t.Fatal(err)
	}
	return dir
}

const header = "apiVersion: imgtrust.dev/v1alpha1\nkind: TrustPolicy\n"

const goodPolicy = header + `rules:
- images: ["registry.k8s.io/**"]
  keyless: [{issuer: https://accounts.google.com, subject: krel-trust@k8s-releng-prod.iam.gserviceaccount.com}]
- images: ["cgr.dev/chainguard/**"]
  keyless:
  - issuer: https://token.actions.githubusercontent.com
    subjectRegExp: '^https://github.com/chainguard-images/images/\.github/workflows/release\.yaml@refs/heads/main$'
- images: ["registry.acme.example/**", "ghcr.io/acme/*"]
  keys: [cosign.pub]
  notation: [acme-ca.pem]
  action: require          # verify (default) | require | report-unsigned | ignore
- images: ["nginx", "Index.Docker.io/acme/*"]
  action: ignore
- images: ["**"]
  action: report-unsigned
`

// mustParse parses a policy whose files are in dir.
func mustParse(t *testing.T, policy, dir string) *Policy {
	t.Helper()
	pol, err := Parse([]byte(policy), "trust.yaml", dir)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return pol
}

func TestParseGoodPolicy(t *testing.T) {
	dir := policyDir(t)
	pol := mustParse(t, goodPolicy, dir)
	want := []Rule{
		{Index: 0, Images: []string{"registry.k8s.io/**"}, Action: ActionVerify,
			Keyless: []Identity{{Issuer: "https://accounts.google.com", Subject: "krel-trust@k8s-releng-prod.iam.gserviceaccount.com"}}},
		{Index: 1, Images: []string{"cgr.dev/chainguard/**"}, Action: ActionVerify,
			Keyless: []Identity{{Issuer: "https://token.actions.githubusercontent.com",
				SubjectRegExp: `^https://github.com/chainguard-images/images/\.github/workflows/release\.yaml@refs/heads/main$`}}},
		{Index: 2, Images: []string{"registry.acme.example/**", "ghcr.io/acme/*"}, Action: ActionRequire,
			Keys: []string{filepath.Join(dir, "cosign.pub")}, Notation: []string{filepath.Join(dir, "acme-ca.pem")}},
		{Index: 3, Images: []string{"nginx", "Index.Docker.io/acme/*"}, Action: ActionIgnore},
		{Index: 4, Images: []string{"**"}, Action: ActionReportUnsigned},
	}
	if !reflect.DeepEqual(pol.Rules, want) {
		t.Errorf("Rules:\n got %+v\nwant %+v", pol.Rules, want)
	}
	if pol.Source != "trust.yaml" {
		t.Errorf("Source = %q, want trust.yaml", pol.Source)
	}
	wantPatterns := [][]string{{"registry.k8s.io/**"}, {"cgr.dev/chainguard/**"},
		{"registry.acme.example/**", "ghcr.io/acme/*"}, {"docker.io/library/nginx", "docker.io/acme/*"}, {"**"}}
	for i, c := range pol.compiled {
		if !reflect.DeepEqual(c.patterns, wantPatterns[i]) {
			t.Errorf("rules[%d] normalised patterns = %q, want %q", i, c.patterns, wantPatterns[i])
		}
	}
	if re := pol.compiled[1].keyless[0].subject; re == nil ||
		!re.MatchString("https://github.com/chainguard-images/images/.github/workflows/release.yaml@refs/heads/main") {
		t.Errorf("rules[1] compiled subjectRegExp = %v, want one matching Chainguard's workflow", re)
	}
	if pol.compiled[0].keyless[0].subject != nil {
		t.Errorf("rules[0] exact subject got a compiled regexp")
	}
}

func TestParseRequire(t *testing.T) {
	dir := policyDir(t)
	in := header + `rules:
- images: ["registry.acme.example/**"]
  keys: [cosign.pub]
  notation: [acme-ca.pem]
  require: [signature, "attestation:https://slsa.dev/provenance/v1", "attestation:spdxjson", "attestation:slsaprovenance1"]
- images: ["cgr.dev/**"]
  keyless: [{issuer: https://token.actions.githubusercontent.com, subject: s}]
  require: ["attestation:https://example.com/custom/v2"]
`
	pol := mustParse(t, in, dir)
	r := pol.Rules[0]
	if r.Action != ActionRequire {
		t.Errorf("rules[0] Action = %q, want require (require: [signature])", r.Action)
	}
	// A cosign short name is its URI; the same type twice is one.
	if want := []string{"https://slsa.dev/provenance/v1", "https://spdx.dev/Document"}; !reflect.DeepEqual(r.Attestations, want) {
		t.Errorf("rules[0] Attestations = %q, want %q", r.Attestations, want)
	}
	r = pol.Rules[1]
	if r.Action != ActionVerify {
		t.Errorf("rules[1] Action = %q, want verify (no signature in require)", r.Action)
	}
	if want := []string{"https://example.com/custom/v2"}; !reflect.DeepEqual(r.Attestations, want) {
		t.Errorf("rules[1] Attestations = %q, want %q", r.Attestations, want)
	}
}

func TestParseJSON(t *testing.T) {
	dir := policyDir(t)
	in := `{"apiVersion": "imgtrust.dev/v1alpha1", "kind": "TrustPolicy",
	  "rules": [{"images": ["ghcr.io/acme/**"], "keys": ["cosign.pub"]}]}`
	pol, err := Parse([]byte(in), "trust.json", dir)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	want := []Rule{{Index: 0, Images: []string{"ghcr.io/acme/**"}, Keys: []string{filepath.Join(dir, "cosign.pub")}, Action: ActionVerify}}
	if !reflect.DeepEqual(pol.Rules, want) {
		t.Errorf("Rules:\n got %+v\nwant %+v", pol.Rules, want)
	}
}

func TestParseK8sKeys(t *testing.T) {
	dir := policyDir(t)
	in := header + "rules:\n- images: [x]\n  keys: [cosign.pub, \"k8s://imgtrust/cosign-pub\", \"k8s://kube-system/keys.acme.example\"]\n"
	pol, err := Parse([]byte(in), "trust.yaml", dir)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	want := []string{filepath.Join(dir, "cosign.pub"), "k8s://imgtrust/cosign-pub", "k8s://kube-system/keys.acme.example"}
	if got := pol.Rules[0].Keys; !reflect.DeepEqual(got, want) {
		t.Errorf("Keys = %q, want %q (k8s:// kept as written)", got, want)
	}
	for _, tt := range []struct {
		ref, ns, name string
		ok            bool
	}{
		{"k8s://imgtrust/cosign-pub", "imgtrust", "cosign-pub", true},
		{"cosign.pub", "", "", false},
		{"/keys/k8s://x/y", "", "", false},
	} {
		ns, name, ok := K8sKey(tt.ref)
		if ns != tt.ns || name != tt.name || ok != tt.ok {
			t.Errorf("K8sKey(%q) = %q, %q, %v; want %q, %q, %v", tt.ref, ns, name, ok, tt.ns, tt.name, tt.ok)
		}
	}
	// notation certificates are files only
	_, err = Parse([]byte(header+"rules:\n- images: [x]\n  notation: [\"k8s://imgtrust/ca\"]\n"), "trust.yaml", dir)
	if want := `trust.yaml: rules[0].notation[0]: "k8s://" references are not supported; export a Notation root or signing certificate (PEM) to a file and name the file`; err == nil || err.Error() != want {
		t.Errorf("k8s:// notation: %v, want %s", err, want)
	}
}

func TestLoad(t *testing.T) {
	dir := policyDir(t)
	path := filepath.Join(dir, "trust.yaml")
	if err := os.WriteFile(path, []byte(header+"rules:\n- images: [\"**\"]\n  keys: [cosign.pub]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	pol, err := Load(path)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if got, want := pol.Rules[0].Keys, []string{filepath.Join(dir, "cosign.pub")}; !reflect.DeepEqual(got, want) {
		t.Errorf("keys resolved against the file's directory: got %q, want %q", got, want)
	}
	if pol.Source != path {
		t.Errorf("Source = %q, want %q", pol.Source, path)
	}
	missing := filepath.Join(dir, "nope.yaml")
	_, err = Load(missing)
	if want := missing + ": cannot read the trust policy: no such file; give the path of a TrustPolicy file"; err == nil || err.Error() != want {
		t.Errorf("Load(missing) = %v, want %s", err, want)
	}
}

// rule0 is a good rule 0 so that bad ones are rules[1].
const rule0 = header + "rules:\n- images: [\"registry.k8s.io/**\"]\n  keys: [cosign.pub]\n"

func TestParseBadInput(t *testing.T) {
	dir := policyDir(t)
	tests := []struct {
		name, in, want string // want: DIR is the policy's directory
	}{
		{"not yaml", "apiVersion: [\n", `trust.yaml: not valid YAML or JSON: line 1: did not find expected node content; fix the syntax (indent with spaces, quote values with ': ' or '#' in them)`},
		{"duplicate key", header + "kind: TrustPolicy\nrules: []\n", `trust.yaml: not valid YAML or JSON: unmarshal errors: line 3: key "kind" already set in map; fix the syntax (indent with spaces, quote values with ': ' or '#' in them)`},
		{"empty", "", `trust.yaml: the file is empty; write a TrustPolicy: apiVersion: imgtrust.dev/v1alpha1, kind: TrustPolicy and rules`},
		{"a list", "- a\n", `trust.yaml: the file holds a list, not a mapping; write a TrustPolicy: apiVersion: imgtrust.dev/v1alpha1, kind: TrustPolicy and rules`},
		{"two documents", rule0 + "---\n" + rule0, `trust.yaml: line 6: a second YAML document; a trust policy is one document: move its rules into the first and drop the '---'`},
		{"no apiVersion", "kind: TrustPolicy\nrules: []\n", `trust.yaml: apiVersion: missing; write apiVersion: imgtrust.dev/v1alpha1 at the top of the file`},
		{"wrong apiVersion", "apiVersion: imgtrust.dev/v1\nkind: TrustPolicy\n", `trust.yaml: apiVersion: "imgtrust.dev/v1" is not imgtrust.dev/v1alpha1; write apiVersion: imgtrust.dev/v1alpha1`},
		{"apiVersion a number", "apiVersion: 1\nkind: TrustPolicy\n", `trust.yaml: apiVersion: want a string, got a number; quote the value`},
		{"no kind", "apiVersion: imgtrust.dev/v1alpha1\nrules: []\n", `trust.yaml: kind: missing; write kind: TrustPolicy at the top of the file`},
		{"wrong kind", "apiVersion: imgtrust.dev/v1alpha1\nkind: ClusterImagePolicy\n", `trust.yaml: kind: "ClusterImagePolicy" is not TrustPolicy; write kind: TrustPolicy`},
		{"unknown top field", header + "metadata: {name: x}\nrules: []\n", `trust.yaml: metadata: unknown field; the fields here are apiVersion, kind, rules`},
		{"no rules", header, `trust.yaml: rules: no rules; add at least one rule; a last rule {images: ["**"], action: report-unsigned} covers every other image`},
		{"empty rules", header + "rules: []\n", `trust.yaml: rules: no rules; add at least one rule; a last rule {images: ["**"], action: report-unsigned} covers every other image`},
		{"rules a mapping", header + "rules: {images: [x]}\n", `trust.yaml: rules: want a list of rules, got a mapping; write rules: as a list, each rule starting with '- images:'`},
		{"rule a string", rule0 + "- registry.k8s.io/**\n", `trust.yaml: rules[1]: want a rule (a mapping with images and its authorities), got a string; write the rule as '- images: ["registry.example/**"]' followed by keys, notation or keyless`},
		{"unknown rule field", rule0 + "- images: [x]\n  imgaes: [y]\n", `trust.yaml: rules[1].imgaes: unknown field; did you mean images? the fields here are images, keys, notation, keyless, ignoreTlog, ignoreSCT, action, require`},
		{"field case", rule0 + "- Images: [x]\n", `trust.yaml: rules[1].Images: unknown field; did you mean images? the fields here are images, keys, notation, keyless, ignoreTlog, ignoreSCT, action, require`},
		{"odd field name", rule0 + "- images: [x]\n  \"a.b\": 1\n", `trust.yaml: rules[1]["a.b"]: unknown field; the fields here are images, keys, notation, keyless, ignoreTlog, ignoreSCT, action, require`},
		{"require unknown entry", rule0 + "- images: [x]\n  keys: [cosign.pub]\n  require: [signature, sbom]\n", `trust.yaml: rules[1].require[1]: "sbom" is not a requirement; write "signature" or "attestation:PREDICATE_TYPE" (e.g. "attestation:https://slsa.dev/provenance/v1")`},
		{"require signature typo", rule0 + "- images: [x]\n  keys: [cosign.pub]\n  require: [signatures]\n", `trust.yaml: rules[1].require[0]: "signatures" is not a requirement; did you mean signature? write "signature" or "attestation:PREDICATE_TYPE" (e.g. "attestation:https://slsa.dev/provenance/v1")`},
		{"require a string", rule0 + "- images: [x]\n  keys: [cosign.pub]\n  require: signature\n", `trust.yaml: rules[1].require: want a list of strings, got a string; write a list: require: ["signature"]`},
		{"require attestation without type", rule0 + "- images: [x]\n  keys: [cosign.pub]\n  require: [\"attestation:\"]\n", `trust.yaml: rules[1].require[0]: no predicate type; write "attestation:" and the predicate type's URI (e.g. "attestation:https://slsa.dev/provenance/v1") or a cosign --type name (slsaprovenance1, spdxjson, cyclonedx, vuln, …)`},
		{"require attestation bad type", rule0 + "- images: [x]\n  keys: [cosign.pub]\n  require: [\"attestation:provenance\"]\n", `trust.yaml: rules[1].require[0]: "provenance" is not a predicate type; write "attestation:" and the predicate type's URI (e.g. "attestation:https://slsa.dev/provenance/v1") or a cosign --type name (slsaprovenance1, spdxjson, cyclonedx, vuln, …)`},
		{"require attestation notation only", rule0 + "- images: [x]\n  notation: [acme-ca.pem]\n  require: [\"attestation:https://slsa.dev/provenance/v1\"]\n", `trust.yaml: rules[1].require[0]: an attestation is verified by the rule's keys or keyless identities, and the rule names none (Notation does not sign attestations); add the keys or keyless identities that sign the attestation to this rule`},
		{"require attestation report-unsigned", rule0 + "- images: [x]\n  action: report-unsigned\n  require: [\"attestation:spdxjson\"]\n", `trust.yaml: rules[1].require[0]: an attestation is verified by the rule's authorities, and action report-unsigned checks none; drop the action, and name the keys or keyless identities that sign the attestation`},
		{"require signature with ignore", rule0 + "- images: [x]\n  action: ignore\n  require: [signature]\n", `trust.yaml: rules[1].require[0]: a signature by the rule's authorities is required, and action ignore checks none; drop the action (require: [signature] is action: require), or drop signature here`},
		{"require signature without authority", rule0 + "- images: [x]\n  require: [signature]\n", `trust.yaml: rules[1]: action verify needs an authority and the rule names none; name who signs these images with keys, notation or keyless, or write action: report-unsigned`},
		{"no images", rule0 + "- keys: [cosign.pub]\n", `trust.yaml: rules[1].images: no image patterns; name the images the rule is for, e.g. images: ["registry.example/**"]`},
		{"images empty list", rule0 + "- images: []\n  keys: [cosign.pub]\n", `trust.yaml: rules[1].images: no image patterns; name the images the rule is for, e.g. images: ["registry.example/**"]`},
		{"images a string", rule0 + "- images: ghcr.io/acme/**\n  keys: [cosign.pub]\n", `trust.yaml: rules[1].images: want a list of strings, got a string; write a list: images: ["ghcr.io/acme/**"]`},
		{"image a YAML boolean", rule0 + "- images: [y]\n", `trust.yaml: rules[1].images[0]: want a string, got true/false; quote the value`},
		{"image a number", rule0 + "- images: [42]\n", `trust.yaml: rules[1].images[0]: want a string, got a number; quote the value`},
		{"empty pattern", rule0 + "- images: [\"\"]\n", `trust.yaml: rules[1].images[0]: empty pattern; write a pattern such as "registry.example/team/**", or "**" for every image`},
		{"star alone", rule0 + "- images: [\"*\"]\n  action: ignore\n", `trust.yaml: rules[1].images[0]: "*" alone matches no image (a name has a registry and a repository); write "**" for every image, or "docker.io/library/*" for Docker Hub's official images`},
		{"scheme", rule0 + "- images: [\"x\", \"https://ghcr.io/acme/**\"]\n", `trust.yaml: rules[1].images[1]: a pattern has no scheme; write "ghcr.io/acme/**"`},
		{"digest", rule0 + "- images: [\"ghcr.io/acme/web@sha256:abc\"]\n", `trust.yaml: rules[1].images[0]: a pattern names no digest; write "ghcr.io/acme/web": a rule covers every tag and digest of its repositories`},
		{"tag", rule0 + "- images: [\"ghcr.io/acme/web:v1\"]\n", `trust.yaml: rules[1].images[0]: a pattern names no tag; write "ghcr.io/acme/web": a rule covers every tag and digest of its repositories`},
		{"short name tag", rule0 + "- images: [\"nginx:1.27\"]\n", `trust.yaml: rules[1].images[0]: a pattern names no tag; write "nginx": a rule covers every tag and digest of its repositories`},
		{"registry alone", rule0 + "- images: [\"ghcr.io\"]\n", `trust.yaml: rules[1].images[0]: names a registry, not images; write "ghcr.io/**" for all its images`},
		{"registry:port alone", rule0 + "- images: [\"localhost:5000\"]\n", `trust.yaml: rules[1].images[0]: names a registry, not images; write "localhost:5000/**" for all its images`},
		{"trailing slash", rule0 + "- images: [\"ghcr.io/acme/\"]\n", `trust.yaml: rules[1].images[0]: empty path segment; write "ghcr.io/acme"`},
		{"double slash", rule0 + "- images: [\"ghcr.io//acme\"]\n", `trust.yaml: rules[1].images[0]: empty path segment; write "ghcr.io/acme"`},
		{"upper case path", rule0 + "- images: [\"GHCR.io/Acme/**\"]\n", `trust.yaml: rules[1].images[0]: repository paths are lowercase; write "GHCR.io/acme/**"`},
		{"space", rule0 + "- images: [\"ghcr.io/acme /**\"]\n", `trust.yaml: rules[1].images[0]: " " is not allowed in an image pattern; use lowercase letters, digits, '.', '_', '-', '/' and the wildcards "*", "?", "**"`},
		{"bad host char", rule0 + "- images: [\"gh_cr.io/acme\"]\n", `trust.yaml: rules[1].images[0]: "_" is not allowed in a registry host; write host or host:port, as in the image`},
		{"three stars", rule0 + "- images: [\"ghcr.io/***\"]\n", `trust.yaml: rules[1].images[0]: "***" is not a wildcard; write "**" for any characters, '/' included, or "*" within one path segment`},
		{"ignoreTlog without keyless", rule0 + "- images: [x]\n  keys: [cosign.pub]\n  ignoreTlog: true\n", `trust.yaml: rules[1].ignoreTlog: only keyless signatures have a log entry or certificate timestamps to skip; drop it, or name keyless identities in this rule`},
		{"ignoreSCT not a bool", rule0 + "- images: [x]\n  keyless: [{issuer: i, subject: s}]\n  ignoreSCT: \"yes\"\n", `trust.yaml: rules[1].ignoreSCT: want true or false, got a string; write true or false`},
		{"unknown action", rule0 + "- images: [x]\n  keys: [cosign.pub]\n  action: enforce\n", `trust.yaml: rules[1].action: "enforce" is not an action; write verify (the default), require, report-unsigned or ignore`},
		{"action a list", rule0 + "- images: [x]\n  action: [ignore]\n", `trust.yaml: rules[1].action: want a string, got a list; quote the value`},
		{"verify without authority", rule0 + "- images: [x]\n", `trust.yaml: rules[1]: action verify needs an authority and the rule names none; name who signs these images with keys, notation or keyless, or write action: report-unsigned`},
		{"require without authority", rule0 + "- images: [x]\n  action: require\n  keys: []\n", `trust.yaml: rules[1]: action require needs an authority and the rule names none; name who signs these images with keys, notation or keyless, or write action: report-unsigned`},
		{"report-unsigned with keys", rule0 + "- images: [\"**\"]\n  action: report-unsigned\n  keys: [cosign.pub]\n", `trust.yaml: rules[1].keys: action report-unsigned checks no authority; drop keys, or drop the action to verify these images by it`},
		{"ignore with keyless", rule0 + "- images: [\"**\"]\n  action: ignore\n  keyless: [{issuer: a, subject: b}]\n", `trust.yaml: rules[1].keyless: action ignore checks no authority; drop keyless, or drop the action to verify these images by it`},
		{"keys a string", rule0 + "- images: [x]\n  keys: cosign.pub\n", `trust.yaml: rules[1].keys: want a list of strings, got a string; write a list: keys: ["cosign.pub"]`},
		{"key missing", rule0 + "- images: [x]\n  keys: [cosign.pub, other.pub]\n", `trust.yaml: rules[1].keys[1]: "DIR/other.pub": no such file; give the file of a cosign public key (PEM), relative to the policy's directory`},
		{"key absolute missing", rule0 + "- images: [x]\n  keys: [/nonexistent/k.pub]\n", `trust.yaml: rules[1].keys[0]: "/nonexistent/k.pub": no such file; give the file of a cosign public key (PEM), relative to the policy's directory`},
		{"key tilde", rule0 + "- images: [x]\n  keys: [~/cosign.pub]\n", `trust.yaml: rules[1].keys[0]: "DIR/~/cosign.pub": no such file; give the file of a cosign public key (PEM), relative to the policy's directory ('~' is not expanded)`},
		{"key a directory", rule0 + "- images: [x]\n  keys: [keys]\n", `trust.yaml: rules[1].keys[0]: "DIR/keys": is a directory; give the file of a cosign public key (PEM), relative to the policy's directory`},
		{"key empty", rule0 + "- images: [x]\n  keys: [\"\"]\n", `trust.yaml: rules[1].keys[0]: empty path; give the file of a cosign public key (PEM), relative to the policy's directory`},
		{"k8s key without name", rule0 + "- images: [x]\n  keys: [\"k8s://imgtrust\"]\n", `trust.yaml: rules[1].keys[0]: "k8s://imgtrust" is not k8s://NAMESPACE/NAME; write k8s://NAMESPACE/NAME, the Secret whose cosign.pub holds the key (as cosign generate-key-pair k8s://NAMESPACE/NAME makes it)`},
		{"k8s key without namespace", rule0 + "- images: [x]\n  keys: [\"k8s:///cosign-pub\"]\n", `trust.yaml: rules[1].keys[0]: "k8s:///cosign-pub" is not k8s://NAMESPACE/NAME; write k8s://NAMESPACE/NAME, the Secret whose cosign.pub holds the key (as cosign generate-key-pair k8s://NAMESPACE/NAME makes it)`},
		{"k8s key empty", rule0 + "- images: [x]\n  keys: [\"k8s://\"]\n", `trust.yaml: rules[1].keys[0]: "k8s://" is not k8s://NAMESPACE/NAME; write k8s://NAMESPACE/NAME, the Secret whose cosign.pub holds the key (as cosign generate-key-pair k8s://NAMESPACE/NAME makes it)`},
		{"k8s key trailing slash", rule0 + "- images: [x]\n  keys: [\"k8s://imgtrust/cosign-pub/\"]\n", `trust.yaml: rules[1].keys[0]: "k8s://imgtrust/cosign-pub/" is not k8s://NAMESPACE/NAME; write k8s://NAMESPACE/NAME, the Secret whose cosign.pub holds the key (as cosign generate-key-pair k8s://NAMESPACE/NAME makes it)`},
		{"k8s key with data key", rule0 + "- images: [x]\n  keys: [\"k8s://imgtrust/cosign-pub/cosign.pub\"]\n", `trust.yaml: rules[1].keys[0]: "k8s://imgtrust/cosign-pub/cosign.pub" is not k8s://NAMESPACE/NAME; write k8s://NAMESPACE/NAME, the Secret whose cosign.pub holds the key (as cosign generate-key-pair k8s://NAMESPACE/NAME makes it)`},
		{"k8s key uppercase namespace", rule0 + "- images: [x]\n  keys: [\"k8s://Imgtrust/cosign-pub\"]\n", `trust.yaml: rules[1].keys[0]: "k8s://Imgtrust/cosign-pub" names no valid namespace ("Imgtrust" is not a DNS label: lowercase letters, digits and '-', at most 63); write k8s://NAMESPACE/NAME, the Secret whose cosign.pub holds the key (as cosign generate-key-pair k8s://NAMESPACE/NAME makes it)`},
		{"k8s key dotted namespace", rule0 + "- images: [x]\n  keys: [\"k8s://img.trust/cosign-pub\"]\n", `trust.yaml: rules[1].keys[0]: "k8s://img.trust/cosign-pub" names no valid namespace ("img.trust" is not a DNS label: lowercase letters, digits and '-', at most 63); write k8s://NAMESPACE/NAME, the Secret whose cosign.pub holds the key (as cosign generate-key-pair k8s://NAMESPACE/NAME makes it)`},
		{"k8s key bad name", rule0 + "- images: [x]\n  keys: [\"k8s://imgtrust/cosign_pub\"]\n", `trust.yaml: rules[1].keys[0]: "k8s://imgtrust/cosign_pub" names no valid Secret ("cosign_pub" is not a DNS subdomain: lowercase letters, digits, '-' and '.', at most 253); write k8s://NAMESPACE/NAME, the Secret whose cosign.pub holds the key (as cosign generate-key-pair k8s://NAMESPACE/NAME makes it)`},
		{"k8s key query", rule0 + "- images: [x]\n  keys: [\"k8s://imgtrust/cosign-pub?key=x\"]\n", `trust.yaml: rules[1].keys[0]: "k8s://imgtrust/cosign-pub?key=x" names no valid Secret ("cosign-pub?key=x" is not a DNS subdomain: lowercase letters, digits, '-' and '.', at most 253); write k8s://NAMESPACE/NAME, the Secret whose cosign.pub holds the key (as cosign generate-key-pair k8s://NAMESPACE/NAME makes it)`},
		{"kms key", rule0 + "- images: [x]\n  keys: [\"awskms:///arn\"]\n", `trust.yaml: rules[1].keys[0]: "awskms://" references are not supported; export a cosign public key (PEM) to a file and name the file`},
		{"notation missing", rule0 + "- images: [x]\n  notation: [ca.pem]\n", `trust.yaml: rules[1].notation[0]: "DIR/ca.pem": no such file; give the file of a Notation root or signing certificate (PEM), relative to the policy's directory`},
		{"keyless a mapping", rule0 + "- images: [x]\n  keyless: {issuer: a, subject: b}\n", `trust.yaml: rules[1].keyless: want a list of identities, got a mapping; write keyless: [{issuer: ISSUER, subject: SUBJECT}]`},
		{"identity a string", rule0 + "- images: [x]\n  keyless: [a]\n", `trust.yaml: rules[1].keyless[0]: want an identity (a mapping), got a string; write {issuer: ISSUER, subject: SUBJECT} (or issuerRegExp, subjectRegExp)`},
		{"identity unknown field", rule0 + "- images: [x]\n  keyless: [{issuer: a, subject: b, san: c}]\n", `trust.yaml: rules[1].keyless[0].san: unknown field; the fields here are issuer, issuerRegExp, subject, subjectRegExp`},
		{"identity field typo", rule0 + "- images: [x]\n  keyless: [{issuer: a, subjectRegex: b}]\n", `trust.yaml: rules[1].keyless[0].subjectRegex: unknown field; did you mean subjectRegExp? the fields here are issuer, issuerRegExp, subject, subjectRegExp`},
		{"no issuer", rule0 + "- images: [x]\n  keyless: [{subject: b}]\n", `trust.yaml: rules[1].keyless[0].issuer: missing (and no issuerRegExp); give the OIDC issuer, e.g. issuer: https://token.actions.githubusercontent.com`},
		{"both issuers", rule0 + "- images: [x]\n  keyless: [{issuer: a, issuerRegExp: a, subject: b}]\n", `trust.yaml: rules[1].keyless[0].issuerRegExp: issuer is also given; keep one of issuer (exact) and issuerRegExp`},
		{"no subject", rule0 + "- images: [x]\n  keyless: [{issuer: a}]\n", `trust.yaml: rules[1].keyless[0].subject: missing (and no subjectRegExp); give the certificate's identity (an e-mail or URI), e.g. subject: https://github.com/ORG/REPO/.github/workflows/release.yaml@refs/heads/main`},
		{"both subjects", rule0 + "- images: [x]\n  keyless: [{issuer: a, subject: b, subjectRegExp: b}]\n", `trust.yaml: rules[1].keyless[0].subjectRegExp: subject is also given; keep one of subject (exact) and subjectRegExp`},
		{"subject a number", rule0 + "- images: [x]\n  keyless: [{issuer: a, subject: 1}]\n", `trust.yaml: rules[1].keyless[0].subject: want a string, got a number; quote the value`},
		{"bad subjectRegExp", rule0 + "- images: [x]\n  keyless: [{issuer: a, subjectRegExp: '^https://github.com/(acme'}]\n", "trust.yaml: rules[1].keyless[0].subjectRegExp: does not compile: missing closing ) \"^https://github.com/(acme\"; fix the regular expression (Go RE2 syntax: no lookaround or backreferences)"},
		{"lookahead issuerRegExp", rule0 + "- images: [x]\n  keyless: [{issuerRegExp: '(?!x)', subject: b}]\n", "trust.yaml: rules[1].keyless[0].issuerRegExp: does not compile: invalid or unsupported Perl syntax \"(?!\"; fix the regular expression (Go RE2 syntax: no lookaround or backreferences)"},
		{"newline in regexp", rule0 + "- images: [x]\n  keyless: [{issuer: a, subjectRegExp: \"(\\nx\"}]\n", "trust.yaml: rules[1].keyless[0].subjectRegExp: does not compile: missing closing ) \"(\\nx\"; fix the regular expression (Go RE2 syntax: no lookaround or backreferences)"},
		{"third rule", rule0 + "- images: [x]\n  keys: [cosign.pub]\n- images: [z]\n  keyless: [{issuer: a, subjectRegExp: '['}]\n", "trust.yaml: rules[2].keyless[0].subjectRegExp: does not compile: missing closing ] \"[\"; fix the regular expression (Go RE2 syntax: no lookaround or backreferences)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pol, err := Parse([]byte(tt.in), "trust.yaml", dir)
			want := strings.ReplaceAll(tt.want, "DIR", dir)
			if err == nil {
				t.Fatalf("Parse = %+v, want error\n%s", pol.Rules, want)
			}
			if got := err.Error(); got != want {
				t.Errorf("Parse error\n got %s\nwant %s", got, want)
			}
			if strings.ContainsAny(err.Error(), "\n\r") {
				t.Errorf("error is not one line: %q", err.Error())
			}
			if !strings.HasPrefix(err.Error(), "trust.yaml: ") {
				t.Errorf("error does not start with the file name: %s", err)
			}
		})
	}
}
