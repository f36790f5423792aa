// Command demo loads a realistic demo into the local stack (hack/local-cluster.sh
// up, then eval its env): images in both registries and workloads that show
// every kind of finding. It is idempotent: a loaded demo is left as it is.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/imgtrust/kubectl-imgtrust/test/fixture"
)

const loadedLabel = "imgtrust.dev/demo"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	if err := load(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

func load(ctx context.Context) error {
	s, err := fixture.FromEnv()
	if err != nil {
		return err
	}
	cs, err := s.Clientset()
	if err != nil {
		return err
	}
	if ns, err := cs.CoreV1().Namespaces().Get(ctx, "shop", metav1.GetOptions{}); err == nil && ns.Labels[loadedLabel] == "loaded" {
		fmt.Fprintln(os.Stderr, "demo: already loaded")
		return nil
	}
	d := &demo{s: s, cs: cs}
	return d.run(ctx)
}

type demo struct {
	s  *fixture.Stack
	cs kubernetes.Interface
}

func (d *demo) run(ctx context.Context) error {
	priv, pub := d.s.Registry, d.s.PublicRegistry
	fmt.Fprintln(os.Stderr, "demo: pushing images to", priv, "(private) and", pub, "(public)")
	webOld, err := d.s.PushImage(ctx, priv+"/shop/web:1.4")
	if err != nil {
		return err
	}
	// Someone pushed again under the same tag: pods now run two different images.
	webNew, err := d.s.PushImage(ctx, priv+"/shop/web:1.4")
	if err != nil {
		return err
	}
	// web 1.5 is out: audit --updates says so.
	if _, err := d.s.PushImage(ctx, priv+"/shop/web:1.5"); err != nil {
		return err
	}
	// api is built as BuildKit does with --provenance: a source annotation
	// on the index and SLSA provenance per platform.
	api, err := d.s.PushBuildKitIndex(ctx, priv+"/shop/api:2.0",
		map[string]string{"org.opencontainers.image.source": "https://github.com/acme/api"},
		func(subject string) string {
			return fixture.SLSAv1(subject, "https://github.com/acme/api.git#refs/tags/v2.0.0",
				"4f2a9c1e0b7d3a5f6c8e9d0a1b2c3d4e5f6a7b8c", "https://github.com/docker/buildx@v0.20.0", "2026-11-20T08:00:00Z")
		}, "linux/amd64", "linux/arm64")
	if err != nil {
		return err
	}
	invoices, err := d.s.PushImage(ctx, priv+"/billing/invoices:3.1")
	if err != nil {
		return err
	}
	postgres, err := d.s.PushImage(ctx, pub+"/library/postgres:latest")
	if err != nil {
		return err
	}
	report, err := d.s.PushImage(ctx, pub+"/tools/report:latest")
	if err != nil {
		return err
	}
	migrate, err := d.s.PushImage(ctx, pub+"/billing/migrate:0.9")
	if err != nil {
		return err
	}

	for _, ns := range []string{"shop", "billing"} {
		if err := fixture.CreateNamespace(ctx, d.cs, ns); err != nil {
			return err
		}
	}
	if _, err := d.cs.CoreV1().Secrets("shop").Create(ctx,
		fixture.PullSecret("shop", "regcred", priv, d.s.RegistryUser, d.s.RegistryPassword), metav1.CreateOptions{}); err != nil {
		return err
	}
	pullSecret := []string{"regcred"}
	shop := fixture.Workloads{CS: d.cs, NS: "shop"}
	billing := fixture.Workloads{CS: d.cs, NS: "billing"}

	// shop: a mutable tag whose pods disagree, a pinned tag@digest, an untagged StatefulSet, a CronJob on latest.
	if err := shop.Deployment(ctx, "web", 2, fixture.PodSpec(pullSecret, fixture.Container("web", webOld.Ref, corev1.PullIfNotPresent))); err != nil {
		return err
	}
	if err := shop.Deployment(ctx, "api", 1, fixture.PodSpec(pullSecret, fixture.Container("api", api.Pinned(), corev1.PullIfNotPresent))); err != nil {
		return err
	}
	if err := shop.StatefulSet(ctx, "db", 1, fixture.PodSpec(nil, fixture.Container("postgres", postgres.Repo(), ""))); err != nil {
		return err
	}
	if err := shop.CronJob(ctx, "report", fixture.PodSpec(nil, fixture.Container("report", report.Ref, corev1.PullIfNotPresent))); err != nil {
		return err
	}
	// billing: a private image without any pull secret, Docker Hub images, a digest-pinned Job, a bare Pod.
	if err := billing.Deployment(ctx, "invoices", 1, fixture.PodSpec(nil, fixture.Container("invoices", invoices.Ref, corev1.PullIfNotPresent))); err != nil {
		return err
	}
	if err := billing.DaemonSet(ctx, "log-agent", fixture.PodSpec(nil, fixture.Container("fluent-bit", "fluent/fluent-bit:3.0", ""))); err != nil {
		return err
	}
	if err := billing.Job(ctx, "migrate", fixture.PodSpec(nil, fixture.Container("migrate", migrate.Repo()+"@"+migrate.Digest, ""))); err != nil {
		return err
	}
	if _, err := billing.Pod(ctx, "debug", fixture.PodSpec(nil, fixture.Container("shell", "busybox", ""))); err != nil {
		return err
	}

	// No kubelet here: say what the pods run, as nodes would report it.
	webPods, err := fixture.WaitForPods(ctx, d.cs, "shop", "app=web", 2)
	if err != nil {
		return err
	}
	for i, digest := range []string{webOld.Digest, webNew.Digest} {
		id := "docker-pullable://" + webOld.Repo() + "@" + digest
		if err := fixture.SetRunning(ctx, d.cs, &webPods[i], map[string]string{"web": id}); err != nil {
			return err
		}
	}
	apiPods, err := fixture.WaitForPods(ctx, d.cs, "shop", "app=api", 1)
	if err != nil {
		return err
	}
	if err := fixture.SetRunning(ctx, d.cs, &apiPods[0], map[string]string{"api": api.Repo() + "@" + api.Digest}); err != nil {
		return err
	}

	// The Trivy Operator's scan of api, filed as it files them for a
	// Deployment: under its current ReplicaSet.
	rs, err := d.cs.AppsV1().ReplicaSets("shop").List(ctx, metav1.ListOptions{LabelSelector: "app=api"})
	if err != nil {
		return err
	}
	if len(rs.Items) != 1 {
		return fmt.Errorf("want one ReplicaSet of shop/api, found %d", len(rs.Items))
	}
	if err := d.scanReport(ctx, scan{ns: "shop", kind: "ReplicaSet", owner: rs.Items[0].Name, container: "api",
		image: api, critical: 2, high: 5}); err != nil {
		return err
	}

	if err := d.sign(ctx, map[string]string{
		"demo":     api.Repo() + "@" + api.Digest,
		"legacy":   migrate.Repo() + "@" + migrate.Digest,
		"vendor":   webOld.Repo() + "@" + webOld.Digest,
		"notation": report.Repo() + "@" + report.Digest,
		"vuln":     report.Repo() + "@" + report.Digest,
		"sbom":     api.Repo() + "@" + api.Digest,
	}); err != nil {
		return err
	}

	ns, err := d.cs.CoreV1().Namespaces().Get(ctx, "shop", metav1.GetOptions{})
	if err != nil {
		return err
	}
	if ns.Labels == nil {
		ns.Labels = map[string]string{}
	}
	ns.Labels[loadedLabel] = "loaded"
	_, err = d.cs.CoreV1().Namespaces().Update(ctx, ns, metav1.UpdateOptions{})
	return err
}

// sign signs some demo images, offline, keys into $IMGTRUST_DEMO_KEYS:
// api with the demo key (a bundle), migrate with the demo key in the
// legacy .sig format, web's running digest with a vendor key the demo
// does not trust, and report with notation. postgres stays unsigned. With
// the demo key, report gets a vulnerability scan and api an SBOM. The
// demo needs neither binary: cosign's formats are written with pkg/sign
// (sign.go), notation's with notation-go (notation.go).
func (d *demo) sign(ctx context.Context, refs map[string]string) error {
	dir := os.Getenv("IMGTRUST_DEMO_KEYS")
	if dir == "" {
		return nil
	}
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	fmt.Fprintln(os.Stderr, "demo: signing images in cosign's and notation's formats (in-process: pkg/sign, notation-go), keys in", dir)
	sg, err := d.signer()
	if err != nil {
		return err
	}
	demoKey, err := keyPair(dir, "demo")
	if err != nil {
		return err
	}
	vendorKey, err := keyPair(dir, "vendor")
	if err != nil {
		return err
	}
	if err := sg.sign(ctx, demoKey, refs["demo"], false); err != nil {
		return err
	}
	if err := sg.sign(ctx, demoKey, refs["legacy"], true); err != nil {
		return err
	}
	if err := sg.sign(ctx, vendorKey, refs["vendor"], false); err != nil {
		return err
	}
	fmt.Fprintln(os.Stderr, "demo: attaching a vulnerability scan and an SBOM, as cosign attest does")
	if err := sg.attest(ctx, demoKey, refs["vuln"], predicateVuln, vulnPredicate()); err != nil {
		return err
	}
	if err := sg.attest(ctx, demoKey, refs["sbom"], predicateSPDX, spdxPredicate(refs["sbom"])); err != nil {
		return err
	}
	_, err = d.notationSign(ctx, dir, refs["notation"])
	return err
}
