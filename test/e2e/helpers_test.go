//go:build e2e

package e2e

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/imgtrust/kubectl-imgtrust/pkg/audit"
	"github.com/imgtrust/kubectl-imgtrust/test/fixture"
)

// testContext is bounded so a stuck call fails the test instead of the run.
func testContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func randomSuffix() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// newNamespace creates a namespace unique to the test and deletes it afterwards.
func newNamespace(t *testing.T, prefix string) string {
	t.Helper()
	ns := prefix + "-" + randomSuffix()
	if err := fixture.CreateNamespace(testContext(t), kube, ns); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = kube.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{})
	})
	return ns
}

// push writes a random image and fails the test if it cannot.
func push(t *testing.T, ref string) fixture.Pushed {
	t.Helper()
	p, err := stack.PushImage(testContext(t), ref)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// auditJSON runs `kubectl imgtrust audit ARGS -o json` and decodes the report.
func auditJSON(t *testing.T, args ...string) (audit.Report, result) {
	t.Helper()
	r := kubectl(t, append(append([]string{"imgtrust", "audit"}, args...), "-o", "json")...)
	var rep audit.Report
	if r.Code == 0 || r.Code == 1 {
		if err := json.Unmarshal([]byte(r.Stdout), &rep); err != nil {
			t.Fatalf("audit -o json is not an AuditReport: %v\n%s", err, r)
		}
	}
	return rep, r
}

// item finds the report item of one workload's container.
func item(t *testing.T, rep audit.Report, kind, name, container string) audit.Item {
	t.Helper()
	for _, it := range rep.Items {
		if it.Kind == kind && it.Name == name && it.Container == container {
			return it
		}
	}
	var have []string
	for _, it := range rep.Items {
		have = append(have, it.Kind+"/"+it.Name+"/"+it.Container)
	}
	t.Fatalf("no item for %s/%s container %s; have %s", kind, name, container, strings.Join(have, ", "))
	return audit.Item{}
}

func findingIDs(it audit.Item) []string {
	out := make([]string, len(it.Findings))
	for i, f := range it.Findings {
		out[i] = f.ID
	}
	return out
}

// wantFindings checks the item has exactly these finding IDs (any order).
func wantFindings(t *testing.T, it audit.Item, want ...string) {
	t.Helper()
	got := findingIDs(it)
	if len(got) != len(want) {
		t.Errorf("%s/%s %s (%s): findings %v, want %v", it.Kind, it.Name, it.Container, it.Image, got, want)
		return
	}
	for _, w := range want {
		found := false
		for _, g := range got {
			found = found || g == w
		}
		if !found {
			t.Errorf("%s/%s %s (%s): findings %v, want %v", it.Kind, it.Name, it.Container, it.Image, got, want)
			return
		}
	}
}
