package report

import (
	"bytes"
	"testing"

	"github.com/imgtrust/kubectl-imgtrust/pkg/admission"
)

func TestPolicyPreview(t *testing.T) {
	impact := admission.Impact{Workloads: 4, Namespaces: 1, Denied: []admission.Denial{{
		Namespace: "shop", Kind: "Deployment", Name: "web",
		Violations: []admission.Violation{{Rule: admission.RuleRequireDigest, Image: "nginx:1.27"}, {Rule: admission.RuleAllowedRegistries, Image: "nginx:1.27"}},
		Fix:        "kubectl imgtrust pin deployment/web -n shop --mirror-to registry.acme.example --apply",
	}}}
	var buf bytes.Buffer
	if err := PolicyPreview(&buf, &buf, impact, true); err != nil {
		t.Fatal(err)
	}
	want := `would deny 1 of 4 workloads in 1 namespace today:
NAMESPACE   WORKLOAD         RULES                               IMAGES       FIX
shop        deployment/web   require-digest,allowed-registries   nginx:1.27   kubectl imgtrust pin deployment/web -n shop --mirror-to registry.acme.example --apply
`
	if buf.String() != want {
		t.Errorf("got\n%s\nwant\n%s", buf.String(), want)
	}
	buf.Reset()
	if err := PolicyPreview(&buf, &buf, admission.Impact{Workloads: 2, Denied: []admission.Denial{}}, false); err != nil {
		t.Fatal(err)
	}
	if got := buf.String(); got != "would warn about none of 2 workloads today: every image already follows the rules\n" {
		t.Errorf("empty preview: %q", got)
	}
}
