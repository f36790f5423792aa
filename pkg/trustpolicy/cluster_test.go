package trustpolicy

import (
	"reflect"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

func cipSpec(t *testing.T, y string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := yaml.Unmarshal([]byte(y), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestClusterPolicyFrom(t *testing.T) {
	spec := cipSpec(t, `
images: [{glob: "registry.acme.example/**"}, {glob: "bad glob!"}]
mode: warn
policy: {type: cue, data: "x"}
authorities:
- key: {data: "PEM"}
  ctlog: {url: https://rekor.sigstore.dev}
- name: vendor
  key: {secretRef: {name: vendor-key, namespace: elsewhere}}
- keyless:
    url: https://fulcio.sigstore.dev
    insecureIgnoreSCT: true
    identities: [{issuer: https://token.actions.githubusercontent.com, subjectRegExp: '^https://github.com/acme/'}, {issuer: x, subjectRegExp: '('}, {subject: a@b.c}]
  attestations: [{name: prov, predicateType: slsaprovenance1, policy: {type: cue}}, {predicateType: "not a type"}]
- key: {kms: "awskms:///arn"}
- static: {action: pass}
`)
	p, warnings, ok := ClusterPolicyFrom("acme", spec)
	if !ok {
		t.Fatalf("not applied: %q", warnings)
	}
	if p.Rule() != "clusterimagepolicy/acme" || !reflect.DeepEqual(p.Globs, []string{"registry.acme.example/**"}) {
		t.Errorf("rule %q globs %q", p.Rule(), p.Globs)
	}
	want := []ClusterAuthority{
		{Name: "authority-0", Keys: []ClusterKey{{Field: "authorities[0].key.data", PEM: []byte("PEM")}}},
		{Name: "vendor", Keys: []ClusterKey{{Field: "authorities[1].key.secretRef", SecretRef: "vendor-key"}}},
		{Name: "authority-2", IgnoreSCT: true, Attestations: []string{"https://slsa.dev/provenance/v1"}, Keyless: []Identity{
			{Issuer: "https://token.actions.githubusercontent.com", SubjectRegExp: "^https://github.com/acme/"},
			{IssuerRegExp: ".*", Subject: "a@b.c"}}},
	}
	if !reflect.DeepEqual(p.Authorities, want) {
		t.Errorf("authorities\n got %+v\nwant %+v", p.Authorities, want)
	}
	// Every field not applied is one warning naming the policy and field.
	for _, w := range []string{
		`spec.images[1].glob: "bad glob!" is not a glob`,
		"spec.mode: warn:",
		"spec.policy: the CUE/Rego policy is not evaluated",
		"spec.authorities[0].ctlog: the transparency-log entry of keyed signatures is not checked",
		`spec.authorities[1].key.secretRef.namespace: "elsewhere" is ignored`,
		`spec.authorities[2].keyless.identities[1]: subjectRegExp "(" does not compile`,
		"spec.authorities[2].attestations[0].policy: the attestation's policy is not evaluated",
		`spec.authorities[2].attestations[1].predicateType: "not a type" is not a predicate type`,
		"spec.authorities[3].key.kms: KMS keys are not read",
		"spec.authorities[3]: nothing here is verified by the audit; the authority is left out",
		"spec.authorities[4].static: a static pass or fail is not applied",
		"spec.authorities[4]: nothing here is verified",
	} {
		found := false
		for _, got := range warnings {
			found = found || strings.HasPrefix(got, "clusterimagepolicy/acme: ") && strings.Contains(got, w)
		}
		if !found {
			t.Errorf("no warning %q in\n%s", w, strings.Join(warnings, "\n"))
		}
	}
	if len(warnings) != 12 {
		t.Errorf("%d warnings, want 12:\n%s", len(warnings), strings.Join(warnings, "\n"))
	}
	_, warnings, ok = ClusterPolicyFrom("empty", cipSpec(t, `{images: [{glob: "**"}], authorities: [{static: {action: fail}}]}`))
	if ok || !strings.Contains(strings.Join(warnings, "\n"), "clusterimagepolicy/empty: no authority the audit can verify; the policy is left out") {
		t.Errorf("a policy with no authority the audit verifies: ok %v, %q", ok, warnings)
	}
}

// Globs match as policy-controller's do: against the fully qualified
// reference, tag or digest included, then the image as written.
func TestClusterPolicyMatches(t *testing.T) {
	tests := []struct {
		glob, image string
		want        bool
	}{
		{"registry.acme.example/**", "registry.acme.example/team/web:1", true},
		{"registry.acme.example/*", "registry.acme.example/team/web:1", false},
		{"registry.acme.example/team/web", "registry.acme.example/team/web:1", false}, // the tag is part of the name
		{"registry.acme.example/team/web:**", "registry.acme.example/team/web:1", true},
		{"registry.acme.example/team/web*", "registry.acme.example/team/web@sha256:" + strings.Repeat("a", 64), true},
		{"*", "nginx", true}, // index.docker.io/library/*
		{"*", "acme/web", false},
		{"*/*", "acme/web", true},
		{"index.docker.io/library/nginx:*", "nginx:1.27", true},
		{"nginx:1.27", "nginx:1.27", true}, // the image as written
		{"ghcr.io/**", "registry.acme.example/x:1", false},
	}
	for _, tt := range tests {
		p, ws, ok := ClusterPolicyFrom("p", map[string]any{"images": []any{map[string]any{"glob": tt.glob}}, "authorities": []any{map[string]any{"key": map[string]any{"data": "k"}}}})
		if !ok {
			t.Fatalf("%s: %q", tt.glob, ws)
		}
		if got := p.Matches(tt.image); got != tt.want {
			t.Errorf("glob %q image %q: %v, want %v", tt.glob, tt.image, got, tt.want)
		}
	}
}

// FuzzClusterPolicyFrom: a ClusterImagePolicy's spec comes from the
// cluster, outside bytes: reading it never panics, its warnings are one
// line each, and matching any image never panics.
func FuzzClusterPolicyFrom(f *testing.F) {
	for _, seed := range []string{
		`{images: [{glob: "registry.acme.example/**"}], authorities: [{key: {data: PEM}}]}`,
		`{images: [{glob: "*"}, {glob: "*/*"}], mode: warn, policy: {type: cue}, authorities: [{keyless: {url: https://fulcio.example, identities: [{issuer: i, subjectRegExp: "("}, {subject: s}], insecureIgnoreSCT: true}, ctlog: {url: https://rekor.example}, attestations: [{predicateType: slsaprovenance1, policy: {type: cue}}, {predicateType: 3}]}]}`,
		`{images: [{glob: "bad glob!"}], authorities: [{key: {kms: "awskms:///x"}}, {static: {action: pass}}, {key: {secretRef: {name: s, namespace: n}}, source: [{oci: x}]}]}`,
		`{images: "x", authorities: {key: 1}}`,
		`{}`,
	} {
		f.Add([]byte(seed), "registry.acme.example/team/web:1")
	}
	f.Fuzz(func(t *testing.T, data []byte, image string) {
		var spec map[string]any
		if yaml.Unmarshal(data, &spec) != nil {
			return
		}
		p, warnings, _ := ClusterPolicyFrom("fuzz", spec)
		for _, w := range warnings {
			if strings.ContainsAny(w, "\n\r") {
				t.Fatalf("warning not one line: %q", w)
			}
		}
		p.Matches(image)
	})
}
