package cmd

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/imgtrust/kubectl-imgtrust/pkg/imageref"
	"github.com/imgtrust/kubectl-imgtrust/pkg/mirror"
	"github.com/imgtrust/kubectl-imgtrust/pkg/pin"
	"github.com/imgtrust/kubectl-imgtrust/pkg/pin/apply"
	"github.com/imgtrust/kubectl-imgtrust/pkg/pipeline"
	"github.com/imgtrust/kubectl-imgtrust/pkg/pullsecret"
	"github.com/imgtrust/kubectl-imgtrust/pkg/registry"
	"github.com/imgtrust/kubectl-imgtrust/pkg/workload"
)

// mirrorFlags ask pin to copy each image into a registry we control and
// pin to the copy.
type mirrorFlags struct {
	MirrorTo      string
	MirrorLayout  string
	OverwriteTags bool

	layout mirror.Layout
	// copies are the copies made this run, by source digest and target.
	copies map[string]mirror.Result
	total  mirrorTotals
	plan   *pipeline.CredentialPlan
}

type mirrorTotals struct {
	copied, present, blobs, signatures int
	bytes                              int64
}

func (f *mirrorFlags) AddFlags(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.MirrorTo, "mirror-to", "", "Copy each image (by digest, every platform, with its signatures and attestations) under this registry/path prefix, then pin to the copy: PREFIX/HOST/REPOSITORY:TAG@DIGEST")
	cmd.Flags().StringVar(&f.MirrorLayout, "mirror-layout", string(mirror.LayoutHost), "How copies are named: host (PREFIX/docker.io/library/nginx) or flat (PREFIX/library/nginx)")
	cmd.Flags().BoolVar(&f.OverwriteTags, "overwrite-tags", false, "With --mirror-to: move a target tag that points at another digest (refused otherwise)")
}

func (f *mirrorFlags) mirroring() bool { return f.MirrorTo != "" }

// Validate checks the prefix and the layout.
func (f *mirrorFlags) Validate() error {
	if !f.mirroring() {
		if f.OverwriteTags {
			return fmt.Errorf("--overwrite-tags applies only with --mirror-to")
		}
		return nil
	}
	if err := mirror.ValidatePrefix(f.MirrorTo); err != nil {
		return err
	}
	var err error
	f.layout, err = mirror.ParseLayout(f.MirrorLayout)
	return err
}

// rename names the mirror copy of an image.
func (f *mirrorFlags) rename(image string) (string, bool, error) {
	return mirror.Target(f.MirrorTo, image, f.layout)
}

// plan picks the changes of one object: pins, or pins to the mirror.
func (o *PinOptions) plan(t apply.Target, chooser pin.Chooser) ([]pin.Change, []pin.Skip) {
	if o.mirroring() {
		return pin.PlanMirror(t.Object, t.Containers, chooser, o.DropTag, o.rename)
	}
	return pin.Plan(t.Object, t.Containers, chooser, o.DropTag)
}

// mirrorBefore copies each changed image into the mirror (with --apply),
// checks the copy by digest, and checks that the pods will have a
// credential for the mirror. An error means the object is not patched.
func (o *PinOptions) mirrorBefore(ctx context.Context, t apply.Target, changes []pin.Change) error {
	if !o.mirroring() {
		return nil
	}
	for _, c := range changes {
		if err := o.copyOnce(ctx, t.Object, c.Old, c.Digest, strings.TrimSuffix(c.New, "@"+c.Digest)); err != nil {
			return fmt.Errorf("%v; nothing patched", err)
		}
	}
	if !o.copying() {
		return nil
	}
	for _, c := range changes {
		if err := o.checkMirrorPull(ctx, t.Object, c); err != nil {
			return err
		}
	}
	return nil
}

// copying reports whether this run writes to the mirror: --apply on live
// objects (not a server dry run), --write on manifest files.
func (o *PinOptions) copying() bool {
	if o.scope.Offline() {
		return o.Write
	}
	return o.Apply && o.DryRun != "server"
}

// copyOnce copies image's digest to target once per run (or says it
// would); the error names what failed.
func (o *PinOptions) copyOnce(ctx context.Context, obj workload.Object, image, digest, target string) error {
	if !o.copying() {
		fmt.Fprintf(o.ErrOut, "would copy %s@%s -> %s@%s\n", repoOf(image), digest, target, digest)
		return nil
	}
	if o.copies == nil {
		o.copies = map[string]mirror.Result{}
	}
	key := digest + " " + target
	res, done := o.copies[key]
	if !done {
		m := &mirror.Mirror{Resolver: o.resolver, OverwriteTags: o.OverwriteTags, Progress: copyProgress(o.ErrOut)}
		cred := o.sourceCredential(ctx, obj, image, digest)
		res = m.Copy(ctx, image, digest, target, cred)
		o.copies[key] = res
		if res.Err == nil {
			o.tallyCopy(res)
			state := "copied"
			if res.AlreadyPresent {
				state = "already in the mirror"
			}
			fmt.Fprintf(o.ErrOut, "%s %s -> %s (manifests checked: %d, blobs: %d, %s, signatures: %d; pulled with %s, pushed with %s)\n",
				state, res.Source, res.Target, res.Manifests, res.Blobs, bytesText(res.Bytes), res.Signatures, cred.Source, res.PushCredential)
		}
	}
	if res.Err != nil {
		return fmt.Errorf("copying %s to %s: %v", res.Source, target, res.Err)
	}
	return nil
}

