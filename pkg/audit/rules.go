package audit

import (
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/imgtrust/kubectl-imgtrust/pkg/imageref"
	"github.com/imgtrust/kubectl-imgtrust/pkg/workload"
)

// Options tune the rules.
type Options struct {
	// AllowedRegistries, when non-empty, turns on disallowed-registry.
	AllowedRegistries []AllowedRegistry
	// FromFiles says the workloads come from manifests (-f): fixes then
	// point at the files rather than the live objects.
	FromFiles bool
}

// Evaluate builds one item per image usage and applies every rule that needs
// no registry. Items come in the workloads' order (namespace, kind, name),
// then container order.
func Evaluate(workloads []workload.Workload, opts Options) []Item {
	var items []Item
	// Clusters reuse a few hundred references across thousands of
	// containers, and parsing is the costly part: parse each string once.
	parsed := parseCache{}
	for _, w := range workloads {
		for _, u := range w.Containers {
			items = append(items, evaluate(w, u, opts, parsed))
		}
	}
	return items
}

type parseResult struct {
	ref imageref.Reference
	err error
}

type parseCache map[string]parseResult

func (c parseCache) parse(image string) (imageref.Reference, error) {
	r, ok := c[image]
	if !ok {
		r.ref, r.err = imageref.Parse(image)
		c[image] = r
	}
	return r.ref, r.err
}

func evaluate(w workload.Workload, u workload.Usage, opts Options, parsed parseCache) Item {
	it := Item{
		Namespace:       w.Namespace,
		Kind:            w.Kind,
		Name:            w.Name,
		Container:       u.Name,
		ContainerType:   u.Type,
		Image:           u.Image,
		PullPolicy:      string(u.PullPolicy),
		Pods:            w.Pods,
		RunningDigests:  nonNil(u.Digests(imageref.KindManifest)),
		RunningImageIDs: u.Digests(imageref.KindConfig),
		usage:           u,
		object:          w.Object,
		podSecrets:      w.PodPullSecrets,
		nodes:           w.Nodes,
	}
	if owner, ok := w.OperatorOwner(); ok {
		it.ControlledBy = owner.Ref()
	}
	if w.Source != "" {
		it.Source = &SourceLocation{File: w.Source, Line: u.Line, Column: u.Column}
	}
	ref, err := parsed.parse(u.Image)
	if err != nil {
		it.Pinning = imageref.PinInvalid
		it.add(newFinding(IDInvalidReference,
			fmt.Sprintf("%q is not a valid image reference: the kubelet fails with InvalidImageName", u.Image),
			invalidReferenceFix(u.Image, w.Source)))
		return it
	}
	it.ref, it.parsed = ref, true
	it.Pinning = ref.Pinning()
	it.Reference = &Reference{Registry: ref.Registry, Repository: ref.Repository, Tag: ref.Tag, Digest: ref.Digest}
	pin := it.pinCommand()

	switch it.Pinning {
	case imageref.PinNone:
		it.add(newFinding(IDImplicitLatest,
			"no tag and no digest: the runtime pulls whatever \"latest\" points at today",
			"pin it to a digest: "+pin))
	case imageref.PinLatest:
		it.add(newFinding(IDLatestTag,
			"tag \"latest\" without a digest: it moves with every push",
			"pin it to a digest: "+pin))
	case imageref.PinTag:
		it.add(newFinding(IDMutableTag,
			fmt.Sprintf("tag %q without a digest: anyone with push rights can move it", ref.Tag),
			"pin it to a digest: "+pin))
	}
	if ref.ImplicitRegistry {
		it.add(newFinding(IDImplicitRegistry,
			"no registry written: Docker Hub ("+ref.Registry+") is assumed",
			"write the registry explicitly: docker.io/"+ref.Repository+tagSuffix(ref)))
	}
	if ref.Digest == "" && effectivePullPolicy(u.PullPolicy, ref) == corev1.PullIfNotPresent {
		// An image volume's field is image.pullPolicy, defaulted the same way.
		field := "imagePullPolicy"
		if u.Type == workload.ImageVolume {
			field = "pullPolicy"
		}
		policy := field + " IfNotPresent with a tag"
		if u.PullPolicy == "" {
			policy = field + " unset, so IfNotPresent for this tag"
		}
		it.add(newFinding(IDPullPolicyStaleRisk,
			policy+": nodes that already hold an image under this tag keep running it",
			"pin it to a digest ("+pin+"), or set "+field+": Always"))
	}
	it.addRunningFindings(indexView{note: offlineNote})
	if len(opts.AllowedRegistries) > 0 && !allowed(opts.AllowedRegistries, ref) {
		written := make([]string, len(opts.AllowedRegistries))
		for i, a := range opts.AllowedRegistries {
			written[i] = a.Written
		}
		it.add(newFinding(IDDisallowedRegistry,
			fmt.Sprintf("registry %s is not in --allowed-registries (%s)", ref.Name(), strings.Join(written, ", ")),
			"mirror the image into an allowed registry and reference it there"))
	}
	return it
}

