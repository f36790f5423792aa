package imageref

import (
	"regexp"

	dockerref "github.com/distribution/reference"
)

// hostPattern is the Docker grammar's host[:port] (distribution/reference's
// DomainRegexp, anchored); go-containerregistry accepts nearly any string
// as a registry name.
var hostPattern = regexp.MustCompile(`^(?:` + dockerref.DomainRegexp.String() + `)$`)

// IsHost reports whether s is a registry host[:port] in the Docker grammar.
// It does not say the kubelet would read s as a host in an image name:
// that also takes a "." or ":" in it, or "localhost".
func IsHost(s string) bool { return hostPattern.MatchString(s) }
