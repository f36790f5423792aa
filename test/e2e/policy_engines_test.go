//go:build e2e

package e2e

import (
	"crypto/x509"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/imgtrust/kubectl-imgtrust/test/fixture"
)

// engineCRDs are the CRD files hack/crds.sh fetches from the engines'
// published modules, and the CRD names they define.
var engineCRDs = map[string]struct{ file, crd string }{
	"policy-controller": {"policy-controller-clusterimagepolicies.yaml", "clusterimagepolicies.policy.sigstore.dev"},
	"kyverno":           {"kyverno-imagevalidatingpolicies.yaml", "imagevalidatingpolicies.policies.kyverno.io"},
}

// engineTrust has a rule of each kind an engine renders.
const engineTrust = `apiVersion: imgtrust.dev/v1alpha1
kind: TrustPolicy
rules:
- images: ["docker.io/library/pause", "registry.k8s.io/**"]
  action: ignore
- images: ["registry.acme.example/**"]
  notation: [notation.crt]
  keys: ["k8s://cosign-system/acme", cosign.pub]
- images: ["ghcr.io/*/tools", "quay.io/acme/app?"]
  action: require
  keyless:
  - issuerRegExp: '^https://accounts\.google\.com$'
    subject: keyless@distroless.iam.gserviceaccount.com
  ignoreTlog: true
- images: ["**"]
  action: report-unsigned
`

// TestPolicyEngines has the real kube-apiserver validate what `policy
// --for` renders against each engine's published CRD schema (a server-side
// dry run: nothing is stored, no engine runs), and refuse a broken object,
// so the check can fail.
func TestPolicyEngines(t *testing.T) {
	crds := fetchEngineCRDs(t)
	dir := t.TempDir()
	writeEngineTrust(t, dir)
	trust := filepath.Join(dir, "trust.yaml")

	for engine, c := range engineCRDs {
		t.Run(engine, func(t *testing.T) {
			installEngineCRD(t, filepath.Join(crds, c.file), c.crd)
			r := kubectl(t, "imgtrust", "policy", "--trust-policy", trust, "--for", engine)
			mustSucceed(t, r, "policy --for "+engine)
			if !strings.Contains(r.Stderr, "rules[3].action: report-unsigned") {
				t.Errorf("no warning for the report-unsigned rule:\n%s", r.Stderr)
			}
			if engine == "policy-controller" && !strings.Contains(r.Stderr, "rules[1]: notation cannot be expressed for policy-controller;") {
				t.Errorf("no warning for the notation certificate:\n%s", r.Stderr)
			}
			rendered := filepath.Join(dir, engine+".yaml")
			writeFile(t, rendered, r.Stdout)
			mustSucceed(t, dryRunCreate(t, rendered), "the API server validating the rendered "+engine+" objects")

			// A field the schema constrains, and one it does not know (so a
			// misspelt field in the renderer fails too): refused, named.
			for i, b := range breakEngineObject(t, engine, r.Stdout) {
				bad := filepath.Join(dir, engine+"-broken-"+strconv.Itoa(i)+".yaml")
				writeFile(t, bad, b.yaml)
				if r := dryRunCreate(t, bad); r.Code == 0 || !strings.Contains(r.Stderr, b.field) {
					t.Errorf("broken %s object: want a refusal naming %s, got %s", engine, b.field, r)
				}
			}
		})
	}

	t.Run("bad input", func(t *testing.T) {
		for _, c := range []struct {
			args []string
			want string
		}{
			{[]string{"--trust-policy", trust, "--for", "gatekeeper"}, `--for "gatekeeper" is not an engine`},
			{[]string{"--for", "kyverno"}, "give --trust-policy FILE"},
			{[]string{"--trust-policy", trust}, "cannot verify signatures"},
			{[]string{"--trust-policy", trust, "--for", "kyverno", "--apply"}, "--for only prints"},
		} {
			r := kubectl(t, append([]string{"imgtrust", "policy"}, c.args...)...)
			if r.Code != 2 || !strings.Contains(r.Stderr, c.want) || strings.Count(strings.TrimSpace(r.Stderr), "\n") > 0 || r.Stdout != "" {
				t.Errorf("%v: want exit 2 and one line with %q, got %s", c.args, c.want, r)
			}
		}
	})
}

