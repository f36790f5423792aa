package signature

// Status is what the signatures of a digest amount to.
type Status string

const (
	// StatusVerified: a configured key, certificate or keyless identity
	// verified a signature of exactly this digest.
	StatusVerified Status = "verified"
	// StatusUnverified: signatures exist, and no key or certificate was
	// given to check them (presence only).
	StatusUnverified Status = "unverified"
	// StatusUnsigned: every lookup answered, and none found a signature.
	StatusUnsigned Status = "unsigned"
	// StatusInvalid: a signature claims a configured key or certificate
	// but does not verify, or is for another digest, or (keys or
	// certificates given) cannot be a signature at all: not decodable, no
	// signature encoding of any supported algorithm, no payload naming a
	// digest.
	StatusInvalid Status = "invalid"
	// StatusOtherKey: signatures exist, none by a configured key or cert.
	StatusOtherKey Status = "other-key"
	// StatusLookupFailed: the registry could not say (401, 403, 429, 5xx,
	// timeouts): nothing is proven either way.
	StatusLookupFailed Status = "lookup-failed"
)

// Formats of signature artifacts.
const (
	FormatCosignSig    = "cosign-sig"
	FormatCosignBundle = "cosign-bundle"
	FormatNotation     = "notation"
)

// ViaSigTag is the legacy cosign tag "sha256-<hex>.sig"; the referrers
// ways are registry.ViaReferrersAPI and registry.ViaReferrersTag.
const ViaSigTag = "sig-tag"

// Result is the signature check of one digest. Its JSON is part of the
// AuditReport contract.
type Result struct {
	Status Status `json:"status"`
	// Digest is the digest checked; DigestFrom says where it came from
	// (set by the caller: "running", "spec" or "registry").
	Digest     string `json:"digest,omitempty"`
	DigestFrom string `json:"digestFrom,omitempty"`
	// Rule is the trust-policy rule whose authorities were asked
	// (--trust-policy), as "rules[N] (PATTERN)".
	Rule string `json:"rule,omitempty"`
	// VerifiedBy lists the configured keys and certificates that verified
	// a signature.
	VerifiedBy []Signer   `json:"verifiedBy,omitempty"`
	Artifacts  []Artifact `json:"artifacts,omitempty"`
	// Error says why the lookup failed, or what was invalid.
	Error string `json:"error,omitempty"`
	// Attestations are the cosign attestations asked for (audit
	// --provenance: SLSA provenance); AttestationsError says why looking
	// for them failed (it does not change Status).
	Attestations      []Attestation `json:"attestations,omitempty"`
	AttestationsError string        `json:"attestationsError,omitempty"`
	// Required is the verdict on each attestation the trust-policy rule
	// requires (require: ["attestation:TYPE"]), in the rule's order.
	Required []Required `json:"requiredAttestations,omitempty"`
	// ReadsSkipped counts the reads of the digest's artifacts not sent
	// because its budget of reads (--max-artifact-requests) was spent;
	// Error or AttestationsError then says what was cut.
	ReadsSkipped int `json:"readsSkipped,omitempty"`
	// Complete: every lookup answered and no cap cut one short, so the
	// result may be kept between runs (a verified one may hide a failed
	// lookup whose attestations are missing).
	Complete bool `json:"-"`
}

// RequiredStatus is what was found of one required attestation.
type RequiredStatus string

const (
	// RequiredVerified: an authority of the rule verified an attestation
	// of the type whose statement names the digest.
	RequiredVerified RequiredStatus = "verified"
	// RequiredUnverified: attestations of the type are attached, and none
	// verifies with the rule's authorities.
	RequiredUnverified RequiredStatus = "unverified"
	// RequiredMissing: every lookup answered, and none found one.
	RequiredMissing RequiredStatus = "missing"
	// RequiredLookupFailed: the registry could not say; nothing is proven.
	RequiredLookupFailed RequiredStatus = "lookup-failed"
)

// Required is the verdict on one attestation a rule requires.
type Required struct {
	PredicateType string         `json:"predicateType"`
	Status        RequiredStatus `json:"status"`
	// SignedBy is who signed the attestation found (verified or not).
	SignedBy string `json:"signedBy,omitempty"`
	// Problem says why the one found does not verify, or why the lookup
	// failed.
	Problem string `json:"problem,omitempty"`
}

// Signer is who vouched: a key (kind "key", its fingerprint and file), a
// certificate (kind "x509", its subject and file), or a keyless identity
// (kind "keyless", the certificate's SAN as Subject and its OIDC issuer).
type Signer struct {
	Kind    string `json:"kind"`
	KeyID   string `json:"keyID,omitempty"`
	File    string `json:"file,omitempty"`
	Subject string `json:"subject,omitempty"`
	Issuer  string `json:"issuer,omitempty"`
}

// Artifact is one signature found for the digest.
type Artifact struct {
	// Digest of the signature's manifest.
	Digest string `json:"digest"`
	Format string `json:"format"`
	Via    string `json:"via"`
	// SignedBy is who the signature says signed it (a key fingerprint
	// hint, a certificate subject); unverified unless Verified.
	SignedBy string `json:"signedBy,omitempty"`
	Verified bool   `json:"verified,omitempty"`
	// Problem says why it did not verify, when it claimed to, or why no
	// key can have made it.
	Problem string `json:"problem,omitempty"`
}
