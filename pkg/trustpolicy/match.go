package trustpolicy

import (
	"strings"
	"unicode/utf8"
)

// dockerHub is the one name of Docker Hub in normalised names.
const dockerHub = "docker.io"

// Normalize is the name rules are matched on: "registry/repository", the
// registry lowercased and Docker Hub (index.docker.io,
// registry-1.docker.io, docker.io or no registry at all) written
// "docker.io", with "library/" before a one-segment Docker Hub repository.
// The repository is otherwise kept; it has no tag or digest.
func Normalize(registry, repository string) string {
	host := normalizeHost(registry)
	if host == "" {
		host = dockerHub
	}
	return host + "/" + hubRepository(host, repository)
}

// Match is the first rule with an image pattern matching name, a name
// made by Normalize (never with a tag or digest); false when no rule
// covers it.
func (p *Policy) Match(name string) (Rule, bool) {
	if p == nil {
		return Rule{}, false
	}
	parsed := len(p.compiled) == len(p.Rules)
	for i, r := range p.Rules {
		if parsed {
			for _, pat := range p.compiled[i].patterns {
				if globMatch(pat, name) {
					return r, true
				}
			}
			continue
		}
		for _, img := range r.Images {
			if globMatch(normalizePattern(img), name) {
				return r, true
			}
		}
	}
	return Rule{}, false
}

func normalizeHost(h string) string {
	h = strings.ToLower(h)
	switch h {
	case "index.docker.io", "registry-1.docker.io":
		return dockerHub
	}
	return h
}

// hubRepository adds Docker Hub's "library/" to a one-segment repository.
func hubRepository(host, repo string) string {
	if host == dockerHub && !strings.Contains(repo, "/") && !strings.Contains(repo, "**") {
		return "library/" + repo
	}
	return repo
}

// isHost is the kubelet's rule for the first segment of an image name:
// a registry when it has a '.' or a ':' or is "localhost", else the name
// is on Docker Hub.
func isHost(segment string) bool {
	return strings.ContainsAny(segment, ".:") || segment == "localhost"
}

// normalizePattern writes an image pattern as Normalize writes names:
// "nginx" is "docker.io/library/nginx", "acme/*" is "docker.io/acme/*",
// "index.docker.io/x/y" is "docker.io/x/y". "*", "**" and a pattern whose
// first segment holds "**" (as "**/nginx") are kept: they may span
// registries.
func normalizePattern(p string) string {
	first, rest, hasPath := strings.Cut(p, "/")
	if p == "*" || strings.Contains(first, "**") {
		return p
	}
	if !isHost(first) {
		return dockerHub + "/" + hubRepository(dockerHub, p)
	}
	host := normalizeHost(first)
	if !hasPath {
		return host // a registry alone, refused by checkPattern
	}
	return host + "/" + hubRepository(host, rest)
}

