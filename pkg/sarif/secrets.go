package sarif

import (
	"sort"
	"strings"

	"github.com/imgtrust/kubectl-imgtrust/pkg/coverage"
)

// secretRules describe the pull-secret statuses and namespace findings
// that are problems, with their SARIF level.
var secretRules = map[string]struct{ desc, level, fix string }{
	string(coverage.InvalidSecret):        {"A pull secret the workload names is not a valid docker config.", "error", "Recreate the secret: kubectl create secret docker-registry NAME --docker-server=REGISTRY ..."},
	string(coverage.MissingSecret):        {"A pull secret the workload names does not exist.", "error", "Create the secret in the workload's namespace, or remove it from imagePullSecrets."},
	string(coverage.CredentialRejected):   {"The registry rejected the workload's pull secret.", "error", "Renew the credential in the secret; kubectl imgtrust secrets --verify checks it."},
	string(coverage.NoMatchingCredential): {"No pull secret of the workload covers this registry.", "warning", "Give the pods a pull secret for the registry (imagePullSecrets on the pod or its service account)."},
	string(coverage.RunsOnCachedPull):     {"A pod without a credential runs a private image another pod's credential pulled onto its node; its kubelet re-checks credentials (KubeletEnsureSecretPulledImages), so the pod's next start there fails.", "error", "Give the pods a pull secret for the registry (imagePullSecrets on the pod or its service account)."},
	string(coverage.SharesCachedPull):     {"A pod without a credential runs a private image another pod's credential pulled onto its node, whose kubelet lets any pod use cached images.", "warning", "Give the pods their own pull secret if they should run the image; turn on KubeletEnsureSecretPulledImages (on by default in 1.35+ kubelets)."},
	string(coverage.NodeProvided):         {"No pull secret covers the registry, yet pods run its image: a node credential or a cached image.", "note", "Give the pods their own pull secret, so a new node or a cache eviction does not break them."},
	string(coverage.Unknown):              {"Whether the workload can pull from the registry could not be told.", "note", "Run again with read access to the namespace's secrets and service accounts."},
	coverage.FindingUnused:                {"A pull secret no workload uses.", "note", "Delete the secret if nothing outside the cluster needs it."},
	coverage.FindingOtherNamespace:        {"A workload names a pull secret that exists only in another namespace.", "warning", "Copy the secret into the workload's namespace: secrets are per namespace."},
	coverage.FindingServiceAccountNo:      {"A service account names a pull secret that does not exist.", "warning", "Create the secret, or remove it from the service account's imagePullSecrets."},
}

// FromSecrets builds the SARIF log of a secrets report: one result per
// row whose status is a problem and per namespace finding.
func FromSecrets(rep coverage.Report, toolVersion string) Log {
	run := Run{Tool: Tool{Driver: Driver{Name: "kubectl-imgtrust", Version: toolVersion, InformationURI: infoURI, Rules: []Rule{}}}, Results: []Result{}}
	used := map[string]string{} // rule → a fix or detail for its help
	for _, row := range rep.Items {
		rule, ok := secretRules[string(row.Status)]
		if !ok {
			continue // covered, not-needed
		}
		fqn := inContext(row.Context, strings.Join([]string{row.Namespace, row.Kind, row.Name}, "/"))
		used[string(row.Status)] = "kubectl imgtrust secrets -n NAMESPACE explains each row; create or fix the pull secret and give it to the pods or their service account"
		run.Results = append(run.Results, Result{
			RuleID: string(row.Status), Level: rule.level,
			Message:             Text{row.Kind + " " + row.Name + " pulling from " + row.Registry + ": " + row.Detail},
			Locations:           []Location{{LogicalLocations: []LogicalLocation{{Name: row.Name, FullyQualifiedName: fqn, Kind: "resource"}}}},
			PartialFingerprints: map[string]string{fingerprintKey: fingerprint(string(row.Status), fqn, row.Registry)},
			Properties:          ResultProperty{Registry: row.Registry},
		})
	}
	for _, f := range rep.NamespaceFindings {
		rule := secretRules[f.Type]
		if rule.level == "" {
			rule.level = "warning"
		}
		fqn := inContext(f.Context, f.Namespace+"/"+f.Object)
		used[f.Type] = f.Fix
		run.Results = append(run.Results, Result{
			RuleID: f.Type, Level: rule.level,
			Message:             Text{f.Detail + ". Fix: " + f.Fix},
			Locations:           []Location{{LogicalLocations: []LogicalLocation{{Name: f.Object, FullyQualifiedName: fqn, Kind: "resource"}}}},
			PartialFingerprints: map[string]string{fingerprintKey: fingerprint(f.Type, fqn)},
		})
	}
	ids := make([]string, 0, len(used))
	for id := range used {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		rule := secretRules[id]
		desc := rule.desc
		if desc == "" {
			desc = id
		}
		level := rule.level
		if level == "" {
			level = "warning"
		}
		help := rule.fix
		if help == "" {
			help = "Fix: " + used[id]
		}
		run.Tool.Driver.Rules = append(run.Tool.Driver.Rules, Rule{
			ID: id, ShortDescription: Text{desc}, FullDescription: Text{desc}, Help: Text{help},
			DefaultConfiguration: Config{Level: level},
			Properties:           RuleProperty{Tags: []string{"security", "kubernetes", "pull-secrets"}, Severity: scores[level]},
		})
	}
	return Log{Schema: SchemaURI, Version: Version, Runs: []Run{run}}
}
