package coverage

import (
	"fmt"
	"net/url"
	"path"
	"strings"

	"github.com/imgtrust/kubectl-imgtrust/pkg/imageref"
)

// ValidateNodeCredentialPattern checks a --node-credential-registries
// pattern, written as a kubelet credential provider's matchImages entry:
// a host whose labels may be globs ("*.dkr.ecr.*.amazonaws.com"), an
// optional port and an optional path prefix.
func ValidateNodeCredentialPattern(p string) error {
	host, port, _, err := splitPattern(p)
	if err != nil {
		return err
	}
	for _, label := range strings.Split(host, ".") {
		if label == "" {
			return fmt.Errorf("%q has an empty host label: write it as the credential provider's matchImages, e.g. *.dkr.ecr.*.amazonaws.com", p)
		}
		if _, err := path.Match(label, ""); err != nil {
			return fmt.Errorf("%q: host label %q is not a valid glob", p, label)
		}
	}
	for _, c := range port {
		if c < '0' || c > '9' {
			return fmt.Errorf("%q: port %q is not a number", p, port)
		}
	}
	return nil
}

func splitPattern(p string) (host, port, prefix string, err error) {
	if strings.TrimSpace(p) == "" || strings.Contains(p, "://") {
		return "", "", "", fmt.Errorf("%q is not a registry pattern: write HOST[:PORT][/PATH], e.g. *.dkr.ecr.*.amazonaws.com or registry.example.com/team", p)
	}
	u, err := url.Parse("https://" + p)
	if err != nil || u.Hostname() == "" || u.RawQuery != "" || u.Fragment != "" {
		return "", "", "", fmt.Errorf("%q is not a registry pattern: write HOST[:PORT][/PATH], e.g. *.dkr.ecr.*.amazonaws.com or registry.example.com/team", p)
	}
	return u.Hostname(), u.Port(), strings.Trim(u.Path, "/"), nil
}

// matchesPattern applies the kubelet's matchImages rules: as many host
// labels, each matching its glob; the same port; the path a prefix.
func matchesPattern(p, reg, repo string) bool {
	host, port, prefix, err := splitPattern(p)
	if err != nil {
		return false
	}
	h, err := url.Parse("https://" + reg)
	if err != nil || h.Port() != port {
		return false
	}
	want, got := strings.Split(host, "."), strings.Split(h.Hostname(), ".")
	if len(want) != len(got) {
		return false
	}
	for i := range want {
		if ok, _ := path.Match(want[i], got[i]); !ok {
			return false
		}
	}
	return prefix == "" || repo == prefix || strings.HasPrefix(repo, prefix+"/")
}

// nodeCredential says which node credential provider serves reg/repo: a
// --node-credential-registries pattern, or a cloud registry's (ECR, GCR,
// Artifact Registry, ACR); "" when none.
func nodeCredential(patterns []string, reg, repo string) string {
	for _, p := range patterns {
		if matchesPattern(p, reg, repo) {
			return fmt.Sprintf("--node-credential-registries pattern %s", p)
		}
	}
	if imageref.ProviderServed(reg) {
		return "its cloud's kubelet credential provider"
	}
	return ""
}
