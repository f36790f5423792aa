package audit

import (
	"fmt"
	"strings"
)

// Check is the part of the audit that reports a finding, which is also
// what turns it on.
type Check string

const (
	CheckSpec       Check = "spec"       // always: the image as written and what pods run
	CheckRegistry   Check = "registry"   // unless --offline: one HEAD per reference
	CheckSignatures Check = "signatures" // --signatures, --verify-key, --trust-cert
	CheckProvenance Check = "provenance" // --provenance, --max-age
	CheckUpdates    Check = "updates"    // --updates
	// CheckVulnerabilities reads what scanners wrote (--vulnerabilities).
	CheckVulnerabilities Check = "vulnerabilities"
)

// Checks in the order help and docs present them.
var Checks = []Check{CheckSpec, CheckRegistry, CheckSignatures, CheckProvenance, CheckUpdates, CheckVulnerabilities}

// Spec is everything said about one finding ID. The catalogue is the one
// place a finding is described: severities, --help, SARIF rules,
// OpenReports categories and docs/findings.md all come from it. Adding a
// finding touches this table and its rule, nothing else.
type Spec struct {
	ID       string
	Severity Severity
	// Category groups findings for dashboards (OpenReports' category):
	// pinning, registry, signature, provenance, freshness or
	// vulnerabilities.
	Category string
	Check    Check
	// When is the short line of --help and the docs: when it is reported.
	When string
	// Description is one sentence of what it means (SARIF's rule text).
	Description string
	// Fix is how it is fixed in general; each finding's own Fix says it
	// for its image and object.
	Fix string
	// LookupFailure says the registry could not answer: a check not
	// made, never a fact about the image.
	LookupFailure bool
}

const pinFix = "Pin the image to a digest: kubectl imgtrust pin TYPE/NAME (live), or kubectl imgtrust pin -f FILE --write (manifests)."
const retryFix = "Run again when the registry answers; the finding names its answer."

// budgetCatalogFix is the other cause of a lookup failure of the
// artifacts: the image's reads were spent, not a registry fault.
const budgetCatalogFix = "When the reason is request-budget (the image's reads were spent), raise --max-artifact-requests or clean up the image's referrers."

