// Package sign makes our own signatures of image digests: it loads a
// cosign private key (a file, or the bytes of a Kubernetes Secret in
// cosign's format), builds cosign's simple-signing payload for a digest,
// signs it, and writes it as cosign does: a sigstore bundle v0.3 attached
// as a referrer (cosign v3's default), or the legacy sha256-<hex>.sig tag. It never signs a tag, uploads nothing to a
// transparency log, and never prints key material or passwords.
package sign
