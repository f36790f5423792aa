package audit

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/imgtrust/kubectl-imgtrust/pkg/imageref"
)

// hostPattern is a registry host with an optional port; go-containerregistry
// accepts nearly any string as a registry name.
var hostPattern = regexp.MustCompile(`^[a-zA-Z0-9]([a-zA-Z0-9.-]*[a-zA-Z0-9])?(:[0-9]+)?$`)

// AllowedRegistry is one --allowed-registries entry: a registry host, or a
// registry plus a repository path prefix ("ghcr.io/my-team").
type AllowedRegistry struct {
	Written    string
	Registry   string // normalised: "docker.io" becomes "index.docker.io"
	PathPrefix string // "" for the whole registry
}

// ParseAllowedRegistries normalises the entries with go-containerregistry,
// so "docker.io" and "index.docker.io" mean the same registry. An entry
// without "/" is a registry; with one, a registry and a path prefix.
func ParseAllowedRegistries(entries []string) ([]AllowedRegistry, error) {
	var out []AllowedRegistry
	for _, e := range entries {
		e = strings.TrimSpace(e)
		if e == "" {
			continue
		}
		if !strings.Contains(e, "/") {
			reg, err := name.NewRegistry(e, name.StrictValidation)
			if err == nil && !hostPattern.MatchString(e) {
				err = fmt.Errorf("want host or host:port")
			}
			if err != nil {
				return nil, fmt.Errorf("--allowed-registries entry %q is not a registry host: %w", e, err)
			}
			out = append(out, AllowedRegistry{Written: e, Registry: reg.RegistryStr()})
			continue
		}
		repo, err := name.NewRepository(strings.TrimSuffix(e, "/"))
		if err != nil {
			return nil, fmt.Errorf("--allowed-registries entry %q is not a registry or registry/path: %w", e, err)
		}
		out = append(out, AllowedRegistry{Written: e, Registry: repo.RegistryStr(), PathPrefix: repo.RepositoryStr()})
	}
	return out, nil
}

// allows reports whether ref lives under the entry; a path prefix matches
// only at a "/" boundary ("team" covers "team/app", not "teamwork/app").
func (a AllowedRegistry) allows(ref imageref.Reference) bool {
	if ref.Registry != a.Registry {
		return false
	}
	return a.PathPrefix == "" || ref.Repository == a.PathPrefix || strings.HasPrefix(ref.Repository, a.PathPrefix+"/")
}
