package provenance

import (
	"strconv"
	"strings"
)

// Version is a tag read as a release: [v]MAJOR[.MINOR[.PATCH]][-SUFFIX].
// Tags compare only within their family: the same "v" prefix, the same
// number of components and the same suffix, so 1.25-alpine is compared
// with 1.26-alpine and never with 1.25.3 or 1.26-bookworm.
type Version struct {
	Tag    string
	nums   []int
	family string
}

// maxMajor rules out dates and build numbers read as a major version
// (2024.01.15, 20240115): they are skipped, never guessed at.
const maxMajor = 999

// ParseVersion reads tag as a version; ok is false for latest, dates,
// hashes and anything else that is not one.
func ParseVersion(tag string) (Version, bool) {
	rest, prefix := tag, ""
	if len(rest) > 0 && (rest[0] == 'v' || rest[0] == 'V') {
		rest, prefix = rest[1:], rest[:1]
	}
	core, suffix := rest, ""
	if i := strings.IndexAny(rest, "-+_"); i >= 0 {
		core, suffix = rest[:i], rest[i:]
		if len(suffix) == 1 {
			return Version{}, false
		}
	}
	parts := strings.Split(core, ".")
	if len(parts) > 3 {
		return Version{}, false
	}
	v := Version{Tag: tag}
	for _, p := range parts {
		if p == "" || len(p) > 9 || strings.Trim(p, "0123456789") != "" {
			return Version{}, false
		}
		n, _ := strconv.Atoi(p)
		v.nums = append(v.nums, n)
	}
	if v.nums[0] > maxMajor {
		return Version{}, false
	}
	v.family = prefix + "|" + strconv.Itoa(len(parts)) + "|" + suffix
	return v, true
}

// compare orders versions of one family by their numbers.
func (v Version) compare(o Version) int {
	for i := range v.nums {
		if v.nums[i] != o.nums[i] {
			if v.nums[i] < o.nums[i] {
				return -1
			}
			return 1
		}
	}
	return 0
}

// Updates are the newer releases of the running tag in its repository.
// Its JSON is part of the AuditReport contract.
type Updates struct {
	// The newest tag of a higher patch (same major.minor), a higher minor
	// (same major) and a higher major; empty when there is none.
	NewestPatch string `json:"newestPatch,omitempty"`
	NewestMinor string `json:"newestMinor,omitempty"`
	NewestMajor string `json:"newestMajor,omitempty"`
	// CheckedTags is how many tags of the repository were listed.
	CheckedTags int    `json:"checkedTags"`
	Note        string `json:"note,omitempty"`
	// Error says why the tags could not be listed.
	Error string `json:"error,omitempty"`
}

// Newer finds the newest patch, minor and major above running among tags.
// A running tag that is not a version gets a note and nothing else.
func Newer(running string, tags []string) Updates {
	u := Updates{CheckedTags: len(tags)}
	r, ok := ParseVersion(running)
	if !ok {
		u.Note = "tag " + running + " is not a version: newer releases are not looked for"
		return u
	}
	var patch, minor, major *Version
	better := func(best **Version, v Version) {
		if *best == nil || v.compare(**best) > 0 {
			*best = &v
		}
	}
	for _, tag := range tags {
		v, ok := ParseVersion(tag)
		if !ok || v.family != r.family || v.compare(r) <= 0 {
			continue
		}
		switch {
		case v.nums[0] > r.nums[0]:
			better(&major, v)
		case len(v.nums) > 1 && v.nums[1] > r.nums[1]:
			better(&minor, v)
		case len(v.nums) > 2:
			better(&patch, v)
		}
	}
	for _, f := range []struct {
		dst *string
		v   *Version
	}{{&u.NewestPatch, patch}, {&u.NewestMinor, minor}, {&u.NewestMajor, major}} {
		if f.v != nil {
			*f.dst = f.v.Tag
		}
	}
	return u
}
