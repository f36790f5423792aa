package audit

import (
	"fmt"
	"math"
	"time"

	"github.com/imgtrust/kubectl-imgtrust/pkg/imageref"
	"github.com/imgtrust/kubectl-imgtrust/pkg/provenance"
)

// ProvenanceOptions say which provenance findings were asked for.
type ProvenanceOptions struct {
	// Report adds no-provenance and provenance-mismatch (--provenance).
	Report bool
	// MaxAge, when set, adds image-too-old (--max-age).
	MaxAge time.Duration
	Now    time.Time
	// Attestations: cosign attestations were looked for (they are found
	// with the signatures: --signatures, --verify-key).
	Attestations bool
}

// ApplyProvenance records what was read of the digest the item runs and
// adds the findings it calls for. A failed read is reported as such,
// never as missing provenance or an unknown age.
func ApplyProvenance(it *Item, p provenance.Provenance, from string, o ProvenanceOptions) {
	it.Provenance = &p
	d := imageref.ShortDigest(p.Digest)
	if p.Error != "" && !p.Known() {
		fix := "check the registry and the pull secret's access to the image's manifests and config, then run again"
		if budgetCut(p.Error, p.ReadsSkipped) {
			fix = budgetFix(p.ReadsSkipped)
		}
		it.add(newFinding(IDProvenanceLookupFailed,
			fmt.Sprintf("the provenance of %s (%s digest) could not be read: %s", d, from, p.Error), fix))
		return
	}
	if o.Report && p.Mismatch != "" {
		it.add(newFinding(IDProvenanceMismatch,
			fmt.Sprintf("%s has conflicting provenance: %s", d, p.Mismatch),
			"find out which build produced it: rebuild from the intended source, and set the OCI annotations from the same commit"))
	}
	if o.Report && !p.Known() {
		where := "no OCI annotation or label, no SLSA provenance"
		if !o.Attestations {
			where += "; cosign attestations not looked for: add --signatures or --verify-key"
		}
		it.add(newFinding(IDNoProvenance,
			fmt.Sprintf("%s names no source repository or revision (%s)", d, where),
			"build with --label/--annotation org.opencontainers.image.source=URL and .revision=COMMIT, or with SLSA provenance (docker buildx --provenance=mode=max)"))
	}
	if o.MaxAge <= 0 {
		return
	}
	created, ok := p.CreatedTime()
	if !ok {
		return // the age is unknown; the provenance says why (note, created)
	}
	if age := o.Now.Sub(created); age > o.MaxAge {
		it.add(newFinding(IDImageTooOld,
			fmt.Sprintf("%s was built %s (%s ago, from its %s), more than --max-age %s", d, created.Format("2006-01-02"), Days(age), p.CreatedFrom, Days(o.MaxAge)),
			"rebuild it on a current base image and roll it out"))
	}
}

// Days prints a duration in whole days, as --max-age takes it: "180d".
func Days(d time.Duration) string {
	return fmt.Sprintf("%dd", int(math.Floor(d.Hours()/24)))
}

// ApplyUpdates records the newer releases of the item's tag and adds a
// finding for each kind found. A failed listing is reported as such,
// never as "up to date".
func ApplyUpdates(it *Item, u provenance.Updates, tag string) {
	it.Updates = &u
	if u.Error != "" {
		it.add(newFinding(IDUpdatesLookupFailed,
			fmt.Sprintf("the tags of %s could not be listed: %s", it.Image, u.Error),
			"check the registry and the pull secret's access to the repository's tag list, then run again"))
		return
	}
	if u.NewestPatch != "" {
		it.add(newFinding(IDNewerPatchAvailable,
			fmt.Sprintf("%s is out (running %s): a patch release of the same minor", u.NewestPatch, tag),
			fmt.Sprintf("move to %s: patch releases carry fixes (pin it: kubectl imgtrust pin --source=registry)", u.NewestPatch)))
	}
	if u.NewestMinor != "" {
		it.add(newFinding(IDNewerMinorAvailable,
			fmt.Sprintf("%s is out (running %s): a newer minor release", u.NewestMinor, tag),
			fmt.Sprintf("plan the move to %s", u.NewestMinor)))
	}
	if u.NewestMajor != "" {
		it.add(newFinding(IDNewerMajorAvailable,
			fmt.Sprintf("%s is out (running %s): a newer major release", u.NewestMajor, tag),
			fmt.Sprintf("plan the upgrade to %s: a major release may break compatibility", u.NewestMajor)))
	}
}
