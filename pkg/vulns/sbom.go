package vulns

import (
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// SBOM predicate types: `cosign attest --type spdxjson` and `--type
// cyclonedx` write these.
const (
	PredicateSPDX      = "https://spdx.dev/Document"
	PredicateCycloneDX = "https://cyclonedx.org/bom"
)

var sbomReports = schema.GroupVersionResource{Group: "aquasecurity.github.io", Version: "v1alpha1", Resource: "sbomreports"}

// IsSBOM reports whether an attestation is an SPDX or CycloneDX SBOM.
func IsSBOM(predicateType string) bool {
	return predicateType == PredicateSPDX || predicateType == PredicateCycloneDX
}

// SBOM says where a bill of materials of the running digest is. Its JSON
// is part of the AuditReport contract.
type SBOM struct {
	// Format is cyclonedx (the Trivy Operator's SbomReports, CycloneDX
	// attestations) or spdx.
	Format string `json:"format"`
	// Source names it: "SbomReport NS/NAME" or "cosign sbom attestation DIGEST".
	Source string `json:"source"`
	// Verified and SignedBy, for an attestation.
	Verified *bool  `json:"verified,omitempty"`
	SignedBy string `json:"signedBy,omitempty"`
}

// SBOMFromAttestation describes an SBOM attestation of the running digest;
// nil when predicateType is no SBOM or the attestation does not hold (its
// statement names another digest, its envelope is bad).
func SBOMFromAttestation(predicateType string, a Attested) *SBOM {
	if !IsSBOM(predicateType) || a.Problem != "" {
		return nil
	}
	format := "spdx"
	if predicateType == PredicateCycloneDX {
		format = "cyclonedx"
	}
	verified := a.Verified
	return &SBOM{Format: format, Source: "cosign sbom attestation " + a.Digest, Verified: &verified, SignedBy: a.SignedBy}
}

// SBOM is the newest SbomReport of a digest the usage runs (or of the
// index listing it, or of its config digest) filed under its workload and
// container, as Lookup joins reports; nil when there is none.
func (ix *Index) SBOM(u Usage, platforms Platforms) *SBOM {
	var best *Report
	for i := range ix.SBOMs {
		r := &ix.SBOMs[i]
		if matchOf(r.Digest, u, platforms) != "" && ix.filedUnder(*r, u) && (best == nil || r.ScannedAt.After(best.ScannedAt)) {
			best = r
		}
	}
	if best == nil {
		return nil
	}
	// The Trivy Operator writes its SBOMs as CycloneDX.
	return &SBOM{Format: "cyclonedx", Source: best.Ref()}
}