// pinCommand is the command that fixes a tag-only reference.
func (it *Item) pinCommand() string {
	if it.Source != nil {
		return "kubectl imgtrust pin -f " + shellQuote(it.Source.File) + " --write"
	}
	if it.Kind == "" || it.Name == "" {
		return "kubectl imgtrust pin -f <file> --write"
	}
	if workload.BuiltinCatalog().Immutable(it.object.Group(), it.Kind) {
		return "kubectl imgtrust pin -f <file> --write" // a run cannot change once created
	}
	if owner, ok := it.object.OperatorOwner(); ok {
		// Its controller would revert a patch here: pin where it takes
		// the image from, with a rule for its kind if the catalogue has none.
		cmd := "kubectl imgtrust pin " + owner.Label() + " --source=registry"
		if !workload.BuiltinCatalog().Knows(owner.Group(), owner.Kind) {
			cmd += " --image-paths FILE"
		}
		return cmd
	}
	cmd := "kubectl imgtrust pin " + it.object.Label()
	if it.ContainerType == workload.ImageVolume || it.ContainerType == workload.ResourceImage {
		// Pods report neither an image volume's digest nor a custom
		// resource's under its name.
		cmd += " --source=registry"
	}
	return cmd
}

func (it *Item) add(f Finding) { it.Findings = append(it.Findings, f) }

// effectivePullPolicy applies the API server's defaulting, which manifests
// read with -f have not been through: Always for ":latest" or no tag (and
// no digest), IfNotPresent otherwise. An image volume's pullPolicy is
// defaulted by the same rule (core/v1 ImageVolumeSource).
func effectivePullPolicy(p corev1.PullPolicy, ref imageref.Reference) corev1.PullPolicy {
	if p != "" {
		return p
	}
	if ref.Digest == "" && ref.TagOrLatest() == "latest" {
		return corev1.PullAlways
	}
	return corev1.PullIfNotPresent
}

func allowed(list []AllowedRegistry, ref imageref.Reference) bool {
	for _, a := range list {
		if a.allows(ref) {
			return true
		}
	}
	return false
}

// invalidReferenceFix says how to fix an image that does not parse, with a
// hint for what is not an image yet: a template, or a build tool's
// placeholder.
func invalidReferenceFix(image, source string) string {
	file := "FILE"
	if source != "" && source != "-" {
		file = shellQuote(source)
	}
	switch {
	case strings.HasPrefix(image, "ko://"):
		return "ko:// is a placeholder ko replaces at build time: run ko resolve -f " + file + " and audit its output"
	case strings.Contains(image, "{{"):
		return "the image is templated: render it first (e.g. helm template NAME CHART) and audit the output"
	case strings.Contains(image, "$(") || strings.Contains(image, "${"):
		return "the image holds a variable that is substituted later (envsubst, Tekton or Argo parameters): substitute it and audit the result"
	}
	return "correct the image field to registry/repository:tag@sha256:digest"
}

// shellQuote quotes a path for a command the user copies, only when it
// needs it.
func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("/._-+=:,@", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func tagSuffix(ref imageref.Reference) string {
	s := ""
	if ref.Tag != "" {
		s = ":" + ref.Tag
	}
	if ref.Digest != "" {
		s += "@" + ref.Digest
	}
	return s
}

func shortDigests(ds []string) string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = imageref.ShortDigest(d)
	}
	sort.Strings(out)
	return strings.Join(out, ", ")
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
