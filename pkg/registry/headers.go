package registry

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
)

// errLinkElsewhere: a Link to a next page on another host or scheme.
var errLinkElsewhere = errors.New("the next page link leaves the registry")

// nextPage reads the target of the first "next" link of a response's Link
// header fields (RFC 8288) and resolves it against the request's URL cur.
// It returns nil when there is no next page (a link to cur itself is
// none), and errLinkElsewhere when the next page is not on cur's scheme
// and host, or does not parse.
func nextPage(h http.Header, cur *url.URL) (*url.URL, error) {
	target, ok := nextLink(h.Values("Link"))
	if !ok {
		return nil, nil
	}
	u, err := cur.Parse(target)
	if err != nil || u.Scheme != cur.Scheme || u.Host != cur.Host {
		return nil, errLinkElsewhere
	}
	if u.String() == cur.String() {
		return nil, nil
	}
	return u, nil
}

// nextLink finds the target of the first link whose relation types (the
// first rel parameter, a token or a quoted string of space-separated
// types, without case) include "next". Links are "<target>" and
// parameters after ";", separated by commas, in one or more fields; a
// link that does not parse ends its field.
func nextLink(fields []string) (string, bool) {
	for _, s := range fields {
		for {
			s = strings.TrimLeft(s, " \t,")
			if !strings.HasPrefix(s, "<") {
				break
			}
			end := strings.IndexByte(s, '>')
			if end < 0 {
				break
			}
			target := s[1:end]
			s = s[end+1:]
			rel, relSeen := "", false
			for {
				s = strings.TrimLeft(s, " \t")
				if !strings.HasPrefix(s, ";") {
					break
				}
				var name, value string
				name, value, s = linkParam(s[1:])
				if strings.EqualFold(name, "rel") && !relSeen {
					rel, relSeen = value, true
				}
			}
			for _, r := range strings.FieldsFunc(rel, func(c rune) bool { return c == ' ' || c == '\t' }) {
				if strings.EqualFold(r, "next") {
					return target, true
				}
			}
			if !strings.HasPrefix(s, ",") {
				break // not a link list any more
			}
		}
	}
	return "", false
}

// linkParam reads `name[=value]` (value a token or a quoted string) and
// returns what follows it.
func linkParam(s string) (name, value, rest string) {
	s = strings.TrimLeft(s, " \t")
	i := strings.IndexAny(s, "=;, \t")
	if i < 0 {
		return s, "", ""
	}
	name, s = s[:i], strings.TrimLeft(s[i:], " \t")
	if !strings.HasPrefix(s, "=") {
		return name, "", s
	}
	s = strings.TrimLeft(s[1:], " \t")
	if !strings.HasPrefix(s, `"`) {
		i := strings.IndexAny(s, ";, \t")
		if i < 0 {
			return name, s, ""
		}
		return name, s[:i], s[i:]
	}
	value, rest = quotedString(s)
	return name, value, rest
}

// quotedString reads the quoted string s starts with (RFC 9110: a
// backslash quotes the next byte) and returns what follows it; an
// unterminated one runs to the end.
func quotedString(s string) (value, rest string) {
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"':
			return b.String(), s[i+1:]
		case c == '\\' && i+1 < len(s):
			i++
			b.WriteByte(s[i])
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), ""
}

// announcedRealm is the realm of the first challenge of WWW-Authenticate
// header fields that has one (RFC 9110 auth-params: name=token or
// name="quoted string", the name without case), query, fragment and user
// stripped for messages; "" when none names one.
func announcedRealm(fields []string) string {
	for _, s := range fields {
		for s != "" {
			s = strings.TrimLeft(s, " \t,")
			i := tokenLen(s)
			if i == 0 {
				if s != "" {
					s = s[1:] // not a challenge: skip
				}
				continue
			}
			name, rest := s[:i], strings.TrimLeft(s[i:], " \t")
			if !strings.HasPrefix(rest, "=") {
				s = rest // an auth-scheme or token68
				continue
			}
			rest = strings.TrimLeft(rest[1:], " \t")
			var value string
			if strings.HasPrefix(rest, `"`) {
				value, rest = quotedString(rest)
			} else {
				j := tokenLen(rest)
				value, rest = rest[:j], rest[j:]
			}
			if strings.EqualFold(name, "realm") {
				return stripQuery(value)
			}
			s = rest
		}
	}
	return ""
}

// tokenLen is the length of the RFC 9110 token s starts with.
func tokenLen(s string) int {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return i
		}
	}
	return len(s)
}
