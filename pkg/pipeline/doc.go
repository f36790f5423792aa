// Package pipeline runs each command of kubectl imgtrust end to end on
// the domain packages; pkg/cmd maps flags to a config, calls one entry
// point and prints what comes back. Nothing here knows cobra or flags.
//
// The front end is the same for every live command: a Cluster (one
// kubeconfig context and a workload.Scope) discovers workloads, builds
// clients and the CredentialPlan (the pull credentials a node would offer
// for each image, from pkg/pullsecret); Clusters and EachContext run it
// on every context of --contexts or --all-contexts at once, with Shared
// so an image found in many clusters is read once.
//
// The entry points:
//   - Audit: discovery, spec findings, then the registry stage
//     (AuditStage: resolutions with both views of a controller's pull
//     secrets, signatures, provenance and updates of the digests that
//     run); ReportWriter and WriteReports apply its OpenReports.
//   - Resolve: image arguments and workload images to digests, each
//     (reference, credential) asked once.
//   - Secrets: pull-secret coverage (pkg/coverage), optionally verified
//     against the registries.
//   - Pin and PinFiles: a digest per container (DigestFor, VerifyDigest
//     against Authorities), an optional copy to a mirror, then the patch
//     of each live object or the rewrite of each manifest file.
//   - Policy: the ValidatingAdmissionPolicy of pkg/admission, previewed
//     against the cluster's workloads, then applied or deleted.
//
// Long runs report as they go through events rather than printing:
// AuditEvent (skipped -f objects) and PinEvent (each step of pin, from
// the digest chosen to the patch sent); pkg/cmd turns them into lines.
package pipeline
