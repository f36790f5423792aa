//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/imgtrust/kubectl-imgtrust/pkg/admission"
)

// policyWorkload is one object of the policy tests, written as a manifest
// so that the very same object is created, previewed and sent again to
// the API server under the policy.
type policyWorkload struct {
	kind, name string
	images     []string
	volume     string // an image volume's reference, if any
}

func (w policyWorkload) manifest(ns, suffix string) map[string]any {
	name := w.name + suffix
	labels := map[string]any{"app": name}
	var containers []any
	for i, img := range w.images {
		containers = append(containers, map[string]any{"name": fmt.Sprintf("c%d", i), "image": img})
	}
	spec := map[string]any{"containers": containers}
	if w.volume != "" {
		spec["volumes"] = []any{map[string]any{"name": "data", "image": map[string]any{"reference": w.volume}}}
	}
	if w.kind == "Job" || w.kind == "CronJob" {
		spec["restartPolicy"] = "Never"
	}
	template := map[string]any{"metadata": map[string]any{"labels": labels}, "spec": spec}
	obj := map[string]any{"kind": w.kind, "metadata": map[string]any{"name": name, "namespace": ns, "labels": labels}}
	switch w.kind {
	case "Pod":
		obj["apiVersion"], obj["spec"] = "v1", spec
	case "PodTemplate":
		obj["apiVersion"], obj["template"] = "v1", template
	case "ReplicationController":
		obj["apiVersion"], obj["spec"] = "v1", map[string]any{"replicas": 0, "selector": labels, "template": template}
	case "Job":
		obj["apiVersion"], obj["spec"] = "batch/v1", map[string]any{"suspend": true, "template": template}
	case "CronJob":
		obj["apiVersion"], obj["spec"] = "batch/v1", map[string]any{"schedule": "0 3 * * *", "suspend": true,
			"jobTemplate": map[string]any{"spec": map[string]any{"template": template}}}
	default: // Deployment, ReplicaSet, StatefulSet, DaemonSet
		s := map[string]any{"selector": map[string]any{"matchLabels": labels}, "template": template}
		if w.kind != "DaemonSet" {
			s["replicas"] = 0
		}
		obj["apiVersion"], obj["spec"] = "apps/v1", s
	}
	return obj
}

// writeManifests writes objects as one List file.
func writeManifests(t *testing.T, objects ...map[string]any) string {
	t.Helper()
	items := make([]any, len(objects))
	for i, o := range objects {
		items[i] = o
	}
	b, err := yaml.Marshal(map[string]any{"apiVersion": "v1", "kind": "List", "items": items})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "objects.yaml")
	writeFile(t, path, string(b))
	return path
}

// deniedByPolicy sends obj to the API server with a server dry run and
// reports whether a ValidatingAdmissionPolicy refused it; any other
// failure fails the test.
func deniedByPolicy(t *testing.T, obj map[string]any) (bool, result) {
	t.Helper()
	r := kubectl(t, "create", "--dry-run=server", "-f", writeManifests(t, obj))
	switch {
	case r.Code == 0:
		return false, r
	case strings.Contains(r.Stderr, "ValidatingAdmissionPolicy"):
		return true, r
	}
	t.Fatalf("dry-run create of %v failed for another reason: %s", obj["metadata"], r)
	return false, r
}

