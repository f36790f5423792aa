package audit

import (
	"testing"
	"time"
)

func TestParseAge(t *testing.T) {
	day := 24 * time.Hour
	for in, want := range map[string]time.Duration{"180d": 180 * day, "26w": 26 * 7 * day, "720h": 720 * time.Hour, " 1d ": day} {
		if got, err := ParseAge(in); err != nil || got != want {
			t.Errorf("ParseAge(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "d", "0d", "-5d", "soon", "1y", "1.5d"} {
		if _, err := ParseAge(in); err == nil {
			t.Errorf("ParseAge(%q): want an error", in)
		}
	}
}
