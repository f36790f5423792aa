//go:build e2e

package e2e

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/imgtrust/kubectl-imgtrust/test/fixture"
)

// shippedRole creates the ClusterRole of deploy/rbac/FILE under a name
// unique to the test (ClusterRoles are cluster-wide; its rules are exactly
// what ships), optionally edited, and deletes it afterwards.
func shippedRole(t *testing.T, file string, edit func(*rbacv1.ClusterRole)) string {
	t.Helper()
	role, err := fixture.LoadClusterRole(filepath.Join(repoRoot, "deploy", "rbac", file))
	if err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		edit(role)
	}
	role.Name += "-" + randomSuffix()
	if _, err := kube.RbacV1().ClusterRoles().Create(testContext(t), role, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = kube.RbacV1().ClusterRoles().Delete(context.Background(), role.Name, metav1.DeleteOptions{})
	})
	return role.Name
}

// asServiceAccount returns a kubeconfig for a new service account in ns
// bound to role: cluster-wide, or in bindNS only.
func asServiceAccount(t *testing.T, ns, user, role, bindNS string) string {
	t.Helper()
	ctx := testContext(t)
	kubeconfig, err := stack.ServiceAccountKubeconfig(ctx, kube, ns, user, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	cleanup, err := fixture.BindClusterRole(ctx, kube, role, ns, user, bindNS)
	t.Cleanup(cleanup)
	if err != nil {
		t.Fatal(err)
	}
	return kubeconfig
}

// dropVerb removes verb from the rule that grants it on resource.
func dropVerb(resource, verb string) func(*rbacv1.ClusterRole) {
	return func(r *rbacv1.ClusterRole) {
		for i, rule := range r.Rules {
			if slices.Contains(rule.Resources, resource) && slices.Contains(rule.Verbs, verb) {
				// Split the rule so only this resource loses the verb.
				rest := slices.DeleteFunc(slices.Clone(rule.Resources), func(s string) bool { return s == resource })
				r.Rules[i].Resources = rest
				if verbs := slices.DeleteFunc(slices.Clone(rule.Verbs), func(s string) bool { return s == verb }); len(verbs) > 0 {
					r.Rules = append(r.Rules, rbacv1.PolicyRule{APIGroups: rule.APIGroups, Resources: []string{resource}, Verbs: verbs})
				}
				if len(rest) == 0 {
					r.Rules = slices.Delete(r.Rules, i, i+1)
				}
				return
			}
		}
	}
}

// rbacWorkloads fills ns with every kind the commands read: a private
// image behind a pull secret, given to the pods by their service account.
func rbacWorkloads(t *testing.T, ns string) {
	t.Helper()
	ctx := testContext(t)
	img := push(t, stack.Registry+"/"+ns+"/app:1")
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	_, err := kube.CoreV1().Secrets(ns).Create(ctx, fixture.PullSecret(ns, "regcred", stack.Registry, stack.RegistryUser, stack.RegistryPassword), metav1.CreateOptions{})
	must(err)
	_, err = kube.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "app"},
		ImagePullSecrets: []corev1.LocalObjectReference{{Name: "regcred"}}}, metav1.CreateOptions{})
	must(err)
	spec := func(name string) corev1.PodSpec {
		s := fixture.PodSpec(nil, fixture.Container(name, img.Ref, ""))
		s.ServiceAccountName = "app"
		return s
	}
	w := fixture.Workloads{CS: kube, NS: ns}
	must(w.Deployment(ctx, "web", 1, spec("web")))
	must(w.StatefulSet(ctx, "db", 1, spec("db")))
	must(w.DaemonSet(ctx, "agent", spec("agent")))
	must(w.CronJob(ctx, "nightly", spec("nightly")))
	must(w.Job(ctx, "once", spec("once")))
	must(w.ReplicationController(ctx, "legacy", 1, spec("legacy")))
	// The bare pod is on a node, whose platform audit --provenance reads.
	node := "node-" + ns
	must(fixture.CreateNode(ctx, kube, node, "linux", "amd64"))
	t.Cleanup(func() { _ = kube.CoreV1().Nodes().Delete(context.Background(), node, metav1.DeleteOptions{}) })
	bare := spec("bare")
	bare.NodeName = node
	_, err = w.Pod(ctx, "bare", bare)
	must(err)
	pods, err := fixture.WaitForPods(ctx, kube, ns, "app=web", 1)
	must(err)
	must(fixture.SetRunning(ctx, kube, &pods[0], map[string]string{"web": img.Repo() + "@" + img.Digest}))
}