// fetchEngineCRDs runs hack/crds.sh (instant when its cache is warm), so a
// fresh checkout has the CRDs without another step.
func fetchEngineCRDs(t *testing.T) string {
	t.Helper()
	cmd := exec.Command(filepath.Join(repoRoot, "hack", "crds.sh"))
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("hack/crds.sh: %v", err)
	}
	return strings.TrimSpace(string(out))
}

// installEngineCRD installs a published CRD without its conversion webhook:
// no engine runs here, and a dry run still converts to the stored version.
// The schemas are the published ones, untouched.
func installEngineCRD(t *testing.T, file, name string) {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var crd map[string]any
	if err := yaml.Unmarshal(data, &crd); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	delete(crd["spec"].(map[string]any), "conversion")
	out, err := yaml.Marshal(crd)
	if err != nil {
		t.Fatal(err)
	}
	// An earlier test's cleanup deletes the CRD without waiting: applying
	// over a terminating CRD "succeeds" and then the deletion removes it.
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(250 * time.Millisecond) {
		r := kubectl(t, "get", "crd", name, "--ignore-not-found", "-o", "jsonpath={.metadata.deletionTimestamp}")
		if r.Code == 0 && r.Stdout == "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s still terminating after 60s: %s", name, r)
		}
	}
	patched := filepath.Join(t.TempDir(), filepath.Base(file))
	writeFile(t, patched, string(out))
	// Server-side: the Kyverno CRD is larger than a last-applied annotation.
	mustSucceed(t, kubectl(t, "apply", "--server-side", "--force-conflicts", "-f", patched), "installing "+name)
	// Polled: kubectl wait fails while the CRD has no conditions yet.
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(250 * time.Millisecond) {
		r := kubectl(t, "get", "crd", name, "-o", `jsonpath={.status.conditions[?(@.type=="Established")].status}`)
		if r.Stdout == "True" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not established after 60s: %s", name, r)
		}
	}
	t.Cleanup(func() { kubectl(t, "delete", "crd", name, "--ignore-not-found", "--wait=false") })
}

// dryRunCreate sends the objects to the API server, which validates them
// and stores nothing; it retries while discovery does not list the new
// kind yet.
func dryRunCreate(t *testing.T, file string) result {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		r := kubectl(t, "create", "--dry-run=server", "-f", file)
		if !strings.Contains(r.Stderr, "no matches for kind") || time.Now().After(deadline) {
			return r
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// brokenObject is a rendered object made wrong, and the field the API
// server should name refusing it.
type brokenObject struct{ yaml, field string }

// breakEngineObject breaks the first rendered object twice: a value the
// schema refuses, and an unknown field.
func breakEngineObject(t *testing.T, engine, rendered string) []brokenObject {
	t.Helper()
	first, _, _ := strings.Cut(rendered, "\n---\n")
	var out []brokenObject
	for _, change := range []func(spec map[string]any) string{
		func(spec map[string]any) string {
			if engine == "policy-controller" {
				spec["images"] = []any{map[string]any{"glob": 42}} // a string in the schema
				return "spec.images[0].glob"
			}
			spec["validationActions"] = []any{"Block"} // not in the enum
			return "spec.validationActions"
		},
		func(spec map[string]any) string {
			spec["imgtrustUnknown"] = true
			return `unknown field "spec.imgtrustUnknown"`
		},
	} {
		var obj map[string]any
		if err := yaml.Unmarshal([]byte(first), &obj); err != nil {
			t.Fatal(err)
		}
		field := change(obj["spec"].(map[string]any))
		b, err := yaml.Marshal(obj)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, brokenObject{string(b), field})
	}
	return out
}

// writeEngineTrust writes engineTrust with a fresh CA certificate as the
// Notation root and its public key as the cosign key (the engines get the
// PEM inline; nothing is signed here).
func writeEngineTrust(t *testing.T, dir string) {
	t.Helper()
	ca, err := fixture.NewKeylessCA(dir)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := x509.MarshalPKIXPublicKey(&ca.Key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "cosign.pub"), string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub})))
	if err := os.Rename(ca.CertPath, filepath.Join(dir, "notation.crt")); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "trust.yaml"), engineTrust)
}
