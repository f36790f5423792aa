package admission

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/imgtrust/kubectl-imgtrust/pkg/imageref"
)

// Rule IDs, as the preview and the policy's messages name them.
const (
	RuleRequireDigest     = "require-digest"
	RuleAllowedRegistries = "allowed-registries"
)

// digestPattern is what a pinned reference ends with. CEL's matches() and
// Go's regexp are both RE2, so one pattern serves both. Never
// contains('@'), which does not check the digest, nor contains(':'),
// which "host:5000/app" fools.
const digestPattern = `@sha256:[a-f0-9]{64}$`

var digestRE = regexp.MustCompile(digestPattern)

// Rules are what every new image must satisfy.
type Rules struct {
	// RequireDigest: name@sha256:<64 hex>, a tag before it optional.
	RequireDigest bool
	// Allowed are registry prefixes, each ending in "/", as images must
	// be written; empty allows every registry.
	Allowed []string
	// Exempt are image prefixes no rule applies to.
	Exempt []string
}

// Empty reports whether no rule is asked for.
func (r Rules) Empty() bool { return !r.RequireDigest && len(r.Allowed) == 0 }

// Violation is one rule an image breaks.
type Violation struct {
	Rule  string `json:"rule"`
	Image string `json:"image"`
}

// Check returns the rules image breaks; an exempt or empty image breaks
// none. It is the Go side of the policy's CEL (see cel.go).
func (r Rules) Check(image string) []Violation {
	if image == "" || hasPrefix(image, r.Exempt) {
		return nil
	}
	var out []Violation
	if r.RequireDigest && !digestRE.MatchString(image) {
		out = append(out, Violation{Rule: RuleRequireDigest, Image: image})
	}
	if len(r.Allowed) > 0 && !hasPrefix(image, r.Allowed) {
		out = append(out, Violation{Rule: RuleAllowedRegistries, Image: image})
	}
	return out
}

func hasPrefix(image string, prefixes []string) bool {
	return slices.ContainsFunc(prefixes, func(p string) bool { return strings.HasPrefix(image, p) })
}

// ParsePrefixes reads --allowed-registries: registry or registry/path
// prefixes. Each must start with a registry host, as the kubelet
// would see it in an image: CEL cannot normalise a short name ("nginx" is
// docker.io/library/nginx), so short names are never matched and must be
// written in full. A prefix gains a trailing "/" so that
// "registry.acme.example" cannot match "registry.acme.example.evil.com".
// Docker Hub is matched under both of its spellings.
func ParsePrefixes(flag string, entries []string) ([]string, error) {
	return parsePrefixes(flag, entries, false)
}

// ParseExempt reads --exempt-images: repositories ("registry.k8s.io/pause"
// covers its tags and digests, not "registry.k8s.io/pause-other") or
// prefixes ending in "/".
func ParseExempt(entries []string) ([]string, error) {
	return parsePrefixes("--exempt-images", entries, true)
}

func parsePrefixes(flag string, entries []string, repositories bool) ([]string, error) {
	var out []string
	add := func(p string) {
		if !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	for _, e := range entries {
		e = strings.TrimSpace(e)
		if e == "" {
			continue
		}
		host, rest, _ := strings.Cut(e, "/")
		if !strings.ContainsAny(host, ".:") && host != "localhost" || !imageref.IsHost(host) {
			return nil, fmt.Errorf("%s entry %q does not start with a registry host: write it as the image names it, e.g. registry.acme.example/ or docker.io/library/", flag, e)
		}
		if strings.ContainsAny(rest, "@ ") {
			return nil, fmt.Errorf("%s entry %q is not a registry or registry/path prefix: drop the digest", flag, e)
		}
		spellings := []string{e}
		switch host {
		case "docker.io":
			spellings = append(spellings, "index.docker.io/"+rest)
		case "index.docker.io":
			spellings = append(spellings, "docker.io/"+rest)
		}
		for _, s := range spellings {
			if repositories && rest != "" && !strings.HasSuffix(s, "/") {
				add(s + ":")
				add(s + "@")
			}
			add(strings.TrimSuffix(s, "/") + "/")
		}
	}
	return out, nil
}
