package admission

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
)

func TestPolicyControllerFields(t *testing.T) {
	r := render(t, EnginePolicyController, loadTrust(t, testTrust))
	wantWarnings(t, r.Warnings,
		"rules[1]: notation cannot be expressed for policy-controller; ",
		"rules[1].keys[1]: policy-controller reads key Secrets only from its own namespace",
		`rules[2].images[0]: "?" has no policy-controller glob`,
		"rules[3]: notation cannot be expressed for policy-controller; ",
		"rules[3]: no authority left",
		"rules[4].action: report-unsigned (any signature will do) cannot be expressed")
	if len(r.Objects) != 3 {
		t.Fatalf("got %d objects, want rules 0 to 2", len(r.Objects))
	}
	ignore, keyed, keyless := r.Objects[0], r.Objects[1], r.Objects[2]
	for i, obj := range r.Objects {
		if get(t, obj, "apiVersion") != "policy.sigstore.dev/v1beta1" || get(t, obj, "kind") != "ClusterImagePolicy" ||
			get(t, obj, "metadata", "name") != fmt.Sprintf("imgtrust-rule-%d", i) {
			t.Errorf("object %d: %v %v %v", i, obj["apiVersion"], obj["kind"], get(t, obj, "metadata", "name"))
		}
	}
	if get(t, ignore, "spec", "authorities", 0, "static", "action") != "pass" {
		t.Errorf("ignore: %v", get(t, ignore, "spec", "authorities"))
	}
	if get(t, keyed, "spec", "mode") != "enforce" || get(t, keyless, "spec", "mode") != "warn" {
		t.Errorf("modes: require %v, verify %v", get(t, keyed, "spec", "mode"), get(t, keyless, "spec", "mode"))
	}
	if get(t, keyed, "spec", "authorities", 0, "key", "data") != testKey ||
		get(t, keyed, "spec", "authorities", 1, "key", "secretRef", "name") != "signing" ||
		len(get(t, keyed, "spec", "authorities").([]any)) != 2 {
		t.Errorf("keys: %v", get(t, keyed, "spec", "authorities"))
	}
	a := get(t, keyless, "spec", "authorities", 0)
	if get(t, a, "keyless", "insecureIgnoreSCT") != true || get(t, a, "ctlog") != nil ||
		get(t, a, "keyless", "identities", 0, "subjectRegExp") != `^https://github\.com/acme/.*$` ||
		get(t, a, "keyless", "identities", 1, "issuerRegExp") != `^https://accounts\.google\.com$` ||
		get(t, a, "keyless", "identities", 1, "subject") != "keyless@distroless.iam.gserviceaccount.com" {
		t.Errorf("keyless: %v", a)
	}
}

func TestPolicyControllerChecksTlogUnlessIgnored(t *testing.T) {
	r := render(t, EnginePolicyController, loadTrust(t, `apiVersion: imgtrust.dev/v1alpha1
kind: TrustPolicy
rules:
- images: ["**"]
  keyless: [{issuer: https://accounts.google.com, subject: a@b.example}]
`))
	if a := get(t, r.Objects[0], "spec", "authorities", 0); get(t, a, "ctlog", "url") != pcRekor || get(t, a, "keyless", "insecureIgnoreSCT") != nil {
		t.Errorf("keyless: %v", a)
	}
	wantWarnings(t, r.Warnings)
}

func TestPolicyControllerWarnsOverlaps(t *testing.T) {
	r := render(t, EnginePolicyController, loadTrust(t, `apiVersion: imgtrust.dev/v1alpha1
kind: TrustPolicy
rules:
- images: ["registry.acme.example/team/**"]
  keys: [cosign.pub]
- images: ["registry.acme.example/other/*"]
  keys: [cosign.pub]
- images: ["registry.acme.example/**"]
  keys: [cosign.pub]
`))
	wantWarnings(t, r.Warnings, `rules[2].images: "registry.acme.example/**" overlaps rules[0]'s "registry.acme.example/team/**"`)
}

// pcMatch is policy-controller v0.13.1's glob.Match (pkg/apis/glob),
// copied: it matches the reference go-containerregistry writes in full.
func pcMatch(glob, image string) bool {
	glob = strings.ReplaceAll(glob, ".", `\.`)
	glob = strings.ReplaceAll(glob, "**", "#")
	glob = strings.ReplaceAll(glob, "*", "[^/]*")
	glob = strings.ReplaceAll(glob, "#", ".*")
	re := regexp.MustCompile("^" + glob + "$")
	ref, err := name.ParseReference(image, name.WeakValidation)
	if err != nil {
		panic(err)
	}
	return re.MatchString(ref.Name()) || re.MatchString(image)
}

func TestPolicyControllerGlobsMatchAsTheRule(t *testing.T) {
	p := loadTrust(t, `apiVersion: imgtrust.dev/v1alpha1
kind: TrustPolicy
rules:
- images: ["registry.acme.example/team/app", "nginx", "acme/*", "ghcr.io/acme/**", "**/busybox"]
  keys: [cosign.pub]
`)
	var out Rendered
	globs := pcGlobs(&out, p.Rules[0])
	digest := "@sha256:" + strings.Repeat("a", 64)
	for image, want := range map[string]bool{
		"registry.acme.example/team/app":          true,
		"registry.acme.example/team/app:1.0":      true,
		"registry.acme.example/team/app" + digest: true,
		"registry.acme.example/team/app2:1.0":     false,
		"registry.acme.example/team/app/sub:1":    false,
		"nginx":                                   true,
		"docker.io/library/nginx:1.27" + digest:   true,
		"index.docker.io/nginx@" + digest[1:]:     true,
		"nginxx:1":                                false,
		"acme/web:2":                              true,
		"acme/web/x:2":                            false,
		"ghcr.io/acme/a/b:1":                      true,
		"ghcr.io/acmex/a:1":                       false,
		"quay.io/x/busybox:1":                     true,
		"busybox":                                 true,
	} {
		got := false
		for _, g := range globs {
			got = got || pcMatch(g.(map[string]any)["glob"].(string), image)
		}
		if got != want {
			t.Errorf("%s: matched %v, want %v (globs %v)", image, got, want, globs)
		}
	}
}
