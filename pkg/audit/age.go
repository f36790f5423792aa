package audit

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ParseAge reads --max-age: a duration in days ("180d"), weeks ("26w") or Go's units.
func ParseAge(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	bad := fmt.Errorf("want a positive duration such as 180d, 26w or 720h")
	if s == "" {
		return 0, bad
	}
	var d time.Duration
	if unit := s[len(s)-1:]; unit == "d" || unit == "w" {
		n, err := strconv.Atoi(s[:len(s)-1])
		if err != nil {
			return 0, bad
		}
		d = time.Duration(n) * 24 * time.Hour
		if unit == "w" {
			d *= 7
		}
	} else {
		var err error
		if d, err = time.ParseDuration(s); err != nil {
			return 0, bad
		}
	}
	if d <= 0 {
		return 0, bad
	}
	return d, nil
}
