package registry

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// FuzzNextPage checks the Link header reading that pages tag lists and
// referrers. On any header: a next page it returns is an absolute URL on
// the request's scheme and host, not the request's URL, and is what one
// <target> of the header resolves to. On two links built from the arguments (RFC 8288: targets in
// <>, parameters in any order, rel a token or a quoted string holding
// space-separated relation types, matched without case, one or two header
// fields): it returns the first link whose rel holds "next", and nothing
// when none does.
func FuzzNextPage(f *testing.F) {
	for _, s := range [][7]string{
		{`</v2/app/tags/list?last=b&n=2>; rel="next"`, "/v2/app/tags/list?last=b&n=2", "next", "/x", "prev", "", ""},
		{`<https://reg.example.com/v2/app/referrers/sha256:abc?n=1&last=x>; rel=next`, "?last=x", "prev", "https://reg.example.com/v2/app/tags/list?last=c", "next", "t", "1"},
		{`</a>; rel="prev", </b>; rel="next"`, "/a", "NEXT", "/b", "next", "page 2", ""},
		{`</a>; title="x, y"; rel="next"`, "/a,b", "prev next", "/b", "next", `say "hi"`, "1"},
		{`</a>; rel="next-archive"`, "/a", "next-archive", "/b", "next", "", ""},
		{`<//evil.example/v2/>; rel="next"`, "//evil.example/v2/", "next", "/b", "next", "", ""},
		{`<http://reg.example.com/v2/>; rel="next"`, "http://reg.example.com/v2/", "next", "", "", "", "1"},
		{`<%zz>; rel="next"`, "%zz", "next", "", "", "", ""},
		{`<>; rel="next"`, "", "next", "", "", "", ""},
		{`</a>; rel="next"; rel="prev"`, "/a", "", "/b", "x\tnext", ";", ""},
		{`garbage, </a>; rel=next`, "/a", `"next"`, "/b", "next", `\`, ""},
	} {
		f.Add(s[0], s[1], s[2], s[3], s[4], s[5], s[6] != "")
	}
	base, _ := url.Parse("https://reg.example.com/v2/app/tags/list?n=1000")
	f.Fuzz(func(t *testing.T, header, t1, rel1, t2, rel2, title string, twoFields bool) {
		// Any header.
		u, err := nextPage(http.Header{"Link": {header}}, base)
		if err != nil && u != nil {
			t.Fatalf("nextPage(%q) = %v and error %v", header, u, err)
		}
		if u != nil {
			if !u.IsAbs() || u.Scheme != base.Scheme || u.Host != base.Host || u.String() == base.String() {
				t.Fatalf("nextPage(%q) = %v: not on %s://%s", header, u, base.Scheme, base.Host)
			}
			if !resolvesFromHeader(header, base, u) {
				t.Fatalf("nextPage(%q) = %v: no <target> of the header resolves to it", header, u)
			}
		}

		// Two links built from the arguments.
		if !linkTarget(t1) || !linkTarget(t2) || !quotable(rel1) || !quotable(rel2) || !quotable(title) {
			return
		}
		l1 := "<" + t1 + ">; title=" + quote(title) + "; rel=" + relParam(rel1)
		l2 := "<" + t2 + ">;rel=" + relParam(rel2) + " ; rel=next"
		h := http.Header{"Link": {l1 + ", " + l2}}
		if twoFields {
			h = http.Header{"Link": {l1, l2}}
		}
		want, wantErr := (*url.URL)(nil), false
		for _, l := range []struct{ target, rel string }{{t1, rel1}, {t2, rel2}} {
			if !hasNext(l.rel) {
				continue
			}
			w, err := base.Parse(l.target)
			switch {
			case err != nil || w.Scheme != base.Scheme || w.Host != base.Host:
				wantErr = true
			case w.String() != base.String(): // a link to this page is none
				want = w
			}
			break
		}
		got, err := nextPage(h, base)
		if (err != nil) != wantErr || (got == nil) != (want == nil) || (got != nil && got.String() != want.String()) {
			t.Fatalf("nextPage(%q) = %v, %v; want %v, error %v", h.Values("Link"), got, err, want, wantErr)
		}
	})
}

// resolvesFromHeader reports whether some <target> in header resolves to u.
func resolvesFromHeader(header string, base, u *url.URL) bool {
	for rest := header; ; {
		i := strings.IndexByte(rest, '<')
		if i < 0 {
			return false
		}
		rest = rest[i+1:]
		j := strings.IndexByte(rest, '>')
		if j < 0 {
			return false
		}
		if w, err := base.Parse(rest[:j]); err == nil && w.String() == u.String() {
			return true
		}
	}
}

// linkTarget: a URI reference can go between < and >.
func linkTarget(s string) bool { return !strings.ContainsAny(s, "<>") }

// quotable: a quoted-string can hold it (no control characters but tab).
func quotable(s string) bool {
	for _, c := range []byte(s) {
		if (c < 0x20 && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}

func quote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// relParam writes rel as a token when it is one, else quoted.
func relParam(rel string) string {
	if rel != "" && strings.Trim(rel, "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") == "" {
		return rel
	}
	return quote(rel)
}

// hasNext: rel's space-separated relation types include next.
func hasNext(rel string) bool {
	for _, r := range strings.FieldsFunc(rel, func(c rune) bool { return c == ' ' || c == '\t' }) {
		if strings.EqualFold(r, "next") {
			return true
		}
	}
	return false
}

// FuzzAnnouncedRealm checks the reading of the token realm a registry
// announces in WWW-Authenticate (named in errors). On any header: a realm
// it returns that parses as a URL carries no query, fragment or user. On
// challenges built from the arguments (auth-params before and after the
// realm, quoted or not, in one or two fields, another challenge first,
// "realm" in any case): it returns exactly the realm, query stripped, and
// "" when no challenge names one.
func FuzzAnnouncedRealm(f *testing.F) {
	for _, s := range [][6]string{
		{`Bearer realm="https://auth.example.com/token",service="registry.example.com",scope="repository:app:pull"`, "https://auth.example.com/token", "registry.example.com", "repository:app:pull", "Bearer", ""},
		{`Basic realm="Registry Realm"`, "Registry Realm", "x", "y", "Basic", "1"},
		{`Bearer service="a, realm=\"evil\"", realm="https://good/token"`, "https://good/token?client=1&secret=2", `a, realm="evil"`, "", "BEARER", ""},
		{`Bearer REALM=https`, `https://u:p@auth/t#frag`, `\`, "tok68==", "Bearer", "1"},
		{`Negotiate abc==, Bearer realm="https://x/t"`, "", "", "", "Negotiate", ""},
		{`Bearer error="insufficient_scope"`, "https://auth/%zz?q", "a\"b", "c\\d", "Bearer", "1"},
		{`realm`, "", "", "", "", ""},
	} {
		f.Add(s[0], s[1], s[2], s[3], s[4], s[5] != "")
	}
	f.Fuzz(func(t *testing.T, header, realm, before, after, scheme string, twoFields bool) {
		if got := announcedRealm([]string{header}); got != "" {
			if u, err := url.Parse(got); err == nil && (u.RawQuery != "" || u.Fragment != "" || u.User != nil) {
				t.Fatalf("announcedRealm(%q) = %q: query, fragment or user left in", header, got)
			}
		}

		if !quotable(realm) || !quotable(before) || !quotable(after) || tokenLen(scheme) != len(scheme) || scheme == "" {
			return
		}
		other := "Negotiate " + "service=" + quote(before) + ", error=" + relParam(after)
		challenge := scheme + " service=" + quote(before) + ", rEaLm=" + quote(realm) + ", scope=" + relParam(after)
		for _, c := range []struct {
			fields []string
			want   string
		}{
			{[]string{other + ", " + challenge}, stripQuery(realm)},
			{[]string{other, challenge}, stripQuery(realm)},
			{[]string{other}, ""},
		} {
			if !twoFields && len(c.fields) == 2 {
				continue
			}
			if got := announcedRealm(c.fields); got != c.want {
				t.Fatalf("announcedRealm(%q) = %q, want %q", c.fields, got, c.want)
			}
		}
	})
}