// checkPattern says what is wrong with an image pattern and what to write
// instead; "" when it is fine.
func checkPattern(p string) (what, fix string) {
	const example = `write a pattern such as "registry.example/team/**", or "**" for every image`
	switch {
	case p == "":
		return "empty pattern", example
	case p == "*":
		return `"*" alone matches no image (a name has a registry and a repository)`,
			`write "**" for every image, or "docker.io/library/*" for Docker Hub's official images`
	case strings.Contains(p, "://"):
		_, after, _ := strings.Cut(p, "://")
		return "a pattern has no scheme", "write " + quote(after)
	case strings.Contains(p, "@"):
		before, _, _ := strings.Cut(p, "@")
		return "a pattern names no digest", "write " + quote(before) + ": a rule covers every tag and digest of its repositories"
	case strings.Contains(p, "***"):
		return `"***" is not a wildcard`, `write "**" for any characters, '/' included, or "*" within one path segment`
	}
	segments := strings.Split(p, "/")
	if kept := nonEmpty(segments); len(kept) != len(segments) {
		return "empty path segment", "write " + quote(strings.Join(kept, "/"))
	}
	path, prefix := segments, ""
	if isHost(segments[0]) && !strings.Contains(segments[0], "**") {
		host := segments[0]
		if len(segments) == 1 {
			if name, tag, ok := strings.Cut(host, ":"); ok && !allDigits(tag) && !strings.Contains(name, ".") {
				return "a pattern names no tag", "write " + quote(name) + ": a rule covers every tag and digest of its repositories"
			}
			return "names a registry, not images", "write " + quote(host+"/**") + " for all its images"
		}
		for _, c := range host {
			if !isHostChar(c) {
				return quote(string(c)) + " is not allowed in a registry host", "write host or host:port, as in the image"
			}
		}
		path, prefix = segments[1:], host+"/"
	}
	for i, seg := range path {
		for _, c := range seg {
			switch {
			case isPathChar(c):
			case c == ':':
				if i == len(path)-1 {
					name, _, _ := strings.Cut(p[len(p)-len(seg):], ":")
					return "a pattern names no tag", "write " + quote(p[:len(p)-len(seg)]+name) +
						": a rule covers every tag and digest of its repositories"
				}
				return `":" is not allowed in a repository path`, "write the repository as in the image, without tag"
			case 'A' <= c && c <= 'Z':
				return "repository paths are lowercase", "write " + quote(prefix+strings.ToLower(strings.Join(path, "/")))
			default:
				return quote(string(c)) + " is not allowed in an image pattern",
					`use lowercase letters, digits, '.', '_', '-', '/' and the wildcards "*", "?", "**"`
			}
		}
	}
	return "", ""
}

func nonEmpty(ss []string) []string {
	var out []string
	for _, s := range ss {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

func allDigits(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return s != ""
}

func isWildcard(c rune) bool { return c == '*' || c == '?' }

func isHostChar(c rune) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		strings.ContainsRune(".-:[]", c) || isWildcard(c)
}

func isPathChar(c rune) bool {
	return 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || strings.ContainsRune("._-", c) || isWildcard(c)
}

// globMatch matches a whole name against a glob: "*" is any run of
// characters but '/', "?" one character but '/', "**" any run at all,
// anything else itself. It is the textbook dynamic programme over the
// name's characters, one row per pattern token: O(len(pattern) ×
// len(name)), never backtracking.
func globMatch(pattern, name string) bool {
	n := len(name)
	cur := make([]bool, n+1) // cur[j]: the pattern so far matches name[:j]
	next := make([]bool, n+1)
	cur[0] = true
	for i := 0; i < len(pattern); {
		clear(next)
		live := false
		switch {
		case strings.HasPrefix(pattern[i:], "**"), pattern[i] == '*':
			crossSlash := strings.HasPrefix(pattern[i:], "**")
			i += 1 + btoi(crossSlash)
			run := false
			for j := 0; j <= n; {
				run = run || cur[j]
				next[j] = run
				live = live || run
				if j == n {
					break
				}
				w := unitWidth(name[j:])
				if name[j] == '/' && !crossSlash {
					run = false
				}
				j += w
			}
		case pattern[i] == '?':
			i++
			for j := 0; j < n; {
				w := unitWidth(name[j:])
				if cur[j] && name[j] != '/' {
					next[j+w] = true
					live = true
				}
				j += w
			}
		default:
			lw := unitWidth(pattern[i:])
			lit := pattern[i : i+lw]
			i += lw
			for j := 0; j < n; {
				w := unitWidth(name[j:])
				if cur[j] && name[j:j+w] == lit {
					next[j+w] = true
					live = true
				}
				j += w
			}
		}
		if !live {
			return false
		}
		cur, next = next, cur
	}
	return cur[n]
}

// unitWidth is the width of the character at the start of s: a UTF-8
// sequence, or one byte that is not one.
func unitWidth(s string) int {
	_, w := utf8.DecodeRuneInString(s)
	return max(w, 1)
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
