package sarif

import (
	"sort"
	"strings"

	"github.com/imgtrust/kubectl-imgtrust/pkg/coverage"
)

// secretRules describe the pull-secret statuses and namespace findings
// that are problems, with their SARIF level.
var secretRules = map[string]struct{ desc, level string }{
	string(coverage.InvalidSecret):        {"A pull secret the workload names is not a valid docker config.", "error"},
	string(coverage.MissingSecret):        {"A pull secret the workload names does not exist.", "error"},
	string(coverage.CredentialRejected):   {"The registry rejected the workload's pull secret.", "error"},
	string(coverage.NoMatchingCredential): {"No pull secret of the workload covers this registry.", "warning"},
	string(coverage.NodeProvided):         {"No pull secret covers the registry, yet pods run its image: a node credential or a cached image.", "note"},
	string(coverage.Unknown):              {"Whether the workload can pull from the registry could not be told.", "note"},
	coverage.FindingUnused:                {"A pull secret no workload uses.", "note"},
	coverage.FindingOtherNamespace:        {"A workload names a pull secret that exists only in another namespace.", "warning"},
	coverage.FindingServiceAccountNo:      {"A service account names a pull secret that does not exist.", "warning"},
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
		run.Tool.Driver.Rules = append(run.Tool.Driver.Rules, Rule{
			ID: id, ShortDescription: Text{desc}, FullDescription: Text{desc}, Help: Text{"Fix: " + used[id]},
			DefaultConfiguration: Config{Level: level},
			Properties:           RuleProperty{Tags: []string{"security", "kubernetes", "pull-secrets"}, Severity: scores[level]},
		})
	}
	return Log{Schema: SchemaURI, Version: Version, Runs: []Run{run}}
}
