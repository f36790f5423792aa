package registry

// Redaction: removing URL queries, authorization values and a
// credential's secrets from foreign text before it is printed.

import (
	"context"
	"encoding/base64"
	"net/url"
	"regexp"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
)

var (
	// A URL's query string may carry a token or a signature.
	urlQueryRE = regexp.MustCompile(`([a-zA-Z][a-zA-Z0-9+.-]*://[^\s"'?#]*)[?#][^\s"']*`)
	// Authorization header values, should a server echo one.
	authHeaderRE = regexp.MustCompile(`(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}`)
)

// sanitize strips URL query strings and authorization values.
func sanitize(s string) string {
	s = urlQueryRE.ReplaceAllString(s, "$1")
	return authHeaderRE.ReplaceAllString(s, "$1 REDACTED")
}

// clean makes a foreign string printable: sanitized, scrubbed of the
// credential's secrets (before shortening, so no prefix of one survives),
// then shortened.
func (c classifier) clean(s string) string {
	return truncate(scrub(sanitize(s), c.secrets), 300)
}

func stripQuery(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return sanitize(raw)
	}
	u.RawQuery, u.Fragment, u.User = "", "", nil
	return u.String()
}

// scrub replaces every secret with REDACTED.
func scrub(s string, secrets []string) string {
	for _, sec := range secrets {
		if len(sec) >= 4 {
			s = strings.ReplaceAll(s, sec, "REDACTED")
		}
	}
	return s
}

// secretsOf lists the strings of a credential that must never be printed.
func secretsOf(ctx context.Context, auth authn.Authenticator) []string {
	if auth == nil || auth == authn.Anonymous {
		return nil
	}
	cfg, err := authn.Authorization(ctx, auth)
	if err != nil || cfg == nil {
		return nil
	}
	var out []string
	for _, s := range []string{cfg.Password, cfg.Auth, cfg.IdentityToken, cfg.RegistryToken} {
		if s != "" {
			out = append(out, s)
		}
	}
	if cfg.Password != "" {
		out = append(out, base64.StdEncoding.EncodeToString([]byte(cfg.Username+":"+cfg.Password)))
	}
	return out
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}

// SafeLine makes a foreign line fit for a log: one line, URL queries and
// authorization values removed, at most n characters.
func SafeLine(s string, n int) string {
	return truncate(sanitize(strings.Join(strings.Fields(s), " ")), n)
}
