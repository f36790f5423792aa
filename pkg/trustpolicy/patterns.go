package trustpolicy

// Patterns are the rule's image patterns written as Normalize writes
// names ("nginx" is "docker.io/library/nginx"), for rendering the rule
// into another engine's matching language.
func (r Rule) Patterns() []string {
	out := make([]string, len(r.Images))
	for i, img := range r.Images {
		out[i] = normalizePattern(img)
	}
	return out
}

// Overlap reports whether two normalised patterns obviously cover common
// images: one matches the other read as a name ("**" and
// "registry.example/team/**"). Patterns that only cross ("a/*/c" and
// "a/b/*") are not found; it is a warning's heuristic, not a proof.
func Overlap(a, b string) bool {
	return a == b || globMatch(a, b) || globMatch(b, a)
}
