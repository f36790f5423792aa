// Package sign makes our own signatures of image digests: it loads a
// cosign private key (a file, or the bytes of a Kubernetes Secret in
// cosign's format), builds cosign's simple-signing payload for a digest,
// signs it, and writes the legacy cosign signature (the sha256-<hex>.sig
// tag) to the registry. It never signs a tag, uploads nothing to a
// transparency log, and never prints key material or passwords.
package sign
