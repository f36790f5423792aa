//go:build e2e

package e2e

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/imgtrust/kubectl-imgtrust/pkg/audit"
	"github.com/imgtrust/kubectl-imgtrust/test/fixture"
)

// auditFixture is one namespace holding a workload of every kind, each
// built to raise a known set of findings.
type auditFixture struct {
	ns        string
	app       fixture.Pushed // private; pods of web run its first digest, the tag then moved
	appMoved  fixture.Pushed
	mixed     [2]fixture.Pushed // public, same tag pushed twice
	pinned    fixture.Pushed
	stale     fixture.Pushed // what db's pod runs instead of the pinned digest
	tool      fixture.Pushed // public :latest
	configID  string
	toolRepo  string
	priv, pub string
}

func newAuditFixture(t *testing.T) *auditFixture {
	t.Helper()
	ctx := testContext(t)
	f := &auditFixture{ns: newNamespace(t, "audit"), priv: stack.Registry, pub: stack.PublicRegistry}
	w := fixture.Workloads{CS: kube, NS: f.ns}
	f.app = push(t, f.priv+"/"+f.ns+"/app:1.0")
	f.mixed[0] = push(t, f.pub+"/"+f.ns+"/mixed:3")
	f.mixed[1] = push(t, f.pub+"/"+f.ns+"/mixed:3")
	f.pinned = push(t, f.pub+"/"+f.ns+"/pinned:2.0")
	f.stale = push(t, f.pub+"/"+f.ns+"/pinned:1.9")
	f.tool = push(t, f.pub+"/"+f.ns+"/tool:latest")
	f.toolRepo = f.tool.Repo()
	f.configID = "sha256:" + strings.Repeat("c0", 32)
	if _, err := kube.CoreV1().Secrets(f.ns).Create(ctx,
		fixture.PullSecret(f.ns, "regcred", f.priv, stack.RegistryUser, stack.RegistryPassword), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	regcred := []string{"regcred"}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(w.Deployment(ctx, "web", 2, fixture.PodSpec(regcred, fixture.Container("web", f.app.Ref, corev1.PullIfNotPresent))))
	must(w.Deployment(ctx, "mixed", 2, fixture.PodSpec(nil, fixture.Container("mixed", f.mixed[0].Ref, corev1.PullAlways))))
	must(w.Deployment(ctx, "scaled", 0, fixture.PodSpec(regcred, fixture.Container("app", f.app.Pinned(), ""))))
	must(w.StatefulSet(ctx, "db", 1, fixture.PodSpec(nil, fixture.Container("db", f.pinned.Repo()+"@"+f.pinned.Digest, ""))))
	must(w.DaemonSet(ctx, "agent", fixture.PodSpec(nil, fixture.Container("agent", f.tool.Ref, corev1.PullAlways))))
	must(w.CronJob(ctx, "report", fixture.PodSpec(nil, fixture.Container("report", f.toolRepo, ""))))
	must(w.Job(ctx, "migrate", fixture.PodSpec(nil, fixture.Container("migrate", f.app.Ref, ""))))
	must(w.ReplicaSet(ctx, "orphan", 1, fixture.PodSpec(nil, fixture.Container("orphan", f.pub+"/"+f.ns+"/missing:9", corev1.PullAlways))))
	must(w.ReplicationController(ctx, "legacy", 1, fixture.PodSpec(nil, fixture.Container("legacy", f.pub+"/"+f.ns+"/Legacy:1", corev1.PullAlways))))
	debugSpec := fixture.PodSpec(nil, fixture.Container("shell", f.tool.Ref, corev1.PullAlways))
	debugSpec.InitContainers = []corev1.Container{fixture.Container("init", f.pinned.Pinned(), corev1.PullIfNotPresent)}
	if _, err := w.Pod(ctx, "debug", debugSpec); err != nil {
		t.Fatal(err)
	}
	must(w.AddEphemeralContainer(ctx, "debug", "dbg", f.tool.Ref))

	// What the nodes run, in the three imageID shapes runtimes report.
	pods := func(app string, n int) []corev1.Pod {
		t.Helper()
		p, err := fixture.WaitForPods(ctx, kube, f.ns, "app="+app, n)
		must(err)
		return p
	}
	for _, p := range pods("web", 2) {
		must(fixture.SetRunning(ctx, kube, &p, map[string]string{"web": "docker-pullable://" + f.app.Repo() + "@" + f.app.Digest}))
	}
	for i, p := range pods("mixed", 2) {
		must(fixture.SetRunning(ctx, kube, &p, map[string]string{"mixed": f.mixed[i].Repo() + "@" + f.mixed[i].Digest}))
	}
	for _, p := range pods("db", 1) {
		must(fixture.SetRunning(ctx, kube, &p, map[string]string{"db": f.pinned.Repo() + "@" + f.stale.Digest}))
	}
	for _, p := range pods("debug", 1) {
		must(fixture.SetRunning(ctx, kube, &p, map[string]string{"init": f.configID, "shell": f.tool.Repo() + "@" + f.tool.Digest}))
	}
	pods("orphan", 1)
	pods("legacy", 1)
	pods("migrate", 1)
	// Someone pushes again under web's tag: a restart would change the code.
	f.appMoved = push(t, f.app.Ref)
	return f
}

func TestAudit(t *testing.T) {
	f := newAuditFixture(t)

	t.Run("every finding and every kind, with the registry", func(t *testing.T) {
		rep, r := auditJSON(t, "-n", f.ns)
		mustSucceed(t, r, "audit -n")
		if rep.APIVersion != "imgtrust.dev/v1alpha1" || rep.Kind != "AuditReport" || rep.Summary.Registry != "online" {
			t.Fatalf("report header: %s %s registry=%s", rep.APIVersion, rep.Kind, rep.Summary.Registry)
		}
		web := item(t, rep, "Deployment", "web", "web")
		wantFindings(t, web, audit.IDMutableTag, audit.IDPullPolicyStaleRisk, audit.IDTagMoved)
		if web.Pods != 2 || !slices.Equal(web.RunningDigests, []string{f.app.Digest}) {
			t.Errorf("web: pods %d running %v, want 2 pods running %s", web.Pods, web.RunningDigests, f.app.Digest)
		}
		if web.ResolvedDigest != f.appMoved.Digest || web.CredentialSource != "pod-secret "+f.ns+"/regcred" {
			t.Errorf("web: resolved %s via %q, want %s via the pod's secret", web.ResolvedDigest, web.CredentialSource, f.appMoved.Digest)
		}
		if web.Reference == nil || web.Reference.Registry != f.priv || web.Reference.Repository != f.ns+"/app" || web.Reference.Tag != "1.0" {
			t.Errorf("web: reference %+v", web.Reference)
		}

		mixed := item(t, rep, "Deployment", "mixed", "mixed")
		wantFindings(t, mixed, audit.IDMutableTag, audit.IDMixedRunningDigests)
		if len(mixed.RunningDigests) != 2 {
			t.Errorf("mixed: running %v, want both digests", mixed.RunningDigests)
		}
		scaled := item(t, rep, "Deployment", "scaled", "app")
		wantFindings(t, scaled)
		if scaled.Pods != 0 || scaled.Pinning != "tag@digest" {
			t.Errorf("scaled: pods %d pinning %s, want 0 pods and tag@digest", scaled.Pods, scaled.Pinning)
		}
		wantFindings(t, item(t, rep, "StatefulSet", "db", "db"), audit.IDRunningDiffersFromSpec)
		wantFindings(t, item(t, rep, "DaemonSet", "agent", "agent"), audit.IDLatestTag)
		wantFindings(t, item(t, rep, "CronJob", "report", "report"), audit.IDImplicitLatest)
		wantFindings(t, item(t, rep, "Job", "migrate", "migrate"), audit.IDMutableTag, audit.IDPullPolicyStaleRisk, audit.IDNoCredentials)
		orphan := item(t, rep, "ReplicaSet", "orphan", "orphan")
		wantFindings(t, orphan, audit.IDMutableTag, audit.IDUnresolvable)
		if len(orphan.Findings) == 2 && !strings.Contains(orphan.Findings[1].Message+orphan.Findings[0].Message, "not-found") {
			t.Errorf("orphan: want the not-found reason in the message: %+v", orphan.Findings)
		}
		legacy := item(t, rep, "ReplicationController", "legacy", "legacy")
		wantFindings(t, legacy, audit.IDInvalidReference)
		if legacy.Reference != nil || legacy.Pinning != "invalid" {
			t.Errorf("legacy: an invalid reference has no reference parts: %+v %s", legacy.Reference, legacy.Pinning)
		}

		initC := item(t, rep, "Pod", "debug", "init")
		wantFindings(t, initC)
		if initC.ContainerType != "initContainer" || !slices.Equal(initC.RunningImageIDs, []string{f.configID}) || len(initC.RunningDigests) != 0 {
			t.Errorf("init container: type %s runningDigests %v imageIDs %v", initC.ContainerType, initC.RunningDigests, initC.RunningImageIDs)
		}
		wantFindings(t, item(t, rep, "Pod", "debug", "shell"), audit.IDLatestTag)
		dbg := item(t, rep, "Pod", "debug", "dbg")
		wantFindings(t, dbg, audit.IDLatestTag, audit.IDPullPolicyStaleRisk)
		if dbg.ContainerType != "ephemeralContainer" {
			t.Errorf("dbg: containerType %s, want ephemeralContainer", dbg.ContainerType)
		}
		// Pods are reported at their top owner, never on their own.
		for _, it := range rep.Items {
			if it.Kind == "Pod" && it.Name != "debug" {
				t.Errorf("pod %s reported on its own; it should roll up into its owner", it.Name)
			}
		}
		if len(rep.Items) != 12 {
			t.Errorf("want 12 items (one per workload container), got %d", len(rep.Items))
		}
	})

	t.Run("offline, with allowed registries", func(t *testing.T) {
		rep, r := auditJSON(t, "-n", f.ns, "--offline", "--allowed-registries", f.priv)
		mustSucceed(t, r, "audit --offline")
		if rep.Summary.Registry != "offline" {
			t.Errorf("summary.registry %q, want offline", rep.Summary.Registry)
		}
		wantFindings(t, item(t, rep, "Deployment", "web", "web"), audit.IDMutableTag, audit.IDPullPolicyStaleRisk)
		wantFindings(t, item(t, rep, "DaemonSet", "agent", "agent"), audit.IDLatestTag, audit.IDDisallowedRegistry)
	})

	t.Run("table, summary and --fail-on", func(t *testing.T) {
		r := kubectl(t, "imgtrust", "audit", "-n", f.ns, "--offline", "--fail-on=high")
		if r.Code != 1 {
			t.Fatalf("want exit 1 with high findings and --fail-on=high, got %s", r)
		}
		lines := strings.Split(strings.TrimSpace(r.Stdout), "\n")
		if got := strings.Fields(lines[0]); !slices.Equal(got, []string{"NAMESPACE", "WORKLOAD", "CONTAINER", "IMAGE", "PINNING", "FINDINGS"}) {
			t.Errorf("headers: %v", got)
		}
		if len(lines) != 13 {
			t.Errorf("want 12 rows under the header, got %d:\n%s", len(lines)-1, r.Stdout)
		}
		if !strings.Contains(r.Stdout, "ephemeral:dbg") || !strings.Contains(r.Stdout, "init:init") {
			t.Errorf("init and ephemeral containers are not marked:\n%s", r.Stdout)
		}
		if !strings.Contains(r.Stderr, "12 images in 10 workloads") && !strings.Contains(r.Stderr, "images in 10 workloads") {
			t.Errorf("summary missing on stderr:\n%s", r.Stderr)
		}
		if r := kubectl(t, "imgtrust", "audit", "-n", f.ns, "--offline", "--fail-on=bogus"); r.Code != 2 || !strings.Contains(r.Stderr, "--fail-on") {
			t.Errorf("a bad --fail-on: want exit 2 naming the flag, got %s", r)
		}
	})

	t.Run("TYPE/NAME and -l", func(t *testing.T) {
		rep, r := auditJSON(t, "-n", f.ns, "--offline", "deploy/web", "cronjob/report")
		mustSucceed(t, r, "audit deploy/web cronjob/report")
		if len(rep.Items) != 2 || item(t, rep, "Deployment", "web", "web").Pods != 2 {
			t.Errorf("want web (2 pods) and report only, got %d items", len(rep.Items))
		}
		rep, r = auditJSON(t, "-n", f.ns, "--offline", "-l", "app=mixed")
		mustSucceed(t, r, "audit -l")
		if len(rep.Items) != 1 || rep.Items[0].Name != "mixed" {
			t.Errorf("-l app=mixed: got %d items", len(rep.Items))
		}
		r = kubectl(t, "imgtrust", "audit", "-n", f.ns, "deploy/nope")
		if r.Code != 2 || !strings.Contains(r.Stderr, "nope") {
			t.Errorf("a missing object: want exit 2 naming it, got %s", r)
		}
	})
}

func TestAuditFiles(t *testing.T) {
	dir := t.TempDir()
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(dir, "nested"), 0o755))
	must(os.WriteFile(filepath.Join(dir, "app.yaml"), []byte(`# the app
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      initContainers:
      - {name: setup, image: "busybox"}
      containers:
      - {name: web, image: "nginx:1.27"}
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec: {ports: [{port: 80}]}
`), 0o644))
	must(os.WriteFile(filepath.Join(dir, "nested", "cron.json"), []byte(`{"apiVersion":"batch/v1","kind":"CronJob","metadata":{"name":"report"},
 "spec":{"schedule":"* * * * *","jobTemplate":{"spec":{"template":{"spec":{"restartPolicy":"Never",
 "containers":[{"name":"r","image":"ghcr.io/acme/report@sha256:`+strings.Repeat("ab", 32)+`"}]}}}}}}`), 0o644))

	rep, r := auditJSON(t, "-f", dir, "-R")
	mustSucceed(t, r, "audit -f -R")
	if len(rep.Items) != 3 {
		t.Fatalf("want 3 items from the manifests, got %d:\n%s", len(rep.Items), r)
	}
	wantFindings(t, item(t, rep, "Deployment", "web", "setup"), audit.IDImplicitLatest, audit.IDImplicitRegistry)
	wantFindings(t, item(t, rep, "Deployment", "web", "web"), audit.IDMutableTag, audit.IDImplicitRegistry, audit.IDPullPolicyStaleRisk)
	wantFindings(t, item(t, rep, "CronJob", "report", "r"))
	if strings.Contains(r.Stderr, "Service") {
		t.Errorf("a Service in the manifests should be skipped silently:\n%s", r.Stderr)
	}

	r = kubectl(t, "imgtrust", "audit", "-f", filepath.Join(dir, "missing.yaml"))
	if r.Code != 2 || !strings.Contains(r.Stderr, "missing.yaml") {
		t.Errorf("a missing file: want exit 2 naming it, got %s", r)
	}

	// Fail closed: a file that does not parse next to good ones is exit 2
	// whatever --fail-on says; --ignore-errors reports the rest and exits
	// by --fail-on alone. The pinned CronJob alone has no finding.
	must(os.WriteFile(filepath.Join(dir, "nested", "chart.yaml"), []byte("apiVersion: v1\nkind: Pod\nmetadata:\n  name: {{ .Release.Name }}\nspec:\n  containers:\n  - image: {{ .Values.image }}\n"), 0o644))
	cron := filepath.Join(dir, "nested")
	r = kubectl(t, "imgtrust", "audit", "-f", cron, "--fail-on=high")
	if r.Code != 2 || !strings.Contains(r.Stderr, "chart.yaml") || !strings.Contains(r.Stderr, "looks like a template") || !strings.Contains(r.Stdout, "cronjob/report") {
		t.Errorf("an unparsable template next to a clean file: want exit 2, the template named with a hint, the rest reported; got %s", r)
	}
	r = kubectl(t, "imgtrust", "audit", "-f", cron, "--fail-on=high", "--ignore-errors")
	if r.Code != 0 || !strings.Contains(r.Stderr, "chart.yaml") {
		t.Errorf("--ignore-errors: want exit 0 with the template still named, got %s", r)
	}
	r = kubectl(t, "imgtrust", "audit", "-f", cron, "-o", "sarif")
	if r.Code != 2 || !strings.Contains(r.Stdout, `"executionSuccessful": false`) || !strings.Contains(r.Stdout, "chart.yaml") {
		t.Errorf("-o sarif: want exit 2 and an unsuccessful invocation naming chart.yaml, got %s", r)
	}
}

