// Package pipeline wires the domain packages into the stages every command
// shares: the credentials a node would use for each image (CredentialPlan,
// from pkg/pullsecret), and the audit's registry stage (AuditStage:
// resolutions with both views of a controller's pull secrets, then
// signatures of the digests that run). pkg/cmd maps flags to these and
// prints; nothing here knows cobra or flags.
package pipeline
