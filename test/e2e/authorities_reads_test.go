//go:build e2e

package e2e

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/imgtrust/kubectl-imgtrust/pkg/signature"
	"github.com/imgtrust/kubectl-imgtrust/test/fixture"
)

// TestClusterAuthoritiesShareReads: policy-controller checks each
// authority of a ClusterImagePolicy in turn, and so does audit
// --trust-policy=cluster; the reads of the image's signatures are shared
// by its authorities, so a policy whose eighth authority signed the image
// costs the registry what a policy of that authority alone costs, and
// verifies within the --max-artifact-requests one authority needs (eight
// reading for themselves would spend it: signature-lookup-failed). Counted
// by a proxy in front of the real registry, signed by the real cosign,
// through the real kubectl.
func TestClusterAuthoritiesShareReads(t *testing.T) {
	ctx := testContext(t)
	const crdName = "clusterimagepolicies.policy.sigstore.dev"
	ns := newNamespace(t, "cipreads")
	dir := t.TempDir()
	ours, oursPub := cosignKeys(t, dir, "ours")
	_, strangerPub := cosignKeys(t, dir, "stranger")
	installEngineCRD(t, filepath.Join(fetchEngineCRDs(t), engineCRDs["policy-controller"].file), crdName)

	px := startBenchProxy(t, stack.PublicRegistry, 0)
	img := push(t, stack.PublicRegistry+"/"+ns+"/app:1")
	if err := stack.CosignSign(ctx, ours, img.Repo()+"@"+img.Digest, false); err != nil {
		t.Fatal(err)
	}
	w := fixture.Workloads{CS: kube, NS: ns}
	if err := w.Deployment(ctx, "web", 0, fixture.PodSpec(nil, fixture.Container("app", px.host+"/"+ns+"/app:1", corev1.PullAlways))); err != nil {
		t.Fatal(err)
	}

	key := func(pub string) map[string]any {
		b, err := os.ReadFile(pub)
		if err != nil {
			t.Fatal(err)
		}
		return map[string]any{"key": map[string]any{"data": string(b)}}
	}
	apply := func(name string, authorities ...map[string]any) {
		t.Helper()
		var auths []any
		for _, a := range authorities {
			auths = append(auths, a)
		}
		b, err := yaml.Marshal(map[string]any{"apiVersion": "policy.sigstore.dev/v1beta1", "kind": "ClusterImagePolicy",
			"metadata": map[string]any{"name": name},
			"spec":     map[string]any{"images": []any{map[string]any{"glob": px.host + "/" + ns + "/**"}}, "authorities": auths}})
		if err != nil {
			t.Fatal(err)
		}
		f := filepath.Join(dir, name+".yaml")
		writeFile(t, f, string(b))
		mustSucceed(t, kubectl(t, "apply", "-f", f), "creating ClusterImagePolicy "+name)
		t.Cleanup(func() { kubectl(t, "delete", "clusterimagepolicy", name, "--ignore-not-found") })
	}
	check := func(what string, budget int) (signature.Result, int) {
		t.Helper()
		px.Snapshot(true)
		args := []string{"-n", ns, "--trust-policy=cluster", "--policy-controller-namespace", ns}
		if budget > 0 {
			args = append(args, "--max-artifact-requests", strconv.Itoa(budget))
		}
		rep, r := auditJSON(t, args...)
		if r.Code != 0 {
			t.Fatalf("%s: audit --trust-policy=cluster: %s", what, r)
		}
		s := px.Snapshot(true)
		t.Logf("%s: %s", what, s.Summary())
		it := item(t, rep, "Deployment", "web", "app")
		if it.Signature == nil {
			t.Fatalf("%s: no signature result", what)
		}
		return *it.Signature, s.Total
	}

	apply("one-"+ns, key(oursPub))
	one, oneReqs := check("one authority", 0)
	if one.Status != signature.StatusVerified {
		t.Fatalf("one authority: %+v, want verified", one)
	}
	kubectl(t, "delete", "clusterimagepolicy", "one-"+ns)

	var eight []map[string]any
	for range 7 {
		eight = append(eight, key(strangerPub))
	}
	apply("eight-"+ns, append(eight, key(oursPub))...)
	// As many reads as one authority's check took (its resolution HEAD and
	// ping included): eight authorities reading for themselves would need
	// eight times its artifact reads.
	got, reqs := check("eight authorities, ours last", oneReqs)
	if got.Status != signature.StatusVerified || got.ReadsSkipped != 0 {
		t.Errorf("eight authorities: %s %q, %d reads skipped; want verified, none skipped", got.Status, got.Error, got.ReadsSkipped)
	}
	if reqs != oneReqs {
		t.Errorf("eight authorities sent %d requests, one sent %d: want the same", reqs, oneReqs)
	}
	wide := kubectl(t, "imgtrust", "audit", "-n", ns, "--trust-policy=cluster", "--policy-controller-namespace", ns,
		"--max-artifact-requests", strconv.Itoa(oneReqs), "-o", "wide")
	if !strings.Contains(wide.Stdout, "clusterimagepolicy/eight-"+ns) {
		t.Errorf("the table does not name the policy:\n%s", wide)
	}
	t.Logf("audit --trust-policy=cluster --max-artifact-requests %d -o wide:\n%s%s", oneReqs, wide.Stdout, wide.Stderr)
}
