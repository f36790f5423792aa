package provenance

import (
	"strconv"
	"strings"
	"testing"
)

// FuzzParseVersion checks ParseVersion and Newer on tags a registry lists.
// A version keeps its tag, has 1 to 3 components and a major up to
// maxMajor; re-formatted from its parts (prefix, numbers without leading
// zeros, suffix) it parses to the same version of the same family; a bump
// of its patch, minor or major is newer and is what Newer reports in that
// slot. Newer over a list reports only tags of the running tag's family
// that are newer, each the greatest of its slot. tags is newline-separated.
func FuzzParseVersion(f *testing.F) {
	for _, s := range [][2]string{
		{"1.25.3", "1.25.4\n1.26.0\n2.0.0\nlatest\n1.25.3-alpine"},
		{"v1.2", "v1.3\nv2.0\n1.3\nv1.10\nv1.2.1"},
		{"1.25-alpine", "1.26-alpine\n1.26-bookworm\n1.25.3\n2-alpine"},
		{"3", "4\n10\n3.1\nv5"},
		{"V0.0.1+build.5", "V0.0.2+build.5\nV0.1.0+build.5"},
		{"007.08.009", "7.8.10\n07.9.0"},
		{"1.0.0_rc1", "1.0.1_rc1\n1.0.0_rc2"},
		{"latest", "1.0"},
		{"20240115", "20240116"},
		{"2024.01.15", "2024.01.16"},
		{"999.1", "1000.0\n999.2"},
		{"1.999999999.1", "1.999999999.2"},
		{"sha256-abc", ""},
		{"1.2.3.4", "1.2.3.5"},
		{"v", "v1"},
		{"1.-", "1.2-"},
		{"1..2", ""},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, running, list string) {
		tags := strings.Split(list, "\n")
		u := Newer(running, tags)
		if u.CheckedTags != len(tags) {
			t.Fatalf("CheckedTags = %d, want %d", u.CheckedTags, len(tags))
		}
		r, ok := ParseVersion(running)
		if !ok {
			if u.NewestPatch+u.NewestMinor+u.NewestMajor != "" || u.Note == "" {
				t.Fatalf("Newer(%q) = %+v for a tag that is not a version", running, u)
			}
			return
		}
		checkVersion(t, running, r)
		checkNewer(t, r, tags, u)

		// A bump of each component is newer and lands in its slot.
		for i, slot := range []string{"major", "minor", "patch"} {
			if i >= len(r.nums) || r.nums[i] == 999999999 || (i == 0 && r.nums[0] == maxMajor) {
				continue
			}
			nums := append([]int(nil), r.nums...)
			nums[i]++
			bumped := format(r, nums)
			b, ok := ParseVersion(bumped)
			if !ok || b.family != r.family || b.compare(r) <= 0 {
				t.Fatalf("%q bumped at its %s is %q: parsed %v, family %q vs %q, not newer", running, slot, bumped, ok, b.family, r.family)
			}
			got := Newer(running, []string{bumped})
			want := Updates{CheckedTags: 1}
			switch i {
			case 0:
				want.NewestMajor = bumped
			case 1:
				want.NewestMinor = bumped
			case 2:
				want.NewestPatch = bumped
			}
			if got != want {
				t.Fatalf("Newer(%q, [%q]) = %+v, want %+v", running, bumped, got, want)
			}
		}
	})
}

// family splits a version's family into its "v" prefix and suffix.
func familyParts(v Version) (prefix, suffix string) {
	parts := strings.SplitN(v.family, "|", 3)
	return parts[0], parts[2]
}

// format writes nums in v's family: prefix, numbers, suffix.
func format(v Version, nums []int) string {
	prefix, suffix := familyParts(v)
	s := make([]string, len(nums))
	for i, n := range nums {
		s[i] = strconv.Itoa(n)
	}
	return prefix + strings.Join(s, ".") + suffix
}

func checkVersion(t *testing.T, tag string, v Version) {
	t.Helper()
	if v.Tag != tag || len(v.nums) < 1 || len(v.nums) > 3 || v.nums[0] > maxMajor {
		t.Fatalf("ParseVersion(%q) = %+v", tag, v)
	}
	for _, n := range v.nums {
		if n < 0 {
			t.Fatalf("ParseVersion(%q) = %+v: negative component", tag, v)
		}
	}
	prefix, suffix := familyParts(v)
	if (prefix != "" && prefix != "v" && prefix != "V") || !strings.HasPrefix(tag, prefix) || !strings.HasSuffix(tag, suffix) ||
		v.family != prefix+"|"+strconv.Itoa(len(v.nums))+"|"+suffix {
		t.Fatalf("ParseVersion(%q): family %q does not come from the tag", tag, v.family)
	}
	again := format(v, v.nums)
	w, ok := ParseVersion(again)
	if !ok || w.family != v.family || w.compare(v) != 0 || v.compare(w) != 0 {
		t.Fatalf("ParseVersion(%q) = %+v re-formats as %q, which parses to %+v (%v)", tag, v, again, w, ok)
	}
}

// checkNewer: every slot Newer fills holds a tag of the list, of the
// running family, newer, in the right slot, and the greatest there.
func checkNewer(t *testing.T, r Version, tags []string, u Updates) {
	t.Helper()
	slotOf := func(v Version) int {
		switch {
		case v.nums[0] > r.nums[0]:
			return 0
		case len(v.nums) > 1 && v.nums[1] > r.nums[1]:
			return 1
		case len(v.nums) > 2:
			return 2
		}
		return -1
	}
	var best [3]*Version
	for _, tag := range tags {
		v, ok := ParseVersion(tag)
		if !ok || v.family != r.family || v.compare(r) <= 0 {
			continue
		}
		if s := slotOf(v); s >= 0 && (best[s] == nil || v.compare(*best[s]) > 0) {
			best[s] = &v
		}
	}
	for i, got := range []string{u.NewestMajor, u.NewestMinor, u.NewestPatch} {
		if got == "" {
			if best[i] != nil {
				t.Fatalf("Newer(%q) = %+v: slot %d empty, but %q is newer", r.Tag, u, i, best[i].Tag)
			}
			continue
		}
		v, ok := ParseVersion(got)
		if !ok || v.family != r.family || v.compare(r) <= 0 || slotOf(v) != i || best[i] == nil || v.compare(*best[i]) != 0 {
			t.Fatalf("Newer(%q) = %+v: slot %d holds %q, not the newest of its slot", r.Tag, u, i, got)
		}
		found := false
		for _, tag := range tags {
			found = found || tag == got
		}
		if !found {
			t.Fatalf("Newer(%q) = %+v: %q is not among the tags", r.Tag, u, got)
		}
	}
}