// Catalogue lists every finding, in the order help and docs show them.
var Catalogue = []Spec{
	{IDImplicitLatest, SeverityHigh, "pinning", CheckSpec, "no tag and no digest",
		"The image has no tag and no digest: the runtime pulls whatever latest is.", pinFix, false},
	{IDLatestTag, SeverityHigh, "pinning", CheckSpec, `tag "latest" without a digest`,
		"The image uses the tag latest without a digest.", pinFix, false},
	{IDMutableTag, SeverityMedium, "pinning", CheckSpec, "any other tag without a digest",
		"The image uses a tag without a digest; tags can be moved.", pinFix, false},
	{IDImplicitRegistry, SeverityLow, "pinning", CheckSpec, "no registry written (Docker Hub assumed)",
		"No registry host is written: Docker Hub is assumed.", "Write the registry host explicitly, e.g. docker.io/library/nginx:1.27 instead of nginx:1.27.", false},
	{IDPullPolicyStaleRisk, SeverityMedium, "pinning", CheckSpec, "a tag with imagePullPolicy IfNotPresent (written or defaulted)",
		"A tag with imagePullPolicy IfNotPresent: nodes may run different images.", "Pin the image to a digest (kubectl imgtrust pin), or set imagePullPolicy: Always.", false},
	{IDMixedRunningDigests, SeverityHigh, "pinning", CheckSpec, "pods of one workload run different images",
		"Pods of one workload run different images for one container.", "Pin to what the tag points at now and roll out, so every pod runs one image: kubectl imgtrust pin TYPE/NAME --source=registry --apply.", false},
	{IDRunningDiffersFromSpec, SeverityHigh, "pinning", CheckSpec, "the spec names a digest, a pod runs another",
		"The spec names a digest, and a pod runs another.", "Replace the stale pods: kubectl rollout restart TYPE/NAME.", false},
	{IDDisallowedRegistry, SeverityHigh, "registry", CheckSpec, "not under --allowed-registries",
		"The image is not from an allowed registry.", "Mirror the image into an allowed registry (kubectl imgtrust pin --mirror-to PREFIX) and reference it there.", false},
	{IDInvalidReference, SeverityHigh, "pinning", CheckSpec, "the image string does not parse",
		"The image reference does not parse (the kubelet says InvalidImageName).", "Correct the image field to registry/repository:tag@sha256:digest; render templates and build-time placeholders (ko://) first.", false},
	{IDTagMoved, SeverityHigh, "pinning", CheckRegistry, "the tag now points at an image no pod runs",
		"The tag now points at an image no pod of the workload runs.", "Pin what the pods run today before anything restarts: kubectl imgtrust pin TYPE/NAME --source=running.", false},
	{IDUnresolvable, SeverityMedium, "registry", CheckRegistry, "the registry could not answer",
		"The registry could not answer for the image.", "Check that the registry is reachable from here and the image exists; the finding names the registry's answer.", true},
	{IDNoCredentials, SeverityHigh, "registry", CheckRegistry, "the registry refused every credential the pod has",
		"The registry refused every credential the pod can use.", "Give the pods a pull secret for the registry (imagePullSecrets on the pod or its service account); kubectl imgtrust secrets shows what covers what.", false},
	{IDUnsigned, SeverityMedium, "signature", CheckSignatures, "no cosign or Notation signature (high with --require-signature)",
		"No cosign or Notation signature of the running digest was found.", "If you trust it, sign the digest that runs (kubectl imgtrust sign TYPE/NAME --key cosign.key, or notation sign), or run a signed image.", false},
	{IDSignatureUnverified, SeverityLow, "signature", CheckSignatures, "signed, but no key or certificate was given",
		"The image is signed, but no key or certificate was given to check it.", "Name the key or certificate that must have signed it: --verify-key or --trust-cert.", false},
	{IDSignedByUnknownKey, SeverityHigh, "signature", CheckSignatures, "signed, by none of the given keys or certificates",
		"The image is signed, by none of the given keys or certificates.", "Verify with the key or certificate that really signs the image, or sign it with yours.", false},
	{IDSignatureInvalid, SeverityHigh, "signature", CheckSignatures, "a signature claims a given key but does not verify, or cannot be a signature at all",
		"A signature claims a given key or chain but does not verify, or cannot be a signature at all.", "Do not trust the image: re-sign it, or find out who attached a signature that does not verify.", false},
	{IDSignatureLookupFailed, SeverityMedium, "signature", CheckSignatures, "the registry could not say (never reported as unsigned)",
		"The registry could not say whether the image is signed.", retryFix + " " + budgetCatalogFix, true},
	{IDNoTrustRule, SeverityLow, "signature", CheckSignatures, "--trust-policy has no rule for the image (and no catch-all); with --trust-policy=cluster, no ClusterImagePolicy matches it (high when policy-controller's no-match-policy is deny, its default)",
		"No rule of the trust policy covers the image, so its signatures were not checked.", "Add a rule for the image to the trust policy, or a last rule with images: [\"**\"] that says what to do with the rest.", false},
	{IDAttestationMissing, SeverityHigh, "signature", CheckSignatures, "the image's trust-policy rule requires an attestation of a predicate type, and none is attached to the digest",
		"No attestation of the predicate type the image's trust-policy rule requires is attached to the running digest.", "Attest the digest that runs with an authority of the rule (cosign attest --type TYPE --predicate FILE --key KEY IMAGE@DIGEST), or run an image that has the attestation.", false},
	{IDAttestationUnverified, SeverityHigh, "signature", CheckSignatures, "a required attestation is attached, and no authority of the rule verifies it",
		"An attestation of the predicate type the trust-policy rule requires is attached, but no key or keyless identity of the rule verifies it for this digest.", "Attest the digest with an authority of the rule, or add the attestation's signer to the rule if you trust it.", false},
	{IDAttestationLookupFailed, SeverityMedium, "signature", CheckSignatures, "the registry could not say whether a required attestation is attached (never reported as missing)",
		"The registry could not say whether the attestation the trust-policy rule requires is attached.", retryFix + " " + budgetCatalogFix, true},
	{IDNoProvenance, SeverityLow, "provenance", CheckProvenance, "no source or revision anywhere",
		"The image names no source repository or revision.", "Build with OCI annotations or labels (org.opencontainers.image.source and .revision) or SLSA provenance.", false},
	{IDProvenanceMismatch, SeverityHigh, "provenance", CheckProvenance, "two places disagree on source or revision",
		"Two places disagree on the image's source or revision.", "Rebuild so that annotations, labels and attestations name one source and revision.", false},
	{IDProvenanceLookupFailed, SeverityMedium, "provenance", CheckProvenance, "the registry could not say (never reported as no-provenance)",
		"The image's provenance could not be read.", retryFix + " " + budgetCatalogFix, true},
	{IDImageTooOld, SeverityMedium, "freshness", CheckProvenance, "built longer ago than --max-age",
		"The image was built longer ago than the maximum age.", "Rebuild the image on a current base, or move to a newer release.", false},
	{IDNewerPatchAvailable, SeverityMedium, "freshness", CheckUpdates, "a higher patch of the same minor exists",
		"A higher patch release of the same minor exists.", "Move to the newer patch release and pin it.", false},
	{IDNewerMinorAvailable, SeverityLow, "freshness", CheckUpdates, "a higher minor of the same major exists",
		"A higher minor release of the same major exists.", "Consider the newer minor release, and pin it.", false},
	{IDNewerMajorAvailable, SeverityLow, "freshness", CheckUpdates, "a higher major exists",
		"A higher major release exists.", "Consider the newer major release, and pin it.", false},
	{IDUpdatesLookupFailed, SeverityLow, "freshness", CheckUpdates, "the tags could not be listed",
		"The repository's tags could not be listed.", retryFix, true},
	{IDVulnerable, SeverityHigh, "vulnerabilities", CheckVulnerabilities, "a scan of the running digest lists vulnerabilities at or above --max-severity (default critical)",
		"A scan of the digest that runs lists vulnerabilities at or above the maximum severity.", "Move to a release that fixes them (or rebuild on a patched base), pin it and roll it out.", false},
	{IDScanOfOtherDigest, SeverityMedium, "vulnerabilities", CheckVulnerabilities, "the only scan found is of another digest of the repository",
		"The only scan found is of another digest of the image's repository, not of the one that runs.", "Pin the workload to what runs, or roll out what was scanned, and have the scanner scan again.", false},
	{IDScanTooOld, SeverityLow, "vulnerabilities", CheckVulnerabilities, "the newest scan of the running digest is older than --max-scan-age",
		"The newest scan of the digest that runs is older than the maximum scan age.", "Have the scanner scan again (for the Trivy Operator, delete the report), or shorten its report TTL.", false},
	{IDNoVulnerabilityData, SeverityLow, "vulnerabilities", CheckVulnerabilities, "no scan of the running digest was found",
		"No vulnerability scan of the digest that runs was found.", "Run a scanner that writes reports (the Trivy Operator), or attach a vulnerability attestation to the digest (cosign attest --type vuln).", false},
	{IDVulnerabilityLookupFailed, SeverityMedium, "vulnerabilities", CheckVulnerabilities, "the reports could not be read (never reported as no-vulnerability-data)",
		"The vulnerability reports could not be read.", "Run with permission to list the scanner's reports (and ReplicaSets) in the namespace; the finding names what was refused.", true},
}