// mirrorResolver is -f's resolver with --mirror-to: the digest from the
// registry (or as written), copied with --write, named in the mirror.
func (o *PinOptions) mirrorResolver(ctx context.Context, plan *pipeline.CredentialPlan) pin.Resolver {
	return func(image string) (string, error) {
		target, ok, err := o.rename(image)
		if err != nil {
			return "", err
		}
		if !ok {
			return "", pin.ErrAlreadyMirrored
		}
		ref, err := imageref.Parse(image)
		if err != nil {
			return "", err
		}
		digest := ref.Digest
		if digest == "" {
			if digest, err = o.resolveUsage(ctx, plan, workload.Object{}, image); err != nil {
				return "", err
			}
		}
		if o.authorities != nil {
			if err := o.verifyDigest(ctx, plan, workload.Object{}, image, digest); err != nil {
				return "", err
			}
		}
		if err := o.copyOnce(ctx, workload.Object{}, image, digest, target); err != nil {
			return "", err
		}
		return pin.PinnedImage(target, digest, o.DropTag)
	}
}

// sourceCredential is the credential the registry accepts for the source
// digest among the pod's (the kubelet's order).
func (o *PinOptions) sourceCredential(ctx context.Context, obj workload.Object, image, digest string) registry.Credential {
	creds, _, _ := o.mirrorFlags.plan.For(obj, image)
	req := registry.Request{Image: repoOf(image) + "@" + digest, Credentials: creds, CheckAccess: true}
	return registry.AcceptedCredential(req, o.resolver.Resolve(ctx, req))
}

// checkMirrorPull refuses a patch after which the pods would have no
// credential the mirror accepts: their own pull secrets (and the service
// account's), or anonymous access; never the local docker config, which
// a node does not have.
func (o *PinOptions) checkMirrorPull(ctx context.Context, obj workload.Object, c pin.Change) error {
	creds, _, _ := o.mirrorFlags.plan.For(obj, c.New)
	var pods []registry.Credential
	for _, cr := range creds {
		if cr.Source != pullsecret.SourceLocalDockerConfig {
			pods = append(pods, cr)
		}
	}
	if len(pods) == 0 {
		pods = []registry.Credential{registry.Anonymous}
	}
	res := o.resolver.Resolve(ctx, registry.Request{Image: c.New, Credentials: pods, CheckAccess: true})
	if res.Err == nil {
		return nil
	}
	if res.Err.Reason != registry.ReasonUnauthorized && res.Err.Reason != registry.ReasonForbidden {
		return fmt.Errorf("checking that the pods can pull %s: %v; not patched", c.New, res.Err)
	}
	ref, _ := imageref.Parse(c.New)
	sa := "default"
	if obj.Spec != nil && obj.Spec.ServiceAccount != "" {
		sa = obj.Spec.ServiceAccount
	}
	return fmt.Errorf("the pods of %s would have no credential for %s (%s): not patched; create one and give it to them, then run again:\n"+
		"  kubectl create secret docker-registry mirror-pull -n %s --docker-server=%s --docker-username=USER --docker-password=PASSWORD\n"+
		"  kubectl patch serviceaccount %s -n %s -p '{\"imagePullSecrets\":[{\"name\":\"mirror-pull\"}]}'",
		objectLabel(obj), ref.Registry, res.Err.Reason, obj.Namespace, ref.Registry, sa, obj.Namespace)
}

func (o *PinOptions) tallyCopy(r mirror.Result) {
	if r.AlreadyPresent {
		o.total.present++
	} else {
		o.total.copied++
	}
	o.total.blobs += r.Blobs
	o.total.bytes += r.Bytes
	o.total.signatures += r.Signatures
}

// mirrorSummary is the last line about the copies, after pin's own.
func (o *PinOptions) mirrorSummary() {
	if !o.mirroring() || !o.copying() {
		return
	}
	t := o.total
	fmt.Fprintf(o.ErrOut, "mirror: images copied: %d, already present: %d; blobs transferred: %d, %s; signatures and attestations copied: %d\n",
		t.copied, t.present, t.blobs, bytesText(t.bytes), t.signatures)
}

// repoOf is an image's repository, without tag or digest.
func repoOf(image string) string {
	ref, err := imageref.Parse(image)
	if err != nil {
		return image
	}
	return ref.Name()
}

func bytesText(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

// copyProgress shows bytes written per image on a terminal's stderr only.
func copyProgress(w io.Writer) func(image string, written, total int64) {
	f, ok := w.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return nil
	}
	return func(image string, written, total int64) {
		fmt.Fprintf(w, "\r\033[Kcopying %s: %s of %s", image, bytesText(written), bytesText(total))
		if written >= total {
			fmt.Fprint(w, "\r\033[K")
		}
	}
}