// waitForPolicy waits until the API server enforces the policy: bindings
// reach the admission plugin a moment after they are written.
func waitForPolicy(t *testing.T, probe map[string]any, denied bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		got, r := deniedByPolicy(t, probe)
		if got == denied {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the policy is not in force after 30s (want denied=%v): %s", denied, r)
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// TestPolicy rolls a generated ValidatingAdmissionPolicy out on the real
// kube-apiserver (no webhook) and checks that the preview's verdict for
// every workload is the server's for the same object.
func TestPolicy(t *testing.T) {
	ns := newNamespace(t, "policy")
	app := push(t, stack.Registry+"/"+ns+"/app:1")
	allowed := stack.Registry + "/"
	pinned, tagged := app.Pinned(), app.Ref
	foreignPinned := "ghcr.io/acme/agent@sha256:" + strings.Repeat("ab", 32)
	workloads := []policyWorkload{
		{kind: "Deployment", name: "pinned", images: []string{pinned}},
		{kind: "Deployment", name: "tagged", images: []string{pinned, tagged}},
		{kind: "Deployment", name: "short", images: []string{"nginx:1.27"}},
		{kind: "Deployment", name: "volume", images: []string{pinned}, volume: tagged},
		{kind: "StatefulSet", name: "db", images: []string{pinned}},
		{kind: "DaemonSet", name: "agent", images: []string{foreignPinned}},
		{kind: "ReplicaSet", name: "rs", images: []string{tagged}},
		{kind: "ReplicationController", name: "legacy", images: []string{pinned}},
		{kind: "Job", name: "once", images: []string{tagged}},
		{kind: "CronJob", name: "nightly", images: []string{tagged}},
		{kind: "Pod", name: "bare", images: []string{pinned}},
	}
	var objects []map[string]any
	for _, w := range workloads {
		objects = append(objects, w.manifest(ns, ""))
	}
	mustSucceed(t, kubectl(t, "apply", "-f", writeManifests(t, objects...)), "creating the workloads")
	name := "imgtrust-" + ns
	rules := []string{"-n", ns, "--name", name, "--require-digest", "--allowed-registries", allowed}
	t.Cleanup(func() { kubectl(t, append([]string{"imgtrust", "policy", "--delete"}, "-n", ns, "--name", name)...) })

	// The preview, as a machine reads it.
	r := kubectl(t, append([]string{"imgtrust", "policy", "--preview", "-o", "json"}, rules...)...)
	mustSucceed(t, r, "policy --preview -o json")
	var impact admission.Impact
	if err := json.Unmarshal([]byte(r.Stdout), &impact); err != nil {
		t.Fatalf("preview JSON: %v\n%s", err, r)
	}
	previewDenied := map[string]bool{}
	for _, d := range impact.Denied {
		previewDenied[d.Kind+"/"+d.Name] = true
		if !strings.HasPrefix(d.Fix, "kubectl imgtrust pin ") && !strings.Contains(d.Fix, "kubectl imgtrust pin ") {
			t.Errorf("%s/%s: fix %q runs no pin", d.Kind, d.Name, d.Fix)
		}
	}
	wantDenied := []string{"DaemonSet/agent", "Deployment/short", "Deployment/tagged", "Deployment/volume", "CronJob/nightly", "Job/once", "ReplicaSet/rs"}
	for _, w := range workloads {
		if want := slices.Contains(wantDenied, w.kind+"/"+w.name); previewDenied[w.kind+"/"+w.name] != want {
			t.Errorf("preview: %s/%s denied=%v, want %v", w.kind, w.name, !want, want)
		}
	}
	if impact.Workloads != len(workloads) {
		t.Errorf("preview counted %d workloads, want %d", impact.Workloads, len(workloads))
	}

	// Deny is refused while the preview lists workloads.
	r = kubectl(t, append([]string{"imgtrust", "policy", "--apply", "--actions", "Deny"}, rules...)...)
	if r.Code != 1 || !strings.Contains(r.Stderr, "refusing --actions Deny while 7 workloads would be denied") {
		t.Fatalf("policy --apply --actions Deny with a non-empty preview: want exit 1 and a refusal, got %s", r)
	}
	if got := kubectl(t, "get", "validatingadmissionpolicy", name); got.Code == 0 {
		t.Fatalf("the refused Deny applied the policy all the same: %s", got)
	}

	// Stage 1: Warn,Audit. kubectl apply prints the warning and admits.
	r = kubectl(t, append([]string{"imgtrust", "policy", "--apply", "--actions", "Warn,Audit"}, rules...)...)
	mustSucceed(t, r, "policy --apply --actions Warn,Audit")
	for _, want := range []string{"would warn about 7 of 11 workloads in 1 namespace today (Deny would refuse them):", "validatingadmissionpolicy/" + name + " applied", "validatingadmissionpolicybinding/" + name + " applied"} {
		if !strings.Contains(r.Stderr, want) {
			t.Errorf("policy --apply: want %q on stderr:\n%s", want, r)
		}
	}
	probe := policyWorkload{kind: "Deployment", name: "probe", images: []string{tagged}}.manifest(ns, "")
	deadline := time.Now().Add(30 * time.Second)
	for {
		r = kubectl(t, "apply", "--dry-run=server", "-f", writeManifests(t, probe))
		if r.Code != 0 {
			t.Fatalf("Warn refused the object: %s", r)
		}
		if strings.Contains(r.Stderr, "Warning:") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no warning after 30s: %s", r)
		}
		time.Sleep(300 * time.Millisecond)
	}
	if !strings.Contains(r.Stderr, "imgtrust require-digest: "+tagged+" not pinned to a digest") {
		t.Errorf("the warning names neither the rule nor the image:\n%s", r.Stderr)
	}

	// Stage 2: Deny (forced past the preview), then agreement: the same
	// objects under new names, each refused exactly when the preview said.
	r = kubectl(t, append([]string{"imgtrust", "policy", "--apply", "--actions", "Deny", "--force"}, rules...)...)
	mustSucceed(t, r, "policy --apply --actions Deny --force")
	waitForPolicy(t, probe, true)
	for _, w := range workloads {
		denied, r := deniedByPolicy(t, w.manifest(ns, "-again"))
		if denied != previewDenied[w.kind+"/"+w.name] {
			t.Errorf("%s/%s: the preview says denied=%v, the API server %v: %s", w.kind, w.name, previewDenied[w.kind+"/"+w.name], denied, r)
		}
	}
	// PodTemplates are not workloads the audit lists, but they hold pod specs.
	if denied, r := deniedByPolicy(t, policyWorkload{kind: "PodTemplate", name: "tmpl", images: []string{tagged}}.manifest(ns, "")); !denied {
		t.Errorf("a PodTemplate with an unpinned image was admitted: %s", r)
	}

	// What users type.
	r = kubectl(t, "create", "deployment", "web", "-n", ns, "--image", tagged)
	if r.Code == 0 || !strings.Contains(r.Stderr, "imgtrust require-digest: "+tagged) || !strings.Contains(r.Stderr, "kubectl imgtrust pin -f FILE --write") {
		t.Errorf("kubectl create deployment with a tag: want a refusal naming the image and the fix, got %s", r)
	}
	r = kubectl(t, "create", "deployment", "web", "-n", ns, "--image", "nginx:1.27@sha256:"+strings.Repeat("cd", 32))
	if r.Code == 0 || !strings.Contains(r.Stderr, "imgtrust allowed-registries: nginx:1.27@sha256:") || !strings.Contains(r.Stderr, "--mirror-to "+stack.Registry) {
		t.Errorf("a pinned short name: want the registry rule's refusal with its mirror fix, got %s", r)
	}
	mustSucceed(t, kubectl(t, "create", "deployment", "web", "-n", ns, "--image", pinned), "kubectl create deployment with a pinned image of the allowed registry")
	r = kubectl(t, "create", "cronjob", "report", "-n", ns, "--image", tagged, "--schedule", "0 3 * * *")
	if r.Code == 0 || !strings.Contains(r.Stderr, "imgtrust require-digest") {
		t.Errorf("kubectl create cronjob with a tag: want refused, got %s", r)
	}
	r = kubectl(t, "debug", "pod/bare", "-n", ns, "--image", tagged, "--container", "dbg")
	if r.Code == 0 || !strings.Contains(r.Stderr, "imgtrust require-digest") {
		t.Errorf("kubectl debug with an unpinned image: want refused (pods/ephemeralcontainers), got %s", r)
	}
	// An update that keeps the images passes: nothing running becomes
	// un-updatable; one that changes them is checked.
	mustSucceed(t, kubectl(t, "label", "deployment/tagged", "-n", ns, "tier=web"), "labelling a workload whose images break the rules")
	r = kubectl(t, "set", "image", "deployment/pinned", "-n", ns, "c0="+tagged)
	if r.Code == 0 || !strings.Contains(r.Stderr, "imgtrust require-digest") {
		t.Errorf("kubectl set image to a tag: want refused, got %s", r)
	}

	// --delete removes what it made.
	r = kubectl(t, "imgtrust", "policy", "--delete", "-n", ns, "--name", name)
	mustSucceed(t, r, "policy --delete")
	if !strings.Contains(r.Stderr, "validatingadmissionpolicybinding/"+name+" deleted") || !strings.Contains(r.Stderr, "validatingadmissionpolicy/"+name+" deleted") {
		t.Errorf("policy --delete: %s", r)
	}
	waitForPolicy(t, probe, false)
}

// TestPolicyBadInput: one line, exit 2, nothing applied.
func TestPolicyBadInput(t *testing.T) {
	ns := newNamespace(t, "policy-bad")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--allowed-registries", "acme/"}, `--allowed-registries entry "acme/" does not start with a registry host`},
		{[]string{"--require-digest", "-n", "no-such-" + ns}, `namespace "no-such-` + ns + `" does not exist`},
		{[]string{"--require-digest", "--actions", "Block"}, `--actions "Block" is not an action`},
		{[]string{"-n", ns}, "no rule asked for"},
	} {
		args := append([]string{"imgtrust", "policy", "--apply", "--name", "imgtrust-bad-" + ns}, tc.args...)
		r := kubectl(t, args...)
		lines := strings.Split(strings.TrimSpace(r.Stderr), "\n")
		if r.Code != 2 || len(lines) != 1 || !strings.Contains(r.Stderr, tc.want) {
			t.Errorf("%v: want exit 2 and one line with %q, got %s", tc.args, tc.want, r)
		}
	}
	if r := kubectl(t, "get", "validatingadmissionpolicy", "imgtrust-bad-"+ns); r.Code == 0 {
		t.Errorf("bad input applied a policy: %s", r)
	}
}

