package pipeline

import (
	"github.com/imgtrust/kubectl-imgtrust/pkg/mirror"
	"github.com/imgtrust/kubectl-imgtrust/pkg/pin"
	"github.com/imgtrust/kubectl-imgtrust/pkg/workload"
)

// PinEventKind says what a PinEvent reports.
type PinEventKind int

// What pin reports while it runs, in the order it happens. Object is set
// for the live kinds, Path for the file kinds.
const (
	// PinWarning is a warning of discovery or of the credential plan (Message).
	PinWarning PinEventKind = iota
	// PinSkippedPod: a bare Pod, pinned only when named explicitly.
	PinSkippedPod
	// PinSkippedJob: a Job, whose pod template is immutable.
	PinSkippedJob
	// PinFailed: the object is not pinned (Err).
	PinFailed
	// PinContainerSkipped: one container left as it is (Skip), a failure
	// when Skip.Failed().
	PinContainerSkipped
	// PinAlreadyPinned: every container already names a digest.
	PinAlreadyPinned
	// PinChange: one container change, planned or about to be sent (Change).
	PinChange
	// PinRollout: the patch changes a pod template and starts a rollout;
	// SameImage when the pods keep running the digest they run.
	PinRollout
	// PinGitOps: the object looks managed by Manager, which will revert a
	// live patch.
	PinGitOps
	// PinRetrying: a resourceVersion conflict; the patch is recomputed and
	// sent once more.
	PinRetrying
	// PinPatched: the patch persisted; Cut when the interrupt cut its
	// request and a re-read found it applied.
	PinPatched
	// PinUntouched: the interrupt left the object as it was (Untouched says
	// how); told even when the run sends nothing (no Apply, no ServerDryRun).
	PinUntouched
	// PinUnknown: the interrupt cut the patch request and the re-read
	// failed (Err).
	PinUnknown
	// PinMirrorCopy: an image copied into the mirror, found there, or (in
	// a dry run) to be copied (Copy).
	PinMirrorCopy
	// PinFileFailed: a manifest file, or one image in it, could not be
	// pinned (Path, Err).
	PinFileFailed
	// PinFileEdit: one image of a manifest file pinned (Path, Edit).
	PinFileEdit
	// PinMirrorSign: a copy in the mirror signed, found signed by our key,
	// or (in a dry run) to be signed (Sign).
	PinMirrorSign
	// PinRefused: the object is left as it is because what controls it
	// would revert a patch (Message says which, and what to pin instead).
	PinRefused
)

// PinUntouchedWhy says why an interrupted object was left as it was.
type PinUntouchedWhy int

const (
	// UntouchedBeforeSend: the interrupt came before its patch was sent.
	UntouchedBeforeSend PinUntouchedWhy = iota
	// UntouchedDryRun: the cut patch was a server dry run.
	UntouchedDryRun
	// UntouchedCutUnchanged: the cut patch did not land (re-read).
	UntouchedCutUnchanged
)

// PinEvent is one thing pin did or found.
type PinEvent struct {
	Kind      PinEventKind
	Object    workload.Object
	Path      string
	Message   string
	Err       error
	Skip      pin.Skip
	Change    pin.Change
	Edit      pin.ManifestEdit
	Copy      mirror.Result
	Sign      SignOutcome
	Manager   string
	SameImage bool
	Cut       bool
	Untouched PinUntouchedWhy
}

// PinOutput is what -o renders of one object (or one file's diff), for
// stdout: a patch, the pinned object as YAML, or a unified diff.
type PinOutput struct {
	// Object is the live object, Path the manifest file.
	Object workload.Object
	Path   string
	Format PinFormat
	Data   []byte
	// Multiple is set when the run pins more than one object, so each
	// output needs a separator.
	Multiple bool
}
