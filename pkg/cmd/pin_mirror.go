package cmd

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/imgtrust/kubectl-imgtrust/pkg/mirror"
	"github.com/imgtrust/kubectl-imgtrust/pkg/pipeline"
	"github.com/imgtrust/kubectl-imgtrust/pkg/report"
	"github.com/imgtrust/kubectl-imgtrust/pkg/sign"
)

// mirrorFlags ask pin to copy each image into a registry we control and
// pin to the copy.
type mirrorFlags struct {
	MirrorTo      string
	MirrorLayout  string
	OverwriteTags bool
	SignKey       string
	SignFormat    string

	layout mirror.Layout
}

func (f *mirrorFlags) AddFlags(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.MirrorTo, "mirror-to", "", "Copy each image (by digest, every platform, with its signatures and attestations) under this registry/path prefix, then pin to the copy: PREFIX/HOST/REPOSITORY:TAG@DIGEST")
	cmd.Flags().StringVar(&f.MirrorLayout, "mirror-layout", string(mirror.LayoutHost), "How copies are named: host (PREFIX/docker.io/library/nginx) or flat (PREFIX/library/nginx)")
	cmd.Flags().BoolVar(&f.OverwriteTags, "overwrite-tags", false, "With --mirror-to: move a target tag that points at another digest (refused otherwise)")
	cmd.Flags().StringVar(&f.SignKey, "sign-key", "", "With --mirror-to and --apply: sign each copy's digest with this cosign key (a cosign.key file, password from COSIGN_PASSWORD, or k8s://NAMESPACE/NAME) before pinning to it")
	cmd.Flags().StringVar(&f.SignFormat, "signature-format", string(pipeline.SignBundle), "With --sign-key: bundle (a sigstore bundle referrer, as cosign v3) or legacy (cosign's .sig tag)")
}

func (f *mirrorFlags) mirroring() bool { return f.MirrorTo != "" }

// Validate checks the prefix and the layout.
func (f *mirrorFlags) Validate() error {
	if !f.mirroring() {
		if f.OverwriteTags {
			return fmt.Errorf("--overwrite-tags applies only with --mirror-to")
		}
		if f.SignKey != "" {
			return fmt.Errorf("--sign-key signs the copies --mirror-to makes; to sign what runs where it is, use kubectl imgtrust sign --key %s", f.SignKey)
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

// mirrorConfig is the run's --mirror-to, nil without it.
func (o *PinOptions) mirrorConfig() *pipeline.MirrorConfig {
	if !o.mirroring() {
		return nil
	}
	return &pipeline.MirrorConfig{
		Prefix: o.MirrorTo, Layout: o.layout, OverwriteTags: o.OverwriteTags, Progress: report.CopyProgress(o.ErrOut),
		Sign: pipeline.MirrorSign{Cluster: pipeline.Cluster{Getter: o.configFlags}, Key: o.SignKey, Password: sign.EnvPassword(), Format: pipeline.SignFormat(o.SignFormat)},
	}
}
