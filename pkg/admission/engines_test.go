package admission

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/imgtrust/kubectl-imgtrust/pkg/trustpolicy"
)

const (
	testKey  = "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n-----END PUBLIC KEY-----\n"
	testCert = "-----BEGIN CERTIFICATE-----\nMIIBfDCCASGgAwIBAgIU\n-----END CERTIFICATE-----\n"
)

// testTrust is every kind of rule: ignored, keyed with a Secret and a
// Notation certificate, keyless with relaxations, Notation only, any
// signature.
const testTrust = `apiVersion: imgtrust.dev/v1alpha1
kind: TrustPolicy
rules:
- images: ["registry.k8s.io/**"]
  action: ignore
- images: ["registry.acme.example/team/app", "nginx"]
  keys: [cosign.pub, "k8s://imgtrust/signing"]
  notation: [notation.crt]
  action: require
- images: ["ghcr.io/acme/*-svc?"]
  keyless:
  - issuer: https://token.actions.githubusercontent.com
    subjectRegExp: '^https://github\.com/acme/.*$'
  - issuerRegExp: '^https://accounts\.google\.com$'
    subject: keyless@distroless.iam.gserviceaccount.com
  ignoreSCT: true
  ignoreTlog: true
- images: ["registry.acme.example/notary/**"]
  notation: [notation.crt]
- images: ["**"]
  action: report-unsigned
`

func loadTrust(t *testing.T, policy string) *trustpolicy.Policy {
	t.Helper()
	dir := t.TempDir()
	for name, data := range map[string]string{"cosign.pub": testKey, "notation.crt": testCert, "trust.yaml": policy} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	p, err := trustpolicy.Load(filepath.Join(dir, "trust.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// render is RenderEngine naming the objects imgtrust-rule-N.
func render(t *testing.T, engine string, p *trustpolicy.Policy) Rendered {
	t.Helper()
	r, err := RenderEngine(engine, p, "imgtrust")
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// get walks a rendered object: get(obj, "spec", "authorities", 0, "key").
func get(t *testing.T, v any, path ...any) any {
	t.Helper()
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				t.Fatalf("%v: not a map at %q", path, k)
			}
			v = m[k]
		case int:
			l, ok := v.([]any)
			if !ok || k >= len(l) {
				t.Fatalf("%v: no item %d", path, k)
			}
			v = l[k]
		}
	}
	return v
}

func wantWarnings(t *testing.T, got []string, want ...string) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("got %d warnings, want %d:\n%s", len(got), len(want), strings.Join(got, "\n"))
	}
	for _, w := range want {
		if !slices.ContainsFunc(got, func(g string) bool { return strings.HasPrefix(g, w) }) {
			t.Errorf("no warning starting %q in:\n%s", w, strings.Join(got, "\n"))
		}
	}
}

func TestRenderEngineRefusesUnknown(t *testing.T) {
	if _, err := RenderEngine("gatekeeper", loadTrust(t, testTrust), "x"); err == nil || !strings.Contains(err.Error(), "policy-controller or kyverno") {
		t.Errorf("err %v, want the engines named", err)
	}
}

func TestRenderedIsYAML(t *testing.T) {
	for _, e := range Engines {
		r := render(t, e, loadTrust(t, testTrust))
		for _, obj := range r.Objects {
			if _, err := yaml.Marshal(obj); err != nil {
				t.Errorf("%s: %v", e, err)
			}
			if get(t, obj, "metadata", "labels", ManagedByLabel) != ManagedBy {
				t.Errorf("%s: %v is not labelled ours", e, get(t, obj, "metadata", "name"))
			}
		}
	}
}
