package coverage

// Report is the SecretsReport of `kubectl imgtrust secrets -o json|yaml`.
type Report struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	// Verified is true when registries were asked (--verify).
	Verified bool  `json:"verified"`
	Items    []Row `json:"items"`
	// NamespaceFindings are problems of a namespace rather than a workload.
	NamespaceFindings []Finding `json:"namespaceFindings"`
	Warnings          []string  `json:"warnings,omitempty"`
}

// Row is one workload and one registry it pulls from.
type Row struct {
	// Context is the kubeconfig context (secrets --contexts); empty for
	// one cluster.
	Context   string `json:"context,omitempty"`
	Namespace string `json:"namespace"`
	Kind      string `json:"kind"`
	Name      string `json:"name"`
	Registry  string `json:"registry"`
	Status    Status `json:"status"`
	// Secrets are those the status is about: the matching ones for covered
	// and credential-rejected, the missing or invalid ones for those
	// statuses, the ones the workload has otherwise.
	Secrets []SecretRef `json:"secrets"`
	Detail  string      `json:"detail"`
}

// SecretRef names a pull secret and how the workload gets it.
type SecretRef struct {
	Name string `json:"name"`
	// Source is "pod-secret" (the pod spec's imagePullSecrets) or
	// "service-account-secret" (its service account's).
	Source string `json:"source"`
}

// Finding types.
const (
	FindingUnused           = "unused-secret"
	FindingOtherNamespace   = "secret-in-other-namespace"
	FindingServiceAccountNo = "service-account-missing-secret"
)

// Finding is a namespace-level problem. Object is "secret/NAME" or
// "serviceaccount/NAME"; Fix is a command or an instruction.
type Finding struct {
	Context   string `json:"context,omitempty"`
	Namespace string `json:"namespace"`
	Type      string `json:"type"`
	Object    string `json:"object"`
	Detail    string `json:"detail"`
	Fix       string `json:"fix"`
}

// NewReport wraps a Result as a versioned report object.
func NewReport(apiVersion string, r Result, verified bool) Report {
	rep := Report{APIVersion: apiVersion, Kind: "SecretsReport", Verified: verified, Items: r.Rows, NamespaceFindings: r.Findings, Warnings: r.Warnings}
	if rep.Items == nil {
		rep.Items = []Row{}
	}
	if rep.NamespaceFindings == nil {
		rep.NamespaceFindings = []Finding{}
	}
	return rep
}

// Has reports whether a row has one of the statuses.
func (r Report) Has(statuses map[Status]bool) bool {
	for _, it := range r.Items {
		if statuses[it.Status] {
			return true
		}
	}
	return false
}
