package trustpolicy

import (
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzParse: Parse never panics; an error is one line naming the file; a
// parsed policy's rules have images, a valid action and the authorities
// the action asks for; Match never panics, and the name a literal pattern
// (no wildcard) stands for matches its rule or an earlier one.
func FuzzParse(f *testing.F) {
	dir := policyDir(f)
	for _, seed := range []string{
		goodPolicy,
		rule0,
		`{"apiVersion": "imgtrust.dev/v1alpha1", "kind": "TrustPolicy", "rules": [{"images": ["ghcr.io/acme/**"], "keys": ["cosign.pub"]}]}`,
		header + "rules:\n- images: [nginx, acme/web, index.docker.io/x/y, localhost:5000/a]\n  notation: [acme-ca.pem]\n- images: [\"**\"]\n  action: ignore\n",
		header + "rules:\n- images: [\"Registry.Example/a?/b\", \"docker.io/redis\"]\n  keyless: [{issuerRegExp: '^https://.*$', subject: a@b.c}]\n  action: require\n",
		header + "rules:\n- images: [\"ghcr.io/acme/web:v1\"]\n  keys: [\"k8s://ns/key\"]\n",
		header + "rules:\n- images: [x]\n  keyless: [{issuer: a, subjectRegExp: '(?!x)'}]\n",
		header + "rules:\n- images: [x]\n  require: [signature]\n",
		header + "rules:\n- images: [x]\n  keys: [cosign.pub]\n  require: [signature, \"attestation:slsaprovenance1\", \"attestation:https://spdx.dev/Document\"]\n",
		header + "rules:\n- images: [\"*\"]\n  action: report-unsigned\n  keys: [cosign.pub]\n",
		rule0 + "---\n" + rule0,
		"a: &a [x, x]\nb: &b [*a, *a]\nc: [*b, *b]\n",
		"",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		pol, err := Parse(data, "trust.yaml", dir)
		if err != nil {
			msg := err.Error()
			if strings.ContainsAny(msg, "\n\r") || !strings.HasPrefix(msg, "trust.yaml: ") || !strings.Contains(msg, "; ") {
				t.Fatalf("error is not one line 'trust.yaml: …; …': %q", msg)
			}
			return
		}
		if len(pol.Rules) == 0 || len(pol.compiled) != len(pol.Rules) {
			t.Fatalf("%d rules, %d compiled", len(pol.Rules), len(pol.compiled))
		}
		pol.Match(string(data)) // must not panic
		for i, r := range pol.Rules {
			if r.Index != i || len(r.Images) == 0 || !slices.Contains(actions, r.Action) {
				t.Fatalf("rules[%d] = %+v", i, r)
			}
			authorities := len(r.Keys) + len(r.Notation) + len(r.Keyless)
			if (r.Action == ActionVerify || r.Action == ActionRequire) != (authorities > 0) {
				t.Fatalf("rules[%d]: action %s with %d authorities", i, r.Action, authorities)
			}
			for _, id := range r.Keyless {
				if (id.Issuer == "") == (id.IssuerRegExp == "") || (id.Subject == "") == (id.SubjectRegExp == "") {
					t.Fatalf("rules[%d]: identity %+v", i, id)
				}
			}
			for _, img := range r.Images {
				if strings.ContainsAny(img, "*?") {
					continue
				}
				host, repo, _ := strings.Cut(normalizePattern(img), "/")
				name := Normalize(host, repo)
				m, ok := pol.Match(name)
				if !ok || m.Index > i {
					t.Fatalf("rules[%d] pattern %q: Match(%q) = %s, %v", i, img, name, m.Name(), ok)
				}
			}
		}
	})
}

// globRegexp is the reference for globMatch: "**" is ".*", "*" is
// "[^/]*", "?" is "[^/]", anything else itself.
func globRegexp(pattern string) *regexp.Regexp {
	var b strings.Builder
	b.WriteString(`(?s)^`)
	for i := 0; i < len(pattern); {
		switch {
		case strings.HasPrefix(pattern[i:], "**"):
			b.WriteString(`.*`)
			i += 2
		case pattern[i] == '*':
			b.WriteString(`[^/]*`)
			i++
		case pattern[i] == '?':
			b.WriteString(`[^/]`)
			i++
		default:
			_, w := utf8.DecodeRuneInString(pattern[i:])
			b.WriteString(regexp.QuoteMeta(pattern[i : i+w]))
			i += w
		}
	}
	b.WriteString(`$`)
	return regexp.MustCompile(b.String())
}

// FuzzGlob: globMatch agrees with the regular expression the glob stands
// for.
func FuzzGlob(f *testing.F) {
	for _, seed := range [][2]string{
		{"registry.k8s.io/**", "registry.k8s.io/pause"},
		{"registry.k8s.io/**", "registry.k8s.io/a/b"},
		{"registry.acme.example/**", "registry.acme.example.evil.com/x"},
		{"ghcr.io/acme/*", "ghcr.io/acme/web/api"},
		{"ghcr.io/*/web-?", "ghcr.io/acme/web-1"},
		{"**/nginx", "docker.io/library/nginx"},
		{"*.gcr.io/**", "eu.gcr.io/p/x"},
		{"a**b*c?d", "a/x/b/yc/d"},
		{"***?*", "é/"},
		{"", ""},
		{"x\ny", "x\ny"},
	} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, pattern, name string) {
		if !utf8.ValidString(pattern) || !utf8.ValidString(name) || len(pattern) > 256 || len(name) > 512 {
			t.Skip()
		}
		want := globRegexp(pattern).MatchString(name)
		if got := globMatch(pattern, name); got != want {
			t.Fatalf("globMatch(%q, %q) = %v, regexp says %v", pattern, name, got, want)
		}
	})
}
