package audit

// descriptions say in one line what each finding means, for reports that
// describe their rules (SARIF).
var descriptions = map[string]string{
	IDImplicitLatest:         "The image has no tag and no digest: the runtime pulls whatever latest is.",
	IDLatestTag:              "The image uses the tag latest without a digest.",
	IDMutableTag:             "The image uses a tag without a digest; tags can be moved.",
	IDImplicitRegistry:       "No registry host is written: Docker Hub is assumed.",
	IDPullPolicyStaleRisk:    "A tag with imagePullPolicy IfNotPresent: nodes may run different images.",
	IDMixedRunningDigests:    "Pods of one workload run different images for one container.",
	IDRunningDiffersFromSpec: "The spec names a digest, and a pod runs another.",
	IDDisallowedRegistry:     "The image is not from an allowed registry.",
	IDInvalidReference:       "The image reference does not parse (the kubelet says InvalidImageName).",
	IDTagMoved:               "The tag now points at an image no pod of the workload runs.",
	IDUnresolvable:           "The registry could not answer for the image.",
	IDNoCredentials:          "The registry refused every credential the pod can use.",
	IDUnsigned:               "No cosign or Notation signature of the running digest was found.",
	IDSignatureUnverified:    "The image is signed, but no key or certificate was given to check it.",
	IDSignedByUnknownKey:     "The image is signed, by none of the given keys or certificates.",
	IDSignatureInvalid:       "A signature claims a given key or chain but does not verify, or cannot be a signature at all.",
	IDSignatureLookupFailed:  "The registry could not say whether the image is signed.",
	IDNoProvenance:           "The image names no source repository or revision.",
	IDProvenanceMismatch:     "Two places disagree on the image's source or revision.",
	IDProvenanceLookupFailed: "The image's provenance could not be read.",
	IDImageTooOld:            "The image was built longer ago than the maximum age.",
	IDNewerPatchAvailable:    "A higher patch release of the same minor exists.",
	IDNewerMinorAvailable:    "A higher minor release of the same major exists.",
	IDNewerMajorAvailable:    "A higher major release exists.",
	IDUpdatesLookupFailed:    "The repository's tags could not be listed.",
}

// generalFixes say how each finding is fixed in general; each finding's
// own Fix says it for its image and object (SARIF puts these in the rule's
// help and the other in the result).
var generalFixes = map[string]string{
	IDImplicitLatest:         "Pin the image to a digest: kubectl imgtrust pin TYPE/NAME (live), or kubectl imgtrust pin -f FILE --write (manifests).",
	IDLatestTag:              "Pin the image to a digest: kubectl imgtrust pin TYPE/NAME (live), or kubectl imgtrust pin -f FILE --write (manifests).",
	IDMutableTag:             "Pin the image to a digest: kubectl imgtrust pin TYPE/NAME (live), or kubectl imgtrust pin -f FILE --write (manifests).",
	IDImplicitRegistry:       "Write the registry host explicitly, e.g. docker.io/library/nginx:1.27 instead of nginx:1.27.",
	IDPullPolicyStaleRisk:    "Pin the image to a digest (kubectl imgtrust pin), or set imagePullPolicy: Always.",
	IDMixedRunningDigests:    "Pin to what the tag points at now and roll out, so every pod runs one image: kubectl imgtrust pin TYPE/NAME --source=registry --apply.",
	IDRunningDiffersFromSpec: "Replace the stale pods: kubectl rollout restart TYPE/NAME.",
	IDDisallowedRegistry:     "Mirror the image into an allowed registry (kubectl imgtrust pin --mirror-to PREFIX) and reference it there.",
	IDInvalidReference:       "Correct the image field to registry/repository:tag@sha256:digest; render templates and build-time placeholders (ko://) first.",
	IDTagMoved:               "Pin what the pods run today before anything restarts: kubectl imgtrust pin TYPE/NAME --source=running.",
	IDUnresolvable:           "Check that the registry is reachable from here and the image exists; the finding names the registry's answer.",
	IDNoCredentials:          "Give the pods a pull secret for the registry (imagePullSecrets on the pod or its service account); kubectl imgtrust secrets shows what covers what.",
	IDUnsigned:               "Sign the image (cosign sign, notation sign), or run a signed image.",
	IDSignatureUnverified:    "Name the key or certificate that must have signed it: --verify-key or --trust-cert.",
	IDSignedByUnknownKey:     "Verify with the key or certificate that really signs the image, or sign it with yours.",
	IDSignatureInvalid:       "Do not trust the image: re-sign it, or find out who attached a signature that does not verify.",
	IDSignatureLookupFailed:  "Run again when the registry answers; the finding names its answer.",
	IDNoProvenance:           "Build with OCI annotations or labels (org.opencontainers.image.source and .revision) or SLSA provenance.",
	IDProvenanceMismatch:     "Rebuild so that annotations, labels and attestations name one source and revision.",
	IDProvenanceLookupFailed: "Run again when the registry answers; the finding names its answer.",
	IDImageTooOld:            "Rebuild the image on a current base, or move to a newer release.",
	IDNewerPatchAvailable:    "Move to the newer patch release and pin it.",
	IDNewerMinorAvailable:    "Consider the newer minor release, and pin it.",
	IDNewerMajorAvailable:    "Consider the newer major release, and pin it.",
	IDUpdatesLookupFailed:    "Run again when the registry answers; the finding names its answer.",
}

// GeneralFix is how a finding ID is fixed in general.
func GeneralFix(id string) string { return generalFixes[id] }

// Describe is the one-line description and the default severity of a
// finding ID.
func Describe(id string) (string, Severity) { return descriptions[id], severities[id] }

// categories group finding IDs for dashboards (OpenReports' category).
var categories = map[string]string{
	IDImplicitLatest:         "pinning",
	IDLatestTag:              "pinning",
	IDMutableTag:             "pinning",
	IDImplicitRegistry:       "pinning",
	IDPullPolicyStaleRisk:    "pinning",
	IDMixedRunningDigests:    "pinning",
	IDRunningDiffersFromSpec: "pinning",
	IDInvalidReference:       "pinning",
	IDTagMoved:               "pinning",
	IDDisallowedRegistry:     "registry",
	IDUnresolvable:           "registry",
	IDNoCredentials:          "registry",
	IDUnsigned:               "signature",
	IDSignatureUnverified:    "signature",
	IDSignedByUnknownKey:     "signature",
	IDSignatureInvalid:       "signature",
	IDSignatureLookupFailed:  "signature",
	IDNoProvenance:           "provenance",
	IDProvenanceMismatch:     "provenance",
	IDProvenanceLookupFailed: "provenance",
	IDImageTooOld:            "freshness",
	IDNewerPatchAvailable:    "freshness",
	IDNewerMinorAvailable:    "freshness",
	IDNewerMajorAvailable:    "freshness",
	IDUpdatesLookupFailed:    "freshness",
}

// Category is the group a finding ID belongs to: pinning, registry,
// signature, provenance or freshness.
func Category(id string) string { return categories[id] }

// IsLookupFailure reports whether a finding says only that the registry
// could not answer: a check not made, never a fact about the image.
func IsLookupFailure(id string) bool {
	switch id {
	case IDUnresolvable, IDSignatureLookupFailed, IDProvenanceLookupFailed, IDUpdatesLookupFailed:
		return true
	}
	return false
}
