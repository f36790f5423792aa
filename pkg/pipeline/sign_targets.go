package pipeline

import (
	"context"
	"fmt"

	"github.com/imgtrust/kubectl-imgtrust/pkg/imageref"
	"github.com/imgtrust/kubectl-imgtrust/pkg/workload"
)

// signTarget is one digest to sign for one container, or (refusal set)
// why there is none.
type signTarget struct {
	obj       workload.Object
	container string
	image     string
	// repo is the repository the digest lives in: what the pods run from,
	// or what the manifest names.
	repo, digest string
	refusal      string
}

// signTargets discovers the workloads and lists what to sign: the running
// digests of live workloads, the digests -f manifests name. The credential
// plan reads with the pods' pull credentials (live) or the local docker
// config (-f). found is what was discovered, for the reports' scope.
func signTargets(ctx context.Context, c Cluster) (targets []signTarget, plan *CredentialPlan, warnings []string, found *workload.Discovery, err error) {
	found, err = c.Discover(ctx)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	warnings = append([]string(nil), found.Warnings...)
	for _, e := range found.InputErrors {
		warnings = append(warnings, e.Error())
	}
	var out []signTarget
	for _, w := range found.Workloads {
		for _, u := range w.Containers {
			if c.Scope.Offline() {
				out = append(out, fileTarget(w.Object, u))
			} else {
				out = append(out, runningTargets(w.Object, u)...)
			}
		}
	}
	if c.Scope.Offline() {
		return out, NewCredentialPlan(nil), warnings, found, nil
	}
	plan, more, err := c.Credentials(ctx, found)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	return out, plan, append(warnings, more...), found, nil
}

// fileTarget is the digest a manifest names; a tag is refused, never
// resolved: what is signed must be what was reviewed.
func fileTarget(obj workload.Object, u workload.Usage) signTarget {
	t := signTarget{obj: obj, container: u.Name, image: u.Image}
	ref, err := imageref.Parse(u.Image)
	switch {
	case err != nil:
		t.refusal = fmt.Sprintf("%s is not an image reference (%v): fix the manifest", u.Image, err)
	case ref.Digest == "":
		t.refusal = fmt.Sprintf("%s names a tag, not a digest: only digests are signed; pin the manifest first (kubectl imgtrust pin -f FILE --write) or write IMAGE@sha256:...", u.Image)
	default:
		t.repo, t.digest = ref.Name(), ref.Digest
	}
	return t
}

// runningTargets are the manifest digests the pods run for one container
// (like pin --source=running, but every digest a rollout in progress runs
// is signed, each in the repository the pods pulled it from).
func runningTargets(obj workload.Object, u workload.Usage) []signTarget {
	base := signTarget{obj: obj, container: u.Name, image: u.Image}
	digests := u.Digests(imageref.KindManifest)
	if len(digests) == 0 {
		if spec, err := imageref.Parse(u.Image); err == nil && spec.Digest != "" {
			// No pod runs yet, but a pinned spec names exactly what will.
			base.repo, base.digest = spec.Name(), spec.Digest
			return []signTarget{base}
		}
		base.refusal = fmt.Sprintf("no running pod reports a digest for %s %q and the spec names a tag: pin it first (kubectl imgtrust pin %s --source=registry --apply), then sign", u.Type, u.Name, obj.Label())
		if configs := u.Digests(imageref.KindConfig); len(configs) > 0 {
			base.refusal = fmt.Sprintf("the pods report only a config digest (%s) for %s %q, which cannot be signed: sign the manifest digest with -f", imageref.ShortDigest(configs[0]), u.Type, u.Name)
		}
		return []signTarget{base}
	}
	spec, _ := imageref.Parse(u.Image)
	var out []signTarget
	for _, d := range digests {
		t := base
		t.digest, t.repo = d, spec.Name()
		for _, r := range u.Running {
			if r.Digest == d && r.Repository != "" {
				t.repo = r.Repository
				break
			}
		}
		if t.repo == "" {
			t.refusal = fmt.Sprintf("cannot tell which repository %s of %s %q lives in: sign it with -f", imageref.ShortDigest(d), u.Type, u.Name)
		}
		out = append(out, t)
	}
	return out
}
