package audit

import (
	"github.com/imgtrust/kubectl-imgtrust/pkg/imageref"
	"github.com/imgtrust/kubectl-imgtrust/pkg/provenance"
	"github.com/imgtrust/kubectl-imgtrust/pkg/signature"
	"github.com/imgtrust/kubectl-imgtrust/pkg/vulns"
	"github.com/imgtrust/kubectl-imgtrust/pkg/workload"
)

// Item is one image usage of one workload, the unit of the report. Its JSON
// field names are a contract (AuditReport, apiVersion imgtrust.dev/v1alpha1).
type Item struct {
	// Context is the kubeconfig context the item was found in (audit
	// --contexts, --all-contexts); empty for one cluster.
	Context       string                 `json:"context,omitempty"`
	Namespace     string                 `json:"namespace"`
	Kind          string                 `json:"kind"`
	Name          string                 `json:"name"`
	Container     string                 `json:"container"`
	ContainerType workload.ContainerType `json:"containerType"`
	// Image is the reference as written in the spec.
	Image string `json:"image"`
	// Reference holds the normalised parts (go-containerregistry's names:
	// "index.docker.io", "library/nginx"); nil when the image does not parse.
	Reference *Reference       `json:"reference,omitempty"`
	Pinning   imageref.Pinning `json:"pinning"`
	// PullPolicy as written; empty means the API default.
	PullPolicy string `json:"pullPolicy,omitempty"`
	Pods       int    `json:"pods"`
	// RunningDigests are the manifest digests the pods run (from imageIDs).
	RunningDigests []string `json:"runningDigests"`
	// RunningImageIDs are bare config digests some runtimes report instead;
	// they cannot be compared with manifest digests.
	RunningImageIDs []string `json:"runningImageIDs,omitempty"`
	// ResolvedDigest is what the tag resolves to now (registry mode only).
	ResolvedDigest string `json:"resolvedDigest,omitempty"`
	// CredentialSource says which credential the registry accepted:
	// "pod-secret NS/NAME", "service-account-secret NS/NAME",
	// "local-docker-config" or "anonymous".
	CredentialSource string `json:"credentialSource,omitempty"`
	// Signature is what the signature check found for the digest that
	// runs (audit --signatures); nil when not asked.
	Signature *signature.Result `json:"signature,omitempty"`
	// Provenance is where the running digest came from (audit
	// --provenance or --max-age); nil when not asked.
	Provenance *provenance.Provenance `json:"provenance,omitempty"`
	// Updates are newer releases of the tag in its repository (audit
	// --updates); nil when not asked or the image has no tag.
	Updates *provenance.Updates `json:"updates,omitempty"`
	// Vulnerabilities are what scanners reported of the digest that runs
	// (audit --vulnerabilities); nil when not asked.
	Vulnerabilities *vulns.Result `json:"vulnerabilities,omitempty"`
	// ControlledBy names the workload's controller when it is an
	// operator's kind ("prometheus.monitoring.coreos.com/k8s"): it writes
	// the workload's spec, so the image is pinned there.
	ControlledBy string `json:"controlledBy,omitempty"`
	// Source is where the image is written, for manifests read with -f.
	Source   *SourceLocation `json:"source,omitempty"`
	Findings []Finding       `json:"findings"`

	ref    imageref.Reference
	parsed bool
	usage  workload.Usage
	object workload.Object
	// podSecrets are the distinct imagePullSecrets of the running pods of
	// a controller (workload.Workload.PodPullSecrets).
	podSecrets [][]string
	nodes      []string
}

// Nodes are the nodes the workload's pods are scheduled on.
func (it *Item) Nodes() []string { return it.nodes }

// RunningPodSecrets lists the distinct imagePullSecrets the workload's
// running pods were created with; empty for a bare Pod.
func (it *Item) RunningPodSecrets() [][]string { return it.podSecrets }

// Reference is an image reference's normalised parts.
type Reference struct {
	Registry   string `json:"registry"`
	Repository string `json:"repository"`
	Tag        string `json:"tag,omitempty"`
	Digest     string `json:"digest,omitempty"`
}

// SourceLocation is a position in a manifest file: 1-based line and
// column as editors show them (columns in UTF-16 code units).
type SourceLocation struct {
	File   string `json:"file"`
	Line   int    `json:"line,omitempty"`
	Column int    `json:"column,omitempty"`
}

// MaxSeverity is the worst severity among the item's findings.
func (it *Item) MaxSeverity() Severity {
	worst := SeverityNone
	for _, f := range it.Findings {
		if f.Severity.Rank() > worst.Rank() {
			worst = f.Severity
		}
	}
	return worst
}

// ParsedReference returns the parsed image and whether it parsed.
func (it *Item) ParsedReference() (imageref.Reference, bool) { return it.ref, it.parsed }

// Usage is the container usage the item was built from.
func (it *Item) Usage() workload.Usage { return it.usage }

// Object is the workload the item belongs to (its pod spec names the pull
// secrets and service account the registry is asked with).
func (it *Item) Object() workload.Object { return it.object }

// objectRef is kind/name as the fix commands write it (workload.Object.Ref).
func (it *Item) objectRef() string { return it.object.Ref() }

// ObjectRef names the item's workload as kubectl takes it: "deployment/web",
// "services.serving.knative.dev/hello".
func (it *Item) ObjectRef() string { return it.objectRef() }
