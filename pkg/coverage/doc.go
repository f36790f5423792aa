// Package coverage tells, for each workload and each registry it pulls
// from, whether the kubelet would have a pull-secret credential to offer,
// which one, and whether it is any good; and, per namespace, which pull
// secrets are unused, misplaced or missing. It is pure: the secrets come
// from a pullsecret.Store read once per namespace, and registry verdicts
// (--verify) are computed by the caller from Checks.
//
// # Statuses without registry access
//
// Without --verify nothing proves that a registry serves an image
// anonymously, so "not-needed" is only ever given with --verify. When no
// credential matches a registry the status is, in this order:
//
//   - missing-secret / invalid-secret when a referenced secret is missing or
//     unusable (it was probably meant for this registry);
//   - node-provided? when pods run the image anyway: the node has
//     credentials or a cached image, which the API cannot show;
//   - no-matching-credential when the workload has pull secrets and none
//     covers the registry (the issue's definition: "secrets exist, none
//     covers this registry") — with --verify this becomes not-needed when
//     the registry serves the image anonymously;
//   - unknown when the workload has no pull secret at all: a public
//     registry needs none and only --verify can tell.
//
// A missing secret next to one that does cover the registry leaves the
// row covered, with a note: the kubelet skips missing secrets and pulls
// with the others. A secret the kubelet's decoder rejects (see
// pullsecret.Secret.FailsPulls) makes every pull of the pod fail, so it
// wins over everything.
package coverage
