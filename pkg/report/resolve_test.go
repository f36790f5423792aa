package report

import (
	"bytes"
	"strings"
	"testing"

	"github.com/imgtrust/kubectl-imgtrust/pkg/registry"
)

func TestResolveTable(t *testing.T) {
	results := []registry.Result{
		{Image: "reg.example.com/app:1", Digest: digestA, CredentialSource: "pod-secret shop/regcred"},
		{Image: "reg.example.com/gone:1", Err: &registry.Error{Reason: registry.ReasonNotFound, Message: "manifest\n unknown"}},
	}
	var b bytes.Buffer
	if err := ResolveTable(&b, results, false); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != 3 || strings.Join(strings.Fields(lines[0]), " ") != "IMAGE DIGEST SOURCE" {
		t.Fatalf("table:\n%s", b.String())
	}
	if f := strings.Fields(lines[1]); len(f) != 4 || f[1] != digestA || f[2]+" "+f[3] != "pod-secret shop/regcred" {
		t.Errorf("success row: %q", lines[1])
	}
	if !strings.Contains(lines[2], "error: not-found") || !strings.Contains(lines[2], "manifest unknown") {
		t.Errorf("failure row should give the reason and a one-line message: %q", lines[2])
	}
	b.Reset()
	if err := ResolveTable(&b, results, true); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(b.String(), "IMAGE") || !strings.Contains(b.String(), "PLATFORM DIGEST") {
		t.Errorf("platform columns missing:\n%s", b.String())
	}
}
