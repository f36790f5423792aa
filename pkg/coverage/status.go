package coverage

import (
	"fmt"
	"strings"
)

// Status is the verdict for one workload and one registry.
type Status string

const (
	Covered              Status = "covered"
	NotNeeded            Status = "not-needed"
	MissingSecret        Status = "missing-secret"
	NoMatchingCredential Status = "no-matching-credential"
	InvalidSecret        Status = "invalid-secret"
	CredentialRejected   Status = "credential-rejected"
	NodeProvided         Status = "node-provided?"
	// RunsOnCachedPull: a pod without a credential runs a private image
	// that another pod's credential pulled onto its node, whose kubelet
	// re-checks credentials (KubeletEnsureSecretPulledImages): its next
	// start there fails.
	RunsOnCachedPull Status = "runs-on-cached-pull"
	// SharesCachedPull: the same, on a kubelet that does not re-check: a
	// pod without access runs a private image.
	SharesCachedPull Status = "shares-cached-pull"
	Unknown          Status = "unknown"
)

// Statuses lists every status, most severe first: a row covering several
// images of one registry takes the most severe of theirs.
var Statuses = []Status{InvalidSecret, MissingSecret, CredentialRejected, RunsOnCachedPull, NoMatchingCredential, SharesCachedPull, NodeProvided, Unknown, NotNeeded, Covered}

func (s Status) rank() int {
	for i, x := range Statuses {
		if x == s {
			return i
		}
	}
	return len(Statuses)
}

// ParseStatuses reads --fail-on values ("missing-secret,invalid-secret").
func ParseStatuses(values []string) (map[Status]bool, error) {
	out := map[Status]bool{}
	for _, v := range values {
		for _, f := range strings.Split(v, ",") {
			f = strings.TrimSpace(f)
			if f == "" {
				continue
			}
			s := Status(f)
			if s.rank() == len(Statuses) {
				names := make([]string, len(Statuses))
				for i, x := range Statuses {
					names[i] = string(x)
				}
				return nil, fmt.Errorf("unknown status %q: use %s", f, strings.Join(names, ", "))
			}
			out[s] = true
		}
	}
	return out, nil
}