// catalogue indexes Catalogue by ID.
var catalogue = func() map[string]Spec {
	m := make(map[string]Spec, len(Catalogue))
	for _, s := range Catalogue {
		m[s.ID] = s
	}
	return m
}()

// Lookup is the catalogue entry of a finding ID.
func Lookup(id string) (Spec, bool) {
	s, ok := catalogue[id]
	return s, ok
}

// SeverityOf returns the severity of a finding ID.
func SeverityOf(id string) Severity { return catalogue[id].Severity }

// Describe is the one-line description and the default severity of a
// finding ID.
func Describe(id string) (string, Severity) { return catalogue[id].Description, catalogue[id].Severity }

// GeneralFix is how a finding ID is fixed in general.
func GeneralFix(id string) string { return catalogue[id].Fix }

// Category is the group a finding ID belongs to: pinning, registry,
// signature, provenance or freshness.
func Category(id string) string { return catalogue[id].Category }

// IsLookupFailure reports whether a finding says only that the registry
// could not answer: a check not made, never a fact about the image.
func IsLookupFailure(id string) bool { return catalogue[id].LookupFailure }

// HelpTable is the findings of one check as --help lists them: ID,
// severity and when, with long lines wrapped under their text.
func HelpTable(check Check) string {
	width := IDWidth()
	indent := 2 + width + 1 + 8
	var b strings.Builder
	for _, s := range Catalogue {
		if s.Check != check {
			continue
		}
		line := fmt.Sprintf("  %-*s %-8s", width, s.ID, s.Severity)
		for i, part := range wrap(s.When, 100-indent) {
			if i > 0 {
				line = strings.Repeat(" ", indent)
			}
			b.WriteString(line + part + "\n")
		}
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// IDWidth is the length of the longest finding ID: the ID column's width
// wherever IDs are listed one per line, so that every line stays aligned.
func IDWidth() int {
	width := 0
	for _, s := range Catalogue {
		width = max(width, len(s.ID))
	}
	return width
}

// wrap splits text into lines of at most width, at spaces.
func wrap(text string, width int) []string {
	var lines []string
	line := ""
	for _, word := range strings.Fields(text) {
		if line != "" && len(line)+1+len(word) > width {
			lines = append(lines, line)
			line = ""
		}
		if line != "" {
			line += " "
		}
		line += word
	}
	return append(lines, line)
}

// checkTitles head each check's section of docs/findings.md.
var checkTitles = map[Check]string{
	CheckSpec:       "Always (the image as written and what pods run)",
	CheckRegistry:   "Asked of the registry (unless `--offline`)",
	CheckSignatures: "With `--signatures`, `--verify-key`, `--trust-cert` or `--trust-policy`",
	CheckProvenance: "With `--provenance` or `--max-age`",
	CheckUpdates:    "With `--updates`",
	// Not the registry's answer: the scanners' reports in the cluster.
	CheckVulnerabilities: "With `--vulnerabilities`",
}

// FindingsDoc is docs/findings.md: the catalogue as Markdown, generated
// (TestFindingsDocIsGenerated fails when the file drifts).
func FindingsDoc() string {
	var b strings.Builder
	b.WriteString("# Findings\n\n")
	b.WriteString("Generated from the catalogue in `pkg/audit/catalog.go` (`go test ./pkg/audit -run TestFindingsDoc -update`);\n")
	b.WriteString("do not edit by hand. Finding IDs are a contract: scripts, CI filters, SARIF rules and OpenReports\n")
	b.WriteString("policies match on them. A lookup failure says only that the registry could not answer: it is never\n")
	b.WriteString("reported as the negative fact it did not prove.\n")
	for _, check := range Checks {
		fmt.Fprintf(&b, "\n## %s\n\n", checkTitles[check])
		b.WriteString("| finding | severity | category | when | general fix |\n|---|---|---|---|---|\n")
		for _, s := range Catalogue {
			if s.Check != check {
				continue
			}
			when := s.When
			if s.LookupFailure {
				when += " (lookup failure)"
			}
			fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s |\n", s.ID, s.Severity, s.Category, mdEscape(when), mdEscape(s.Fix))
		}
	}
	return b.String()
}

func mdEscape(s string) string { return strings.ReplaceAll(s, "|", `\|`) }