// noForbidden fails unless the run succeeded (0, or 1 for findings) without
// a word about what RBAC hid.
func noForbidden(t *testing.T, r result, what string) {
	t.Helper()
	if r.Code != 0 && r.Code != 1 {
		t.Errorf("%s: want exit 0 or 1, got %s", what, r)
	}
	if low := strings.ToLower(r.Stderr); strings.Contains(low, "forbidden") || strings.Contains(low, "cannot list") || strings.Contains(low, "cannot get") {
		t.Errorf("%s: the shipped role lacks something (stderr mentions it):\n%s", what, r)
	}
}

// Every command, run as a service account bound to exactly the ClusterRoles
// of deploy/rbac, reads all it needs.
func TestShippedRBAC(t *testing.T) {
	ns := newNamespace(t, "rbac-shipped")
	rbacWorkloads(t, ns)
	readonly := asServiceAccount(t, ns, "viewer", shippedRole(t, "imgtrust-readonly.yaml", nil), "")
	pinner := asServiceAccount(t, ns, "pinner", shippedRole(t, "imgtrust-pin.yaml", nil), ns)
	kc := func(kubeconfig string, args ...string) result {
		return kubectl(t, append(append([]string{"imgtrust"}, args...), "--kubeconfig", kubeconfig)...)
	}

	for _, tc := range []struct {
		name string
		args []string
		want string // on stdout: proof it read the namespace
	}{
		{"audit -A", []string{"audit", "-A"}, "statefulset/db"},
		{"audit -n", []string{"audit", "-n", ns}, "daemonset/agent"},
		{"audit --provenance", []string{"audit", "-n", ns, "--provenance", "pod/bare"}, "pod/bare"},
		{"resolve TYPE/NAME", []string{"resolve", "deploy/web", "-n", ns}, "/app:1"},
		{"secrets -n", []string{"secrets", "-n", ns}, "covered"},
		{"secrets -A", []string{"secrets", "-A"}, "replicationcontroller/legacy"},
		{"pin (plan)", []string{"pin", "deploy/web", "-n", ns}, `"image":"`},
	} {
		t.Run(tc.name+" as imgtrust-readonly", func(t *testing.T) {
			r := kc(readonly, tc.args...)
			noForbidden(t, r, tc.name)
			if !strings.Contains(r.Stdout, tc.want) {
				t.Errorf("%s: want %q on stdout:\n%s", tc.name, tc.want, r)
			}
		})
	}

	t.Run("pin --apply needs imgtrust-pin", func(t *testing.T) {
		// The read-only role really is read-only: the patch is refused.
		r := kc(readonly, "pin", "deploy/web", "-n", ns, "--apply")
		if r.Code != 1 || !strings.Contains(r.Stderr, "forbidden") {
			t.Errorf("pin --apply as imgtrust-readonly: want exit 1 and a forbidden patch, got %s", r)
		}
		r = kc(pinner, "pin", "deploy/web", "-n", ns, "--apply")
		noForbidden(t, r, "pin --apply as imgtrust-pin")
		d, err := kube.AppsV1().Deployments(ns).Get(testContext(t), "web", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if img := d.Spec.Template.Spec.Containers[0].Image; !strings.Contains(img, "@sha256:") {
			t.Errorf("pin --apply as imgtrust-pin left %s unpinned: %s", img, r)
		}
		r = kc(pinner, "pin", "--all", "-n", ns, "--source=registry", "--apply")
		noForbidden(t, r, "pin --all --source=registry --apply as imgtrust-pin")
	})

	t.Run("policy --apply needs imgtrust-policy", func(t *testing.T) {
		name := "imgtrust-rbac-" + ns
		args := []string{"policy", "-n", ns, "--name", name, "--require-digest", "--apply", "--actions", "Warn,Audit"}
		t.Cleanup(func() { kubectl(t, "imgtrust", "policy", "--delete", "-n", ns, "--name", name) })
		r := kc(readonly, args...)
		if r.Code != 2 || !strings.Contains(r.Stderr, "forbidden: applying validatingadmissionpolicy/"+name) {
			t.Errorf("policy --apply as imgtrust-readonly: want exit 2 and a forbidden apply, got %s", r)
		}
		policymaker := asServiceAccount(t, ns, "policymaker", shippedRole(t, "imgtrust-readonly.yaml", nil), "")
		cleanup, err := fixture.BindClusterRole(testContext(t), kube, shippedRole(t, "imgtrust-policy.yaml", nil), ns, "policymaker", "")
		t.Cleanup(cleanup)
		if err != nil {
			t.Fatal(err)
		}
		r = kc(policymaker, args...)
		noForbidden(t, r, "policy --apply as imgtrust-readonly + imgtrust-policy")
		if !strings.Contains(r.Stderr, "validatingadmissionpolicybinding/"+name+" applied") {
			t.Errorf("policy --apply as imgtrust-policy applied nothing: %s", r)
		}
		r = kc(policymaker, "policy", "--delete", "-n", ns, "--name", name)
		noForbidden(t, r, "policy --delete as imgtrust-policy")
		if !strings.Contains(r.Stderr, "validatingadmissionpolicy/"+name+" deleted") {
			t.Errorf("policy --delete as imgtrust-policy deleted nothing: %s", r)
		}
	})
}

// One verb less in the shipped read-only role: the command names what it
// could not read, and still prints the rest.
func TestShippedRBACOneVerbLess(t *testing.T) {
	ns := newNamespace(t, "rbac-less")
	rbacWorkloads(t, ns)

	t.Run("no list on statefulsets", func(t *testing.T) {
		kubeconfig := asServiceAccount(t, ns, "no-sts", shippedRole(t, "imgtrust-readonly.yaml", dropVerb("statefulsets", "list")), "")
		for _, args := range [][]string{{"audit", "-n", ns}, {"audit", "-A"}, {"secrets", "-n", ns}} {
			r := kubectl(t, append(append([]string{"imgtrust"}, args...), "--kubeconfig", kubeconfig)...)
			if r.Code != 0 && r.Code != 1 {
				t.Errorf("%v: want the rest reported (exit 0 or 1), got %s", args, r)
			}
			if !warned(r.Stderr, "statefulsets.apps", "forbidden") {
				t.Errorf("%v: want a warning naming statefulsets.apps as forbidden:\n%s", args, r)
			}
			if !strings.Contains(r.Stdout, "deployment/web") || strings.Contains(r.Stdout, "statefulset/db") {
				t.Errorf("%v: want deployment/web reported and no statefulset/db:\n%s", args, r)
			}
		}
	})

	t.Run("no get on nodes", func(t *testing.T) {
		kubeconfig := asServiceAccount(t, ns, "no-nodes", shippedRole(t, "imgtrust-readonly.yaml", dropVerb("nodes", "get")), "")
		r := kubectl(t, "imgtrust", "audit", "-n", ns, "--provenance", "pod/bare", "--kubeconfig", kubeconfig)
		if r.Code != 0 && r.Code != 1 {
			t.Errorf("want the audit reported (exit 0 or 1), got %s", r)
		}
		if !warned(r.Stderr, "node-"+ns, "forbidden", "--platform") {
			t.Errorf("want a warning naming the node as forbidden and --platform as the way out:\n%s", r)
		}
		if !strings.Contains(r.Stdout, "pod/bare") {
			t.Errorf("want the pod still reported:\n%s", r)
		}
	})

	t.Run("no list on secrets", func(t *testing.T) {
		kubeconfig := asServiceAccount(t, ns, "no-secrets", shippedRole(t, "imgtrust-readonly.yaml", dropVerb("secrets", "list")), "")
		for _, args := range [][]string{{"secrets", "-n", ns}, {"audit", "-n", ns}, {"resolve", "deploy/web", "-n", ns}} {
			r := kubectl(t, append(append([]string{"imgtrust"}, args...), "--kubeconfig", kubeconfig)...)
			if r.Code != 0 && r.Code != 1 {
				t.Errorf("%v: want the rest reported (exit 0 or 1), got %s", args, r)
			}
			if !warned(r.Stderr, "secrets", "forbidden") {
				t.Errorf("%v: want a warning naming secrets as forbidden:\n%s", args, r)
			}
			if !strings.Contains(r.Stdout, "/app:1") && !strings.Contains(r.Stdout, "deployment/web") {
				t.Errorf("%v: want the workloads still printed:\n%s", args, r)
			}
		}
	})
}

// warned reports whether one warning line on stderr names all of words.
func warned(stderr string, words ...string) bool {
	for _, line := range strings.Split(stderr, "\n") {
		if !strings.HasPrefix(line, "warning:") {
			continue
		}
		all := true
		for _, w := range words {
			all = all && strings.Contains(line, w)
		}
		if all {
			return true
		}
	}
	return false
}
