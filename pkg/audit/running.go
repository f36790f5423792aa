package audit

import (
	"fmt"
	"slices"

	"github.com/imgtrust/kubectl-imgtrust/pkg/imageref"
)

// indexView is what is known of the index the spec's tag or pinned digest
// points at. CRI-O reports the platform manifest a pod runs as its imageID
// (containerd the digest the reference resolved to), so pods may run
// children of that index: the same image, on their node's platform.
type indexView struct {
	digest   string   // the index; "" when the reference is no index, or unknown
	children []string // its manifests; nil when not read
	note     string   // appended when findings remain that the children might explain
}

// offlineNote is said before the registry is read: without it nothing
// tells a platform manifest from another image.
const offlineNote = "; they may be platform manifests of a multi-arch index the spec points at, which cannot be checked offline"

func (v indexView) sameImage(d string) bool {
	return v.digest != "" && (d == v.digest || slices.Contains(v.children, d))
}

// addRunningFindings adds mixed-running-digests and
// running-differs-from-spec, replacing any added before with less known.
func (it *Item) addRunningFindings(v indexView) {
	var found []Finding
	ds := it.RunningDigests
	if len(ds) > 1 && !allFunc(ds, v.sameImage) {
		found = append(found, newFinding(IDMixedRunningDigests,
			fmt.Sprintf("the pods run %d different images for this container: %s%s", len(ds), shortDigests(ds), v.note),
			"pin to what the tag points at now, so every pod runs it after the rollout: "+it.pinCommand()+" --source=registry --apply"))
	}
	if it.ref.Digest != "" {
		var others []string
		for _, d := range ds {
			if d != it.ref.Digest && !v.sameImage(d) {
				others = append(others, d)
			}
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

func allFunc(s []string, f func(string) bool) bool {
	for _, x := range s {
		if !f(x) {
			return false
		}
	}
	return true
}
