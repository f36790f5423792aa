package cmd

import (
	"fmt"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"

	"github.com/imgtrust/kubectl-imgtrust/pkg/workload"
)

// scopeFlags are kubectl's selection flags, shared by every subcommand that
// looks at workloads: -A, -l, -f/-R, plus TYPE/NAME arguments.
type scopeFlags struct {
	AllNamespaces bool
	Selector      string
	Filenames     []string
	Recursive     bool
	ImagePaths    string
}

func (f *scopeFlags) AddFlags(cmd *cobra.Command, withFiles bool) {
	cmd.Flags().BoolVarP(&f.AllNamespaces, "all-namespaces", "A", false, "Look in every namespace (one cluster-wide LIST per resource type)")
	cmd.Flags().StringVarP(&f.Selector, "selector", "l", "", "Label selector: keep workloads whose labels, or whose pods' labels, match (e.g. -l app=web)")
	cmd.Flags().StringVar(&f.ImagePaths, "image-paths", "", "A file of image-paths rules: fields of custom resources that hold images, added to the built-in catalogue (docs/custom-resources.md)")
	if withFiles {
		cmd.Flags().StringSliceVarP(&f.Filenames, "filename", "f", nil, "Read manifests from files, directories or - (stdin) instead of the cluster")
		cmd.Flags().BoolVarP(&f.Recursive, "recursive", "R", false, "Read directories given with -f recursively")
	}
}

// Scope turns the flags and arguments into a workload.Scope, rejecting
// combinations kubectl would reject too.
func (f *scopeFlags) Scope(configFlags genericclioptions.RESTClientGetter, args []string) (workload.Scope, error) {
	s := workload.Scope{
		AllNamespaces: f.AllNamespaces,
		Selector:      f.Selector,
		Args:          args,
		Filenames:     f.Filenames,
		Recursive:     f.Recursive,
	}
	if f.ImagePaths != "" {
		cat, err := workload.LoadImagePaths(f.ImagePaths)
		if err != nil {
			return s, err
		}
		s.ImagePaths = cat
	}
	if len(f.Filenames) > 0 {
		if len(args) > 0 {
			return s, fmt.Errorf("TYPE/NAME arguments cannot be combined with -f: pick one")
		}
		if f.AllNamespaces {
			return s, fmt.Errorf("-A cannot be combined with -f: manifests are read as they are")
		}
		return s, nil
	}
	if f.Recursive {
		return s, fmt.Errorf("-R only applies to directories given with -f")
	}
	ns, _, err := configFlags.ToRawKubeConfigLoader().Namespace()
	if err != nil {
		return s, fmt.Errorf("reading the namespace from the kubeconfig: %w", err)
	}
	s.Namespace = ns
	return s, nil
}
