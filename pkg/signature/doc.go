// Package signature finds and verifies the signatures of an image digest,
// offline: cosign signatures in the legacy "sha256-<hex>.sig" tag and as
// sigstore bundles among the digest's OCI referrers, and Notation
// signatures (JWS and COSE) among the referrers.
//
// No transparency log, Fulcio or TUF is consulted: a cosign signature
// counts when a configured public key verifies it (as `cosign verify --key
// K --insecure-ignore-tlog` would), a certificate-signed bundle when it
// verifies against a trusted root from its own log entry, timestamps and
// SCTs and its certificate names a configured identity (Options.Keyless,
// as `cosign verify --trusted-root R --certificate-identity …` would), a
// Notation signature when its chain ends in a configured certificate
// (revocation checks off: they are online). Keyless signatures in the
// legacy .sig tag (certificate, chain and Rekor bundle annotations) are
// verified as the sigstore bundle v0.1 they amount to, over the payload.
//
// Every fetch goes through pkg/registry (Artifacts), so limits, retries,
// credentials and request counts are the resolver's. An answer that was
// not definitive (401, 403, 429, 5xx, timeouts) gives StatusLookupFailed,
// never StatusUnsigned.
package signature
