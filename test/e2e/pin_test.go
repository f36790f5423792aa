//go:build e2e

package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/imgtrust/kubectl-imgtrust/test/fixture"
)

func TestPinLive(t *testing.T) {
	ctx := testContext(t)
	ns := newNamespace(t, "pin")
	pub := stack.PublicRegistry + "/" + ns
	app, initImg := push(t, pub+"/app:1"), push(t, pub+"/init:1")
	mixedA := push(t, pub+"/mixed:1")
	mixedB := push(t, pub+"/mixed:1")
	cronImg := push(t, pub+"/cron:nightly")
	w := fixture.Workloads{CS: kube, NS: ns}
	webSpec := fixture.PodSpec(nil, fixture.Container("web", app.Ref, ""))
	webSpec.InitContainers = []corev1.Container{fixture.Container("setup", initImg.Ref, "")}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(w.Deployment(ctx, "web", 2, webSpec))
	must(w.Deployment(ctx, "mixed", 2, fixture.PodSpec(nil, fixture.Container("mixed", mixedA.Ref, ""))))
	must(w.CronJob(ctx, "nightly", fixture.PodSpec(nil, fixture.Container("job", cronImg.Ref, ""))))
	webPods, err := fixture.WaitForPods(ctx, kube, ns, "app=web", 2)
	must(err)
	for _, p := range webPods {
		must(fixture.SetRunning(ctx, kube, &p, map[string]string{
			"web": "docker-pullable://" + app.Repo() + "@" + app.Digest, "setup": initImg.Repo() + "@" + initImg.Digest,
		}))
	}
	mixedPods, err := fixture.WaitForPods(ctx, kube, ns, "app=mixed", 2)
	must(err)
	for i, p := range mixedPods {
		d := []string{mixedA.Digest, mixedB.Digest}[i]
		must(fixture.SetRunning(ctx, kube, &p, map[string]string{"mixed": mixedA.Repo() + "@" + d}))
	}
	webImages := func() (string, string) {
		d, err := kube.AppsV1().Deployments(ns).Get(ctx, "web", metav1.GetOptions{})
		must(err)
		return d.Spec.Template.Spec.Containers[0].Image, d.Spec.Template.Spec.InitContainers[0].Image
	}

	t.Run("print the patch, change nothing", func(t *testing.T) {
		r := kubectl(t, "imgtrust", "pin", "deploy/web", "-n", ns)
		mustSucceed(t, r, "pin without --apply")
		if !strings.Contains(r.Stdout, `"image":"`+app.Pinned()+`"`) || !strings.Contains(r.Stdout, `"initContainers"`) {
			t.Errorf("want a strategic merge patch pinning both containers:\n%s", r)
		}
		if img, _ := webImages(); img != app.Ref {
			t.Errorf("without --apply the object changed: %s", img)
		}
	})

	t.Run("server dry run persists nothing", func(t *testing.T) {
		r := kubectl(t, "imgtrust", "pin", "deploy/web", "-n", ns, "--dry-run=server")
		mustSucceed(t, r, "pin --dry-run=server")
		if !strings.Contains(r.Stderr, "server dry run") {
			t.Errorf("want the summary to say it was a server dry run:\n%s", r)
		}
		if img, _ := webImages(); img != app.Ref {
			t.Errorf("--dry-run=server changed the object: %s", img)
		}
	})

	t.Run("a stale resourceVersion is a conflict and applies nothing", func(t *testing.T) {
		d, err := kube.AppsV1().Deployments(ns).Get(ctx, "web", metav1.GetOptions{})
		must(err)
		d.Annotations = map[string]string{"touched": "yes"} // moves the resourceVersion on
		stale := d.ResourceVersion
		_, err = kube.AppsV1().Deployments(ns).Update(ctx, d, metav1.UpdateOptions{})
		must(err)
		r := kubectl(t, "imgtrust", "pin", "deploy/web", "-n", ns, "--apply", "--resource-version", stale)
		if r.Code != 1 || !strings.Contains(r.Stderr, "conflict") {
			t.Fatalf("want exit 1 and a conflict, got %s", r)
		}
		if img, _ := webImages(); img != app.Ref {
			t.Errorf("a conflicting patch changed the object: %s", img)
		}
	})

	t.Run("apply from the running digest, init container included", func(t *testing.T) {
		r := kubectl(t, "imgtrust", "pin", "deploy/web", "-n", ns, "--apply")
		mustSucceed(t, r, "pin --apply")
		if !strings.Contains(r.Stderr, "starts a rollout") || !strings.Contains(r.Stderr, "(from running)") {
			t.Errorf("want the rollout warning and the digest source:\n%s", r)
		}
		img, initImage := webImages()
		if img != app.Pinned() || initImage != initImg.Pinned() {
			t.Fatalf("after --apply: %s, %s; want %s, %s", img, initImage, app.Pinned(), initImg.Pinned())
		}
		// The Deployment controller rolls out a ReplicaSet with the pinned template.
		err := wait.PollUntilContextTimeout(ctx, 200e6, 60e9, true, func(ctx context.Context) (bool, error) {
			rss, err := kube.AppsV1().ReplicaSets(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=web"})
			if err != nil {
				return false, nil
			}
			for _, rs := range rss.Items {
				if rs.Spec.Template.Spec.Containers[0].Image == app.Pinned() {
					return true, nil
				}
			}
			return false, nil
		})
		if err != nil {
			t.Errorf("no ReplicaSet with the pinned template appeared: %v", err)
		}
		d, err := kube.AppsV1().Deployments(ns).Get(ctx, "web", metav1.GetOptions{})
		must(err)
		managed := false
		for _, m := range d.ManagedFields {
			managed = managed || m.Manager == "kubectl-imgtrust"
		}
		if !managed {
			t.Errorf("want field manager kubectl-imgtrust in managedFields")
		}
		r = kubectl(t, "imgtrust", "pin", "deploy/web", "-n", ns)
		if !strings.Contains(r.Stderr, "already pinned") {
			t.Errorf("a second run should say already pinned:\n%s", r)
		}
	})

	t.Run("refuse mixed running digests", func(t *testing.T) {
		r := kubectl(t, "imgtrust", "pin", "deploy/mixed", "-n", ns, "--apply")
		if r.Code != 1 {
			t.Errorf("a refused container is not pinned as asked: want exit 1, got %s", r)
		}
		if !strings.Contains(r.Stderr, "2 different digests") || !strings.Contains(r.Stderr, "--source=registry") {
			t.Errorf("want the refusal to say why and what to do:\n%s", r)
		}
		d, err := kube.AppsV1().Deployments(ns).Get(ctx, "mixed", metav1.GetOptions{})
		must(err)
		if d.Spec.Template.Spec.Containers[0].Image != mixedA.Ref {
			t.Errorf("a refused pin changed the object: %s", d.Spec.Template.Spec.Containers[0].Image)
		}
	})

	t.Run("a CronJob from the registry", func(t *testing.T) {
		r := kubectl(t, "imgtrust", "pin", "cronjob/nightly", "-n", ns, "--source=registry", "--apply", "--drop-tag")
		mustSucceed(t, r, "pin a CronJob")
		cj, err := kube.BatchV1().CronJobs(ns).Get(ctx, "nightly", metav1.GetOptions{})
		must(err)
		want := cronImg.Repo() + "@" + cronImg.Digest
		if got := cj.Spec.JobTemplate.Spec.Template.Spec.Containers[0].Image; got != want {
			t.Errorf("CronJob image %s, want %s", got, want)
		}
		if !strings.Contains(r.Stderr, "(from registry)") {
			t.Errorf("want the digest source in the summary:\n%s", r)
		}
	})

	t.Run("usage errors", func(t *testing.T) {
		for _, args := range [][]string{
			{"pin", "-n", ns},
			{"pin", "deploy/web", "-n", ns, "--source=tags"},
			{"pin", "deploy/web", "-n", ns, "--write"},
		} {
			if r := kubectl(t, append([]string{"imgtrust"}, args...)...); r.Code != 2 || strings.Count(strings.TrimSpace(r.Stderr), "\n") != 0 {
				t.Errorf("%v: want exit 2 with a one-line error, got %s", args, r)
			}
		}
	})
}

func TestPinManifestFiles(t *testing.T) {
	ns := "pinfiles-" + randomSuffix()
	img := push(t, stack.PublicRegistry+"/"+ns+"/web:2")
	dir := t.TempDir()
	path := filepath.Join(dir, "web.yaml")
	manifest := `# Web tier: keep this comment
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web   # trailing comment
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
        - name: web
          image: "` + img.Ref + `"
---
apiVersion: v1
kind: Service
metadata: {name: web}
`
	if err := os.WriteFile(path, []byte(manifest), 0o644); err != nil {
		t.Fatal(err)
	}
	r := kubectl(t, "imgtrust", "pin", "-f", dir)
	mustSucceed(t, r, "pin -f (diff)")
	if !strings.Contains(r.Stdout, "+          image: \""+img.Pinned()+"\"") {
		t.Errorf("want a unified diff pinning the image:\n%s", r)
	}
	r = kubectl(t, "imgtrust", "pin", "-f", path, "--write")
	mustSucceed(t, r, "pin -f --write")
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if want := strings.Replace(manifest, img.Ref+`"`, img.Pinned()+`"`, 1); string(got) != want {
		t.Errorf("--write must change only the image string:\ngot:\n%s\nwant:\n%s", got, want)
	}

	// Through a symlink, with CRLF line endings and a BOM: the target is
	// rewritten (the link stays), its mode kept, and only the image moves.
	crlf := "\uFEFF" + strings.ReplaceAll(manifest, "\n", "\r\n")
	target := filepath.Join(dir, "real.yaml")
	if err := os.WriteFile(target, []byte(crlf), 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(t.TempDir(), "link.yaml")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	r = kubectl(t, "imgtrust", "pin", "-f", link, "--write")
	mustSucceed(t, r, "pin -f LINK --write")
	got, _ = os.ReadFile(target)
	if want := strings.Replace(crlf, img.Ref+`"`, img.Pinned()+`"`, 1); string(got) != want {
		t.Errorf("pin -f through a symlink: target holds\n%q\nwant\n%q", got, want)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("the symlink was replaced: %v %v", fi, err)
	}
	if fi, _ := os.Stat(target); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600 kept", fi.Mode().Perm())
	}

	// Invalid UTF-8 is said alike by pin and audit, with line and column.
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(bad, []byte("apiVersion: v1\nkind: Pod\nmetadata: {name: \"\xff\"}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, verb := range []string{"pin", "audit"} {
		r = kubectl(t, "imgtrust", verb, "-f", bad)
		if r.Code != 2 || !strings.Contains(r.Stderr, "invalid UTF-8 at line 3, column 19") {
			t.Errorf("%s -f of invalid UTF-8: want exit 2 naming line 3, column 19; got %s", verb, r)
		}
	}
}
