package registry

import (
	"net/http"
	"net/url"
	"testing"
)

func TestNextPage(t *testing.T) {
	cur, _ := url.Parse("https://reg.example.com/v2/app/tags/list?n=2")
	for _, tt := range []struct {
		name    string
		links   []string
		want    string
		wantErr bool
	}{
		{"distribution's", []string{`</v2/app/tags/list?last=b&n=2>; rel="next"`}, "https://reg.example.com/v2/app/tags/list?last=b&n=2", false},
		{"none", nil, "", false},
		{"a parameter before rel", []string{`</p2>; title="x, y"; rel="next"`}, "https://reg.example.com/p2", false},
		{"next in a second field", []string{`</p0>; rel="prev"`, `</p2>; rel=next`}, "https://reg.example.com/p2", false},
		{"rel in capitals, in a list", []string{`</p0>; rel="first", </p2>; rel="NEXT last"`}, "https://reg.example.com/p2", false},
		{"next-archive is not next", []string{`</p9>; rel="next-archive"`}, "", false},
		{"only the first rel counts", []string{`</p0>; rel="prev"; rel="next"`}, "", false},
		{"the first next link counts", []string{`<//evil.example/p2>; title="t"; rel="next", </p2>; rel="next"`}, "", true},
		{"no downgrade to http", []string{`<http://reg.example.com/p2>; rel="next"`}, "", true},
		{"a link to this page is no next page", []string{`<?n=2>; rel="next"`}, "", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := nextPage(http.Header{"Link": tt.links}, cur)
			if (err != nil) != tt.wantErr {
				t.Fatalf("error %v, want error %v", err, tt.wantErr)
			}
			if s := ""; got != nil {
				s = got.String()
				if s != tt.want {
					t.Errorf("next = %s, want %s", s, tt.want)
				}
			} else if tt.want != "" {
				t.Errorf("next = nil, want %s", tt.want)
			}
		})
	}
}

func TestAnnouncedRealm(t *testing.T) {
	for _, tt := range []struct {
		header []string
		want   string
	}{
		{[]string{`Bearer realm="https://auth.example.com/token",service="reg",scope="repository:app:pull"`}, "https://auth.example.com/token"},
		{[]string{`Bearer service="a, realm=\"evil\"", realm="https://auth.example.com/token?secret=1"`}, "https://auth.example.com/token"},
		{[]string{`Negotiate abc==`, `Basic REALM="Registry Realm"`}, stripQuery("Registry Realm")},
		{[]string{`Bearer realm="https://a/x\"y"`}, stripQuery(`https://a/x"y`)},
		{[]string{`Bearer error="invalid_token"`}, ""},
	} {
		if got := announcedRealm(tt.header); got != tt.want {
			t.Errorf("announcedRealm(%q) = %q, want %q", tt.header, got, tt.want)
		}
	}
}
