package provenance

import (
	"encoding/json"
	"testing"
	"unicode/utf8"
)

// FuzzParseStatement checks parseStatement on in-toto statements from
// registries. On any bytes: it accepts only JSON whose predicate type is
// SLSA provenance, and every value it returns is a string of the document
// (never made up, never a mix of two). On a statement built from the
// other arguments (SLSA v1 as BuildKit writes it, or v0.2): it returns
// exactly its source, revision, builder and finish (else start) time.
func FuzzParseStatement(f *testing.F) {
	f.Add([]byte(slsaV1("https://github.com/acme/web.git#refs/heads/main", "fedcba9876543210fedcba9876543210fedcba98", "https://github.com/docker/buildx@v0.20", "2026-05-06T07:08:09Z")), false,
		"https://github.com/acme/web", "1111111111111111111111111111111111111111", "https://github.com/docker/buildx", "2026-05-06T07:08:09Z")
	f.Add([]byte(`{"predicateType":"https://slsa.dev/provenance/v0.2","predicate":{"builder":{"id":"https://github.com/docker/buildx"},
	  "invocation":{"configSource":{"uri":"https://github.com/acme/old","digest":{"sha1":"aaaaaaaa"}}},
	  "metadata":{"buildFinishedOn":"2024-01-01T00:00:00Z"}}}`), true, "git+https://github.com/acme/old@refs/heads/main", "aaaaaaaa", "b", "")
	f.Add([]byte(`{"predicateType":"https://slsa.dev/provenance/v1","predicate":{"buildDefinition":{
	  "externalParameters":{"workflow":{"ref":"refs/heads/main","repository":"https://github.com/acme/gh","path":".github/workflows/b.yml"}},
	  "resolvedDependencies":[{"uri":"git+https://github.com/acme/gh@refs/heads/main","digest":{"gitCommit":"bbbbbbbbbb"}}]},
	  "runDetails":{"builder":{"id":"https://github.com/actions/runner/github-hosted"}}}}`), false, "", "", "", "")
	f.Add([]byte(`{"predicateType":"https://slsa.dev/provenance/v1","predicate":{"buildDefinition":{"resolvedDependencies":[
	  {"uri":"pkg:docker/alpine@3.20","digest":{"sha256":"11"}},{"uri":"https://github.com/a/b","digest":{"sha1":"cc"}}]}}}`), false, "x", "", "", "")
	f.Add([]byte(`{"predicateType":"https://spdx.dev/Document","predicate":{}}`), false, "", "", "", "")
	f.Add([]byte(`{"predicateType":"https://slsa.dev/provenance/v1","predicate":null}`), true, "", "", "", "")
	f.Add([]byte(`{"PredicateType":"https://slsa.dev/provenance/v1","predicate":{"runDetails":{"builder":{"id":7}}}}`), false, "", "", "", "")
	f.Add([]byte(`[]`), false, "", "", "", "")
	f.Fuzz(func(t *testing.T, raw []byte, v02 bool, uri, commit, builder, finished string) {
		got, ok := parseStatement(raw)
		if ok {
			if !json.Valid(raw) {
				t.Fatalf("parseStatement accepted bytes that are not JSON: %q", raw)
			}
			var doc any
			_ = json.Unmarshal(raw, &doc)
			strs := map[string]bool{}
			collectStrings(doc, strs)
			if !strs[PredicateSLSAv1] && !strs[PredicateSLSAv02] {
				t.Fatalf("parseStatement accepted a document with no SLSA predicate type: %q", raw)
			}
			for _, v := range []string{got.source, got.revision, got.builderID, got.created} {
				if v != "" && !strs[v] {
					t.Fatalf("parseStatement(%q) = %+v: %q is no string of the document", raw, got, v)
				}
			}
			if got.version != "" || got.baseName != "" || got.baseDigest != "" {
				t.Fatalf("parseStatement(%q) = %+v: fields a statement does not give", raw, got)
			}
		} else if got != (fields{}) {
			t.Fatalf("parseStatement(%q) = %+v, not ok, but with values", raw, got)
		}

		// A statement built from the arguments (JSON holds UTF-8 only).
		for _, s := range []string{uri, commit, builder, finished} {
			if !utf8.ValidString(s) {
				return
			}
		}
		const started = "2026-01-02T03:00:00Z"
		stmt := []byte(slsaV1(uri, commit, builder, finished))
		if v02 {
			stmt, _ = json.Marshal(map[string]any{
				"_type": "https://in-toto.io/Statement/v0.1", "predicateType": PredicateSLSAv02,
				"predicate": map[string]any{
					"builder":    map[string]any{"id": builder},
					"invocation": map[string]any{"configSource": map[string]any{"uri": uri, "digest": map[string]string{"sha1": commit}}},
					"metadata":   map[string]any{"buildStartedOn": started, "buildFinishedOn": finished},
					"materials":  []any{map[string]any{"uri": "pkg:docker/alpine@3.20", "digest": map[string]string{"sha256": "11"}}},
				},
			})
		}
		want := fields{source: uri, revision: commit, builderID: builder, created: finished}
		if finished == "" {
			want.created = started
		}
		if got, ok := parseStatement(stmt); !ok || got != want {
			t.Fatalf("parseStatement(%s) = %+v, %v; want %+v", stmt, got, ok, want)
		}
	})
}

// collectStrings gathers every string value and key of a decoded document.
func collectStrings(v any, into map[string]bool) {
	switch v := v.(type) {
	case string:
		into[v] = true
	case []any:
		for _, e := range v {
			collectStrings(e, into)
		}
	case map[string]any:
		for k, e := range v {
			into[k] = true
			collectStrings(e, into)
		}
	}
}
