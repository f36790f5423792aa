// Package provenance reads where an image came from and how it was built,
// from what its registry holds for one digest, cheapest first: the OCI
// annotations of its manifest or index, the labels of its image config
// (OCI and label-schema keys), and the SLSA provenance BuildKit attaches to
// a multi-arch index. It also parses tags as versions and finds newer
// releases in a repository's tag list (freshness).
//
// Manifest GETs count as pulls on Docker Hub, so every read is counted and
// bounded (MaxRequests per digest), and a failed read is an error, never a
// missing value.
package provenance
