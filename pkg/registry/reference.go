package registry

// Reading image references with the kubelet's grammar into
// go-containerregistry names.

import (
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/imgtrust/kubectl-imgtrust/pkg/imageref"
)

// parse reads a reference with the kubelet's grammar (imageref, after
// distribution/reference: Docker Hub and "latest" implied, an uppercase
// host alias such as "REGISTRY/app" allowed) and builds the
// go-containerregistry name from its parts, whose own parser disagrees on
// such edge cases. Registries listed in Options.Insecure are marked.
func (r *Resolver) parse(image string) (name.Reference, error) {
	ref, err := imageref.Parse(image)
	if err != nil {
		return nil, err
	}
	repo, err := Repository(ref.Registry, ref.Repository, r.insecure.has(ref.Registry, "https"))
	if err != nil {
		return nil, fmt.Errorf("image reference %q: %w", image, err)
	}
	if ref.Digest != "" {
		return repo.Digest(ref.Digest), nil
	}
	return repo.Tag(ref.TagOrLatest()), nil
}

// Repository builds go-containerregistry's name for a registry host and a
// repository path already parsed with the kubelet's grammar (imageref),
// without re-parsing them: its parser refuses hosts such as "REGISTRY".
func Repository(host, path string, insecure bool) (name.Repository, error) {
	var opts []name.Option
	if insecure {
		opts = append(opts, name.Insecure)
	}
	reg, err := name.NewRegistry(host, opts...)
	if err != nil {
		return name.Repository{}, err
	}
	if path == "" {
		return name.Repository{}, fmt.Errorf("empty repository")
	}
	return reg.Repo(path), nil
}
