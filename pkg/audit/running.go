package audit

import (
	"fmt"
	"slices"
	"strings"

	"github.com/imgtrust/kubectl-imgtrust/pkg/imageref"
)

// indexView is what is known of the index the spec's tag or pinned digest
// points at. CRI-O reports the platform manifest a pod runs as its imageID
// (containerd the digest the reference resolved to), so pods may run
// children of that index: the same image, on their node's platform.
type indexView struct {
	digest   string   // the index; "" when the reference is no index, or unknown
	children []string // its manifests; nil when not read
	note     string   // appended when findings remain that the children might explain (offline)
	// unknown, online, says why the registry could not tell whether the
	// digests pods run are platform manifests of the index: a mix or a
	// drift is then not proven, and is unresolvable, never high.
	unknown string
}

// offlineNote is said before the registry is read: without it nothing
// tells a platform manifest from another image.
const offlineNote = "; they may be platform manifests of a multi-arch index the spec points at, which cannot be checked offline"

func (v indexView) sameImage(d string) bool {
	return v.digest != "" && (d == v.digest || slices.Contains(v.children, d))
}

// addRunningFindings adds mixed-running-digests and
// running-differs-from-spec, replacing any added before with less known.
// When the registry could not tell platform manifests from other images
// (v.unknown), neither is proven: the item gets one unresolvable finding
// that says what runs and what could not be checked.
func (it *Item) addRunningFindings(v indexView) {
	var found []Finding
	ds := it.RunningDigests
	mixed := len(ds) > 1 && !allFunc(ds, v.sameImage)
	var others []string
	if it.ref.Digest != "" {
		for _, d := range ds {
			if d != it.ref.Digest && !v.sameImage(d) {
				others = append(others, d)
			}
		}
	}
	switch {
	case v.unknown != "" && (mixed || len(others) > 0):
		it.addUnknownRunning(v, mixed, len(others) > 0)
	default:
		if mixed {
			found = append(found, newFinding(IDMixedRunningDigests,
				fmt.Sprintf("the pods run %d different images for this container: %s%s", len(ds), shortDigests(ds), v.note),
				"pin to what the tag points at now, so every pod runs it after the rollout: "+it.pinCommand()+" --source=registry --apply"))
		}
		if len(others) > 0 {
			found = append(found, newFinding(IDRunningDiffersFromSpec,
				fmt.Sprintf("the spec names %s but pods run %s%s", imageref.ShortDigest(it.ref.Digest), shortDigests(others), v.note),
				"replace the stale pods, e.g. kubectl rollout restart "+it.objectRef()+" -n "+it.Namespace))
		}
	}
	// In place, so a second look keeps the findings' order.
	for _, id := range []string{IDMixedRunningDigests, IDRunningDiffersFromSpec} {
		k := slices.IndexFunc(it.Findings, func(f Finding) bool { return f.ID == id })
		n := slices.IndexFunc(found, func(f Finding) bool { return f.ID == id })
		switch {
		case k >= 0 && n >= 0:
			it.Findings[k] = found[n]
		case k >= 0:
			it.Findings = slices.Delete(it.Findings, k, k+1)
		case n >= 0:
			it.add(found[n])
		}
	}
}

// addUnknownRunning says that whether the pods run different images (mixed)
// or another image than the spec names (differs) is not known, as an
// unresolvable finding; an item the registry already could not answer for
// keeps its one unresolvable finding (and its fix), which then says this
// too.
func (it *Item) addUnknownRunning(v indexView, mixed, differs bool) {
	index := "a multi-arch index the reference points at"
	if v.digest != "" {
		index = "the index " + imageref.ShortDigest(v.digest)
	}
	spec := ""
	if it.ref.Digest != "" {
		spec = " and the spec names " + imageref.ShortDigest(it.ref.Digest)
	}
	what := "they run different images"
	switch {
	case mixed && differs:
		what = "they run different images, or another image than the spec names,"
	case differs:
		what = "they run another image than the spec names"
	}
	msg := fmt.Sprintf("the pods run %s%s; whether they are platform manifests of %s could not be checked (%s), so whether %s is not known",
		shortDigests(it.RunningDigests), spec, index, v.unknown, what)
	if k := slices.IndexFunc(it.Findings, func(f Finding) bool { return f.ID == IDUnresolvable }); k >= 0 {
		f := &it.Findings[k]
		if strings.Contains(f.Message, "platform manifests") && strings.Contains(f.Message, shortDigests(it.RunningDigests)) {
			// It says already that these digests could not be checked
			// against the index (whether the tag moved).
			msg = "for the same reason, whether " + what + " is not known"
		}
		if !strings.Contains(f.Message, msg) {
			f.Message += "; " + msg
		}
		return
	}
	it.add(newFinding(IDUnresolvable, msg,
		"run the audit again when the registry answers; to make every pod run one image meanwhile: "+it.pinCommand()+" --source=registry --apply"))
}

func allFunc(s []string, f func(string) bool) bool {
	for _, x := range s {
		if !f(x) {
			return false
		}
	}
	return true
}
