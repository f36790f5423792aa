package cmd

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/imgtrust/kubectl-imgtrust/pkg/mirror"
	"github.com/imgtrust/kubectl-imgtrust/pkg/pin"
	"github.com/imgtrust/kubectl-imgtrust/pkg/pin/apply"
	"github.com/imgtrust/kubectl-imgtrust/pkg/pipeline"
	"github.com/imgtrust/kubectl-imgtrust/pkg/workload"
)

// mirrorFlags ask pin to copy each image into a registry we control and
// pin to the copy.
type mirrorFlags struct {
	MirrorTo      string
	MirrorLayout  string
	OverwriteTags bool

	layout  mirror.Layout
	session *mirror.Session
	plan    *pipeline.CredentialPlan
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

// plan picks the changes of one object: pins, or pins to the mirror.
func (o *PinOptions) plan(t apply.Target, chooser pin.Chooser) ([]pin.Change, []pin.Skip) {
	if o.mirroring() {
		return pin.PlanMirror(t.Object, t.Containers, chooser, o.DropTag, o.session.Target)
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
	if o.session.DryRun() {
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

// startMirror opens the run's mirror session.
func (o *PinOptions) startMirror() {
	o.session = mirror.NewSession(mirror.SessionOptions{
		Resolver: o.resolver, Prefix: o.MirrorTo, Layout: o.layout, OverwriteTags: o.OverwriteTags,
		DryRun: !o.copying(), Progress: copyProgress(o.ErrOut),
	})
}

// copyOnce copies image's digest to target once per run (or says it
// would), saying what it copied; the error names what failed.
func (o *PinOptions) copyOnce(ctx context.Context, obj workload.Object, image, digest, target string) error {
	creds, _, _ := o.mirrorFlags.plan.For(obj, image)
	res, err := o.session.Copy(ctx, mirror.CopyRequest{Image: image, Digest: digest, Target: target, Credentials: creds})
	switch {
	case res.Planned:
		fmt.Fprintf(o.ErrOut, "would copy %s -> %s\n", res.Source, res.Target)
	case err == nil && !res.Cached:
		state := "copied"
		if res.AlreadyPresent {
			state = "already in the mirror"
		}
		fmt.Fprintf(o.ErrOut, "%s %s -> %s (manifests checked: %d, blobs: %d, %s, signatures: %d; pulled with %s, pushed with %s)\n",
			state, res.Source, res.Target, res.Manifests, res.Blobs, bytesText(res.Bytes), res.Signatures, res.PullCredential, res.PushCredential)
	}
	return err
}

// checkMirrorPull refuses a patch after which the pods would have no
// credential the mirror accepts, naming the secret to create.
func (o *PinOptions) checkMirrorPull(ctx context.Context, obj workload.Object, c pin.Change) error {
	creds, _, _ := o.mirrorFlags.plan.For(obj, c.New)
	check := o.session.CheckPull(ctx, c.New, creds)
	switch {
	case check.Err == nil:
		return nil
	case !check.Denied():
		return fmt.Errorf("checking that the pods can pull %s: %v; not patched", c.New, check.Err)
	}
	sa := "default"
	if obj.Spec != nil && obj.Spec.ServiceAccount != "" {
		sa = obj.Spec.ServiceAccount
	}
	return fmt.Errorf("the pods of %s would have no credential for %s (%s): not patched; create one and give it to them, then run again:\n"+
		"  kubectl create secret docker-registry mirror-pull -n %s --docker-server=%s --docker-username=USER --docker-password=PASSWORD\n"+
		"  kubectl patch serviceaccount %s -n %s -p '{\"imagePullSecrets\":[{\"name\":\"mirror-pull\"}]}'",
		objectLabel(obj), check.Registry, check.Err.Reason, obj.Namespace, check.Registry, sa, obj.Namespace)
}

// mirrorSummary is the last line about the copies, after pin's own.
func (o *PinOptions) mirrorSummary() {
	if !o.mirroring() || o.session.DryRun() {
		return
	}
	t := o.session.Totals()
	fmt.Fprintf(o.ErrOut, "mirror: images copied: %d, already present: %d; blobs transferred: %d, %s; signatures and attestations copied: %d\n",
		t.Copied, t.Present, t.Blobs, bytesText(t.Bytes), t.Signatures)
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
