package pin

import (
	"fmt"
	"strings"

	"github.com/imgtrust/kubectl-imgtrust/pkg/imageref"
	"github.com/imgtrust/kubectl-imgtrust/pkg/workload"
)

// Source says where a pinned digest came from.
type Source string

const (
	// SourceRunning pins to the digest every pod already runs, so pinning
	// changes nothing that runs.
	SourceRunning Source = "running"
	// SourceRegistry pins to what the tag resolves to now.
	SourceRegistry Source = "registry"
)

// Reasons a container is not pinned. They are stable, for scripts.
const (
	ReasonAlreadyPinned      = "already-pinned"
	ReasonAlreadyMirrored    = "already-mirrored"
	ReasonInvalidReference   = "invalid-reference"
	ReasonEphemeralContainer = "ephemeral-container"
	ReasonUnsupportedPath    = "unsupported-path"
	ReasonNoRunningPods      = "no-running-pods"
	ReasonMixedDigests       = "mixed-digests"
	ReasonConfigDigestOnly   = "config-digest-only"
	ReasonOtherRepository    = "other-repository"
	ReasonOtherImage         = "other-image"
	ReasonResolveFailed      = "resolve-failed"
	// The digest is not signed by a key or certificate given with
	// --verify-key or --trust-cert.
	ReasonNotVerified = "not-verified"
)

// Refusal is a deliberate decision not to pin a container, with what the
// user can do about it. It is not a failure.
type Refusal struct {
	Reason  string // one of the Reason constants
	Message string // one line: why, and what to do
}

func (r *Refusal) Error() string { return r.Message }

// Chooser picks the digest for one container.
type Chooser struct {
	Source Source
	// Choose returns a digest ("sha256:…"), a *Refusal, or another error
	// (a failure, e.g. the registry could not be reached).
	Choose func(u workload.Usage) (digest string, err error)
}

// RunningChooser implements --source=running.
func RunningChooser() Chooser {
	return Chooser{Source: SourceRunning, Choose: func(u workload.Usage) (string, error) {
		d, r := ChooseRunning(u)
		if r != nil {
			return "", r // never a typed nil inside a non-nil error
		}
		return d, nil
	}}
}

// RegistryChooser implements --source=registry with the caller's resolver,
// which knows the workload's pull credentials.
func RegistryChooser(resolve func(u workload.Usage) (digest string, err error)) Chooser {
	return Chooser{Source: SourceRegistry, Choose: resolve}
}

// ChooseRunning returns the manifest digest that every pod reporting this
// container runs. It refuses when that digest is not certain: no pod reports
// one, pods disagree (a rollout in progress), some runtime reports only the
// config digest (which is not pullable), or pods run another repository than
// the spec names (the template changed and the pods were not replaced).
func ChooseRunning(u workload.Usage) (string, *Refusal) {
	if len(u.Running) == 0 && u.Type == workload.ImageVolume {
		// Pod status names no image volume's digest; a pinned reference
		// mounts exactly the digest it names.
		if ref, err := imageref.Parse(u.Image); err == nil && ref.Digest != "" {
			return ref.Digest, nil
		}
		return "", &Refusal{ReasonNoRunningPods, fmt.Sprintf(
			"pods do not report which digest image volume %q mounted: use --source=registry", u.Name)}
	}
	if len(u.Running) == 0 && u.Type == workload.ResourceImage {
		return "", &Refusal{ReasonNoRunningPods, fmt.Sprintf(
			"no pod reports which digest the custom resource's image %q runs (its operator makes the pods): use --source=registry", u.Name)}
	}
	if len(u.Running) == 0 {
		return "", &Refusal{ReasonNoRunningPods, fmt.Sprintf(
			"no running pod reports an image for %s %q: wait for its pods to start or roll the workload out, or use --source=registry",
			u.Type, u.Name)}
	}
	manifests := u.Digests(imageref.KindManifest)
	configs := u.Digests(imageref.KindConfig)
	if len(manifests) > 1 {
		return "", &Refusal{ReasonMixedDigests, fmt.Sprintf(
			"pods run %d different digests for %s %q (%s): finish the rollout (kubectl rollout status) so all pods run one, or use --source=registry",
			len(manifests), u.Type, u.Name, shortDigests(manifests))}
	}
	if len(configs) > 0 {
		// A config digest cannot be compared with a manifest digest, so a
		// pod reporting one might run anything.
		return "", &Refusal{ReasonConfigDigestOnly, fmt.Sprintf(
			"%d of %d pods report only a config digest (image ID %s) for %s %q, which cannot be pulled or compared: use --source=registry",
			countKind(u.Running, imageref.KindConfig), len(u.Running), shortDigests(configs), u.Type, u.Name)}
	}
	for _, r := range u.Running {
		if r.SpecImage != "" && r.SpecImage != u.Image {
			return "", &Refusal{ReasonOtherImage, fmt.Sprintf(
				"pods were created for %s but the template of %s %q now names %s: roll the workload out first, or use --source=registry",
				r.SpecImage, u.Type, u.Name, u.Image)}
		}
	}
	if spec, err := imageref.Parse(u.Image); err == nil {
		for _, r := range u.Running {
			if r.Repository != "" && r.Repository != spec.Name() {
				return "", &Refusal{ReasonOtherRepository, fmt.Sprintf(
					"pods run %s for %s %q but the spec names %s: roll the workload out first, or use --source=registry",
					r.Repository, u.Type, u.Name, spec.Name())}
			}
		}
	}
	return manifests[0], nil
}

func countKind(running []imageref.RunningImage, kind imageref.DigestKind) int {
	n := 0
	for _, r := range running {
		if r.Kind == kind {
			n++
		}
	}
	return n
}

// shortDigests lists digests the way people compare them: first 12 hex digits.
func shortDigests(digests []string) string {
	short := make([]string, len(digests))
	for i, d := range digests {
		short[i] = imageref.ShortDigest(d)
	}
	return strings.Join(short, ", ")
}
