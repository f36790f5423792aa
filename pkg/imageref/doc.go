// Package imageref parses container image references exactly as the
// kubelet does: with distribution/reference's ParseNormalizedNamed (the
// kubelet's pkg/util/parsers.ParseImageName), which decides what is valid
// and where the registry ends. No registry means Docker Hub, no tag means
// "latest". Registry names are then spelled as go-containerregistry spells
// them, so that Docker Hub is "index.docker.io" everywhere in imgtrust.
//
// # Rules worth knowing (all from distribution/reference v0.6.0)
//
//   - The first path component is the registry when it is "localhost",
//     contains "." or ":", or contains an uppercase letter ("REGISTRY/app",
//     "MyHost:5000/app"); otherwise the whole name is a Docker Hub path.
//     Repository paths must be lowercase.
//   - "docker.io" and "index.docker.io" are Docker Hub; a one-component
//     Docker Hub path gets "library/" ("nginx" is "library/nginx").
//     "registry-1.docker.io" is an ordinary registry name.
//   - A single component is never a registry: "localhost:5000" and
//     "192.168.1.1:5000" are Docker Hub repositories with a tag.
//   - A 64-hex-digit name is refused (it would be an image ID).
//
// # Deliberate differences from distribution/reference
//
//   - Registry is "index.docker.io" where distribution says "docker.io"
//     (go-containerregistry's spelling, used by the registry client).
//   - Leading or trailing whitespace gets its own error message; the
//     kubelet rejects such references too.
//   - ParseImageID also accepts runtime prefixes ("docker-pullable://") and
//     bare "sha256:…" config digests, which are not references at all.
//   - Bare digests and 64-hex identifiers (distribution's
//     ParseAnyReference) are not image references and are refused by Parse.
//
// go-containerregistry's name package disagrees with the kubelet on one
// point: it takes an uppercase first component without "." or ":" for a
// repository path and rejects it ("REGISTRY/app"), where the kubelet pulls
// from host "REGISTRY". Parse gives the kubelet's answer; code that hands
// such a reference to go-containerregistry will get an error.
package imageref