// A policy of the same name applied by someone else (another field
// manager, other values) is not taken over without --force.
func TestPolicyOwnedByAnotherManager(t *testing.T) {
	ns := newNamespace(t, "policy-owned")
	name := "imgtrust-owned-" + ns
	t.Cleanup(func() {
		kubectl(t, "delete", "validatingadmissionpolicy,validatingadmissionpolicybinding", name, "--ignore-not-found")
	})
	theirs := map[string]any{
		"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicy",
		"metadata": map[string]any{"name": name},
		"spec": map[string]any{
			"failurePolicy":    "Ignore",
			"matchConstraints": map[string]any{"resourceRules": []any{map[string]any{"apiGroups": []any{""}, "apiVersions": []any{"v1"}, "operations": []any{"CREATE"}, "resources": []any{"configmaps"}}}},
			"validations":      []any{map[string]any{"expression": "true"}},
		},
	}
	mustSucceed(t, kubectl(t, "apply", "--server-side", "--field-manager", "platform-team", "-f", writeManifests(t, theirs)), "the other team's policy")
	args := []string{"imgtrust", "policy", "-n", ns, "--name", name, "--require-digest", "--apply"}
	r := kubectl(t, args...)
	if r.Code != 2 || !strings.Contains(r.Stderr, "validatingadmissionpolicy/"+name+" has fields another manager owns") {
		t.Fatalf("applying over another manager's policy: want exit 2 and a refusal, got %s", r)
	}
	if got := kubectl(t, "get", "validatingadmissionpolicy", name, "-o", "jsonpath={.spec.failurePolicy}"); got.Stdout != "Ignore" {
		t.Errorf("the refused apply changed their policy: failurePolicy %q", got.Stdout)
	}
	mustSucceed(t, kubectl(t, append(args, "--force")...), "policy --apply --force")
	if got := kubectl(t, "get", "validatingadmissionpolicy", name, "-o", "jsonpath={.spec.failurePolicy}"); got.Stdout != "Fail" {
		t.Errorf("--force did not take the policy over: failurePolicy %q", got.Stdout)
	}
}
