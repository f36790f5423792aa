package provenance

import (
	"fmt"
	"testing"
)

func TestParseVersion(t *testing.T) {
	for tag, family := range map[string]string{
		"1.2.3": "|3|", "v1.2.3": "v|3|", "1.25-alpine": "|2|-alpine", "16": "|1|", "1.2.3-rc.1": "|3|-rc.1",
		"1.27.3-alpine3.20": "|3|-alpine3.20", "22.04": "|2|", "0.1.0+build.5": "|3|+build.5", "3.12_slim": "|2|_slim",
	} {
		v, ok := ParseVersion(tag)
		if !ok || v.family != family {
			t.Errorf("ParseVersion(%q) = %+v, %v; want family %q", tag, v, ok, family)
		}
	}
	for _, tag := range []string{"latest", "", "v", "main", "20240115", "2024.01.15", "sha-4f2a9c1", "1.2.3.4", "1..2", "1.2-", "abc123", "1.2a", "stable-1.2"} {
		if v, ok := ParseVersion(tag); ok {
			t.Errorf("ParseVersion(%q) = %+v: want not a version", tag, v)
		}
	}
}

func TestNewer(t *testing.T) {
	tags := []string{"1.2.3", "1.2.4", "1.2.10", "1.3.0", "1.3.1", "2.0.0", "1.2.3-alpine", "1.2.5-alpine", "latest",
		"v1.9.9", "1.25-alpine", "1.26-alpine", "2.0-alpine", "1.26", "3.0.0-rc.1", "20250101"}
	for _, c := range []struct{ running, want string }{
		{"1.2.3", "patch=1.2.10 minor=1.3.1 major=2.0.0"}, // numeric, not lexical: 1.2.10 > 1.2.4
		{"1.3.1", "patch= minor= major=2.0.0"},
		{"2.0.0", "patch= minor= major="},
		{"1.2.3-alpine", "patch=1.2.5-alpine minor= major="},         // its suffix family only
		{"1.25-alpine", "patch= minor=1.26-alpine major=2.0-alpine"}, // two components: no patch
		{"v1.2.3", "patch= minor=v1.9.9 major="},                     // the v family
		{"1.0.0", "patch= minor=1.3.1 major=2.0.0"},
	} {
		u := Newer(c.running, tags)
		got := fmt.Sprintf("patch=%s minor=%s major=%s", u.NewestPatch, u.NewestMinor, u.NewestMajor)
		if got != c.want || u.CheckedTags != len(tags) || u.Note != "" {
			t.Errorf("Newer(%q) = %s (%+v); want %s", c.running, got, u, c.want)
		}
	}
	if u := Newer("latest", tags); u.Note == "" || u.NewestMajor != "" {
		t.Errorf("latest: %+v, want a note and nothing guessed", u)
	}
}
