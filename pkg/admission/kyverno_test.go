package admission

import (
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/imgtrust/kubectl-imgtrust/pkg/trustpolicy"
)

// kyFirst is the rule whose refConds Kyverno would match for ref: its own
// and no earlier rule's, as kyMatch writes it; -1 for none.
func kyFirst(p *trustpolicy.Policy, ref string) int {
	for i, r := range p.Rules {
		for _, c := range refConds(r) {
			if regexp.MustCompile(c.re).MatchString(ref) && !(c.hubless && regexp.MustCompile(hostFirst).MatchString(ref)) {
				return i
			}
		}
	}
	return -1
}

func TestKyvernoFields(t *testing.T) {
	r := render(t, EngineKyverno, loadTrust(t, testTrust))
	wantWarnings(t, r.Warnings, "rules[4].action: report-unsigned (any signature will do) cannot be expressed for kyverno")
	if len(r.Objects) != 3 {
		t.Fatalf("got %d objects, want rules 1 to 3 (ignore has nothing to verify)", len(r.Objects))
	}
	keyed, keyless, notary := r.Objects[0], r.Objects[1], r.Objects[2]
	for i, obj := range r.Objects {
		if get(t, obj, "apiVersion") != "policies.kyverno.io/v1" || get(t, obj, "kind") != "ImageValidatingPolicy" ||
			get(t, obj, "metadata", "name") != "imgtrust-rule-"+string(rune('1'+i)) {
			t.Errorf("object %d: %v %v %v", i, obj["apiVersion"], obj["kind"], get(t, obj, "metadata", "name"))
		}
	}
	spec := get(t, keyed, "spec")
	if !slices.Equal(get(t, spec, "validationActions").([]any), []any{"Deny"}) ||
		get(t, spec, "validationConfigurations", "mutateDigest") != true || get(t, spec, "validationConfigurations", "verifyDigest") != true {
		t.Errorf("require: %v %v", get(t, spec, "validationActions"), get(t, spec, "validationConfigurations"))
	}
	if get(t, spec, "attestors", 0, "cosign", "key", "data") != testKey ||
		get(t, spec, "attestors", 0, "cosign", "ctlog", "insecureIgnoreTlog") != true ||
		get(t, spec, "attestors", 1, "cosign", "key", "kms") != "k8s://imgtrust/signing" ||
		get(t, spec, "attestors", 2, "notary", "certs", "value") != testCert {
		t.Errorf("attestors: %v", get(t, spec, "attestors"))
	}
	if e := get(t, spec, "validations", 0, "expression").(string); !strings.Contains(e, "[attestors.key0, attestors.key1, attestors.notation0]) > 0") {
		t.Errorf("validation: %s", e)
	}
	spec = get(t, keyless, "spec")
	if !slices.Equal(get(t, spec, "validationActions").([]any), []any{"Warn", "Audit"}) ||
		get(t, spec, "validationConfigurations", "mutateDigest") != false {
		t.Errorf("verify: %v %v", get(t, spec, "validationActions"), get(t, spec, "validationConfigurations"))
	}
	a := get(t, spec, "attestors", 0, "cosign")
	if get(t, a, "ctlog", "insecureIgnoreTlog") != true || get(t, a, "ctlog", "insecureIgnoreSCT") != true ||
		get(t, a, "keyless", "identities", 0, "issuer") != "https://token.actions.githubusercontent.com" ||
		get(t, a, "keyless", "identities", 1, "subject") != "keyless@distroless.iam.gserviceaccount.com" {
		t.Errorf("keyless: %v", a)
	}
	if get(t, notary, "spec", "attestors", 0, "notary", "certs", "value") != testCert {
		t.Errorf("notation: %v", get(t, notary, "spec", "attestors"))
	}
}

func TestKyvernoMatchesAsTheTrustPolicy(t *testing.T) {
	p := loadTrust(t, `apiVersion: imgtrust.dev/v1alpha1
kind: TrustPolicy
rules:
- images: ["registry.k8s.io/**", "docker.io/library/pause"]
  action: ignore
- images: ["nginx", "acme/*", "docker.io/*/tools"]
  keys: [cosign.pub]
- images: ["ghcr.io/acme/*-svc?", "localhost:5000/**"]
  keys: [cosign.pub]
- images: ["docker.io/library/*"]
  keys: [cosign.pub]
- images: ["**/busybox"]
  keys: [cosign.pub]
- images: ["**"]
  keys: [cosign.pub]
`)
	digest := "@sha256:" + strings.Repeat("b", 64)
	refs := []string{
		"registry.k8s.io/pause:3.10", "registry.k8s.io/x/y" + digest, "pause", "docker.io/pause:3",
		"nginx", "nginx:1.27", "nginx:1.27" + digest, "library/nginx", "docker.io/nginx", "index.docker.io/library/nginx:1",
		"registry-1.docker.io/library/nginx", "nginx-x:1", "acme/web:2", "acme/web/x:2", "docker.io/acme/web",
		"acme/tools", "x/tools:1", "ghcr.io/tools", "ghcr.io/x/tools", "localhost/tools", "localhost/x/tools",
		"ghcr.io/acme/a-svc1:1", "ghcr.io/acme/a-svc:1", "ghcr.io/acme/a-svc12", "localhost:5000/a/b:1",
		"redis", "redis" + digest, "quay.io/x/busybox:1", "busybox", "ghcr.io/other/app:1", "other/app",
	}
	for _, ref := range refs {
		r, err := name.ParseReference(ref, name.WeakValidation)
		if err != nil {
			t.Fatalf("%s: %v", ref, err)
		}
		want := -1
		if rule, ok := p.Match(trustpolicy.Normalize(r.Context().RegistryStr(), r.Context().RepositoryStr())); ok {
			want = rule.Index
		}
		if got := kyFirst(p, ref); got != want {
			t.Errorf("%s: kyverno matches rules[%d], the trust policy rules[%d]", ref, got, want)
		}
	}
}

func TestKyvernoMatchExcludesEarlierRules(t *testing.T) {
	p := loadTrust(t, `apiVersion: imgtrust.dev/v1alpha1
kind: TrustPolicy
rules:
- images: ["registry.k8s.io/**"]
  action: ignore
- images: ["**"]
  keys: [cosign.pub]
`)
	got := kyMatch(p, 1)
	want := `(ref.matches(r'^.*(?::[^/@]*)?(?:@.*)?$')) && !(ref.matches(r'^registry\.k8s\.io/.*(?::[^/@]*)?(?:@.*)?$'))`
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}