// TestImageVolume: an image volume (spec.volumes[].image) is audited like
// a container's image and reported as volume/NAME; live pin pins it in
// place (merged by volume name) with the containers.
func TestImageVolume(t *testing.T) {
	ctx := testContext(t)
	ns := newNamespace(t, "imgvol")
	app := push(t, stack.PublicRegistry+"/"+ns+"/app:1")
	data := push(t, stack.PublicRegistry+"/"+ns+"/x:1")
	spec := fixture.PodSpec(nil, fixture.Container("app", app.Ref, corev1.PullAlways))
	spec.Volumes = []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{
		Image: &corev1.ImageVolumeSource{Reference: data.Ref, PullPolicy: corev1.PullIfNotPresent}}}}
	if err := (fixture.Workloads{CS: kube, NS: ns}).Deployment(ctx, "iv", 0, spec); err != nil {
		t.Fatalf("creating a Deployment with an image volume: %v", err)
	}
	got, err := kube.AppsV1().Deployments(ns).Get(ctx, "iv", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// With the ImageVolume feature gate off, the API server drops the field.
	if vs := got.Spec.Template.Spec.Volumes; len(vs) != 1 || vs[0].Image == nil {
		t.Skipf("the API server dropped the image volume (feature gate ImageVolume off?): %+v", vs)
	}

	rep, r := auditJSON(t, "-n", ns)
	mustSucceed(t, r, "audit -n")
	vol := item(t, rep, "Deployment", "iv", "data")
	wantFindings(t, vol, audit.IDMutableTag, audit.IDPullPolicyStaleRisk)
	if vol.ContainerType != "imageVolume" || vol.Image != data.Ref || vol.PullPolicy != "IfNotPresent" || len(vol.RunningDigests) != 0 {
		t.Errorf("image volume item: type %s image %s policy %s running %v", vol.ContainerType, vol.Image, vol.PullPolicy, vol.RunningDigests)
	}
	if vol.ResolvedDigest != data.Digest {
		t.Errorf("image volume resolved to %s, want %s", vol.ResolvedDigest, data.Digest)
	}
	wantFindings(t, item(t, rep, "Deployment", "iv", "app"), audit.IDMutableTag)

	table := kubectl(t, "imgtrust", "audit", "-n", ns)
	mustSucceed(t, table, "audit -n (table)")
	if !strings.Contains(table.Stdout, " volume/data ") {
		t.Errorf("the table does not name the volume as volume/data:\n%s", table.Stdout)
	}

	pinned := kubectl(t, "imgtrust", "pin", "deploy/iv", "-n", ns, "--source=registry", "--apply")
	// The container and the image volume are pinned, in one patch.
	if pinned.Code != 0 || !strings.Contains(pinned.Stderr, `imageVolume "data" `+data.Ref+" -> "+data.Ref+"@"+data.Digest) {
		t.Errorf("pin does not pin the image volume: %s", pinned)
	}
	after, err := kube.AppsV1().Deployments(ns).Get(ctx, "iv", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ps := after.Spec.Template.Spec
	if len(ps.Volumes) != 1 || ps.Volumes[0].Image == nil || ps.Volumes[0].Image.Reference != data.Ref+"@"+data.Digest || ps.Volumes[0].Name != "data" {
		t.Errorf("pin did not pin the image volume in place: %+v", ps.Volumes)
	}
	if len(ps.Containers) != 1 || ps.Containers[0].Image != app.Ref+"@"+app.Digest {
		t.Errorf("pin did not pin the container: %+v", ps.Containers)
	}
}
