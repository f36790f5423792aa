package audit

import (
	"fmt"
	"strings"

	dockerref "github.com/distribution/reference"
	"github.com/google/go-containerregistry/pkg/name"

	"github.com/imgtrust/kubectl-imgtrust/pkg/imageref"
)

// AllowedRegistry is one --allowed-registries entry: a registry host, or a
// registry plus a repository path prefix ("ghcr.io/my-team").
type AllowedRegistry struct {
	Written    string
	Registry   string // normalised: "docker.io" becomes "index.docker.io"
	PathPrefix string // exactly the path written; "" for the whole registry
}

// ParseAllowedRegistries reads --allowed-registries. An entry without "/"
// (trailing "/" aside) is a registry host; "docker.io" and
// "index.docker.io" both mean Docker Hub. With a path, the registry is
// found as the kubelet finds it in an image ("acme/web" is a Docker Hub
// path), and the path is taken exactly as written: Docker Hub's implicit
// "library/" is never added, so "docker.io/acme" covers "acme/web" but not
// "acme" (which is "library/acme"), and "docker.io/library" covers "nginx".
func ParseAllowedRegistries(entries []string) ([]AllowedRegistry, error) {
	var out []AllowedRegistry
	for _, e := range entries {
		e = strings.TrimSpace(e)
		if e == "" {
			continue
		}
		a, err := parseAllowed(strings.TrimSuffix(e, "/"))
		if err != nil {
			return nil, fmt.Errorf("--allowed-registries entry %q %w", e, err)
		}
		a.Written = e
		out = append(out, a)
	}
	return out, nil
}

func parseAllowed(e string) (AllowedRegistry, error) {
	if !strings.Contains(e, "/") {
		reg, err := name.NewRegistry(e, name.StrictValidation)
		if err == nil && !imageref.IsHost(e) {
			err = fmt.Errorf("want host or host:port")
		}
		if err != nil {
			return AllowedRegistry{}, fmt.Errorf("is not a registry host: %w", err)
		}
		return AllowedRegistry{Registry: reg.RegistryStr()}, nil
	}
	named, err := dockerref.ParseNormalizedNamed(e)
	if err == nil && !dockerref.IsNameOnly(named) {
		err = fmt.Errorf("want no tag or digest")
	}
	if err != nil {
		return AllowedRegistry{}, fmt.Errorf("is not a registry or registry/path: %w", err)
	}
	domain, path := dockerref.Domain(named), dockerref.Path(named)
	if domain == "docker.io" {
		// Path may have gained "library/"; the path written is the entry
		// minus whichever Docker Hub host it names, if any.
		path = e
		for _, hub := range []string{"docker.io/", name.DefaultRegistry + "/"} {
			if p, ok := strings.CutPrefix(e, hub); ok {
				path = p
				break
			}
		}
		domain = name.DefaultRegistry
	}
	return AllowedRegistry{Registry: domain, PathPrefix: path}, nil
}

// allows reports whether ref lives under the entry. Hosts compare without
// case, as DNS names do; a path prefix matches only at a "/" boundary
// ("team" covers "team/app", not "teamwork/app").
func (a AllowedRegistry) allows(ref imageref.Reference) bool {
	if !strings.EqualFold(ref.Registry, a.Registry) {
		return false
	}
	return a.PathPrefix == "" || ref.Repository == a.PathPrefix || strings.HasPrefix(ref.Repository, a.PathPrefix+"/")
}
