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

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"github.com/imgtrust/kubectl-imgtrust/test/e2e/fixture"
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
	api, err := d.s.PushIndex(ctx, priv+"/shop/api:2.0", "linux/amd64", "linux/arm64")
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
	pullSecret := []corev1.LocalObjectReference{{Name: "regcred"}}

	// shop: a mutable tag whose pods disagree, a pinned tag@digest, an untagged StatefulSet, a CronJob on latest.
	if err := d.deployment(ctx, "shop", "web", 2, podSpec(pullSecret, container("web", webOld.Ref, corev1.PullIfNotPresent))); err != nil {
		return err
	}
	if err := d.deployment(ctx, "shop", "api", 1, podSpec(pullSecret, container("api", api.Pinned(), corev1.PullIfNotPresent))); err != nil {
		return err
	}
	if err := d.statefulSet(ctx, "shop", "db", podSpec(nil, container("postgres", postgres.Repo(), ""))); err != nil {
		return err
	}
	if err := d.cronJob(ctx, "shop", "report", podSpec(nil, container("report", report.Ref, corev1.PullIfNotPresent))); err != nil {
		return err
	}
	// billing: a private image without any pull secret, Docker Hub images, a digest-pinned Job, a bare Pod.
	if err := d.deployment(ctx, "billing", "invoices", 1, podSpec(nil, container("invoices", invoices.Ref, corev1.PullIfNotPresent))); err != nil {
		return err
	}
	if err := d.daemonSet(ctx, "billing", "log-agent", podSpec(nil, container("fluent-bit", "fluent/fluent-bit:3.0", ""))); err != nil {
		return err
	}
	if err := d.job(ctx, "billing", "migrate", podSpec(nil, container("migrate", migrate.Repo()+"@"+migrate.Digest, ""))); err != nil {
		return err
	}
	if _, err := d.cs.CoreV1().Pods("billing").Create(ctx, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "debug", Namespace: "billing"},
		Spec:       podSpec(nil, container("shell", "busybox", "")),
	}, metav1.CreateOptions{}); err != nil {
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

func container(name, image string, policy corev1.PullPolicy) corev1.Container {
	return corev1.Container{Name: name, Image: image, ImagePullPolicy: policy}
}

func podSpec(pullSecrets []corev1.LocalObjectReference, containers ...corev1.Container) corev1.PodSpec {
	return corev1.PodSpec{ImagePullSecrets: pullSecrets, Containers: containers, RestartPolicy: corev1.RestartPolicyAlways}
}

func template(app string, spec corev1.PodSpec) corev1.PodTemplateSpec {
	return corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": app}}, Spec: spec}
}

func selector(app string) *metav1.LabelSelector {
	return &metav1.LabelSelector{MatchLabels: map[string]string{"app": app}}
}

func (d *demo) deployment(ctx context.Context, ns, name string, replicas int32, spec corev1.PodSpec) error {
	_, err := d.cs.AppsV1().Deployments(ns).Create(ctx, &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec:       appsv1.DeploymentSpec{Replicas: ptr.To(replicas), Selector: selector(name), Template: template(name, spec)},
	}, metav1.CreateOptions{})
	return err
}

func (d *demo) statefulSet(ctx context.Context, ns, name string, spec corev1.PodSpec) error {
	_, err := d.cs.AppsV1().StatefulSets(ns).Create(ctx, &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec:       appsv1.StatefulSetSpec{Replicas: ptr.To[int32](1), Selector: selector(name), Template: template(name, spec)},
	}, metav1.CreateOptions{})
	return err
}

func (d *demo) daemonSet(ctx context.Context, ns, name string, spec corev1.PodSpec) error {
	_, err := d.cs.AppsV1().DaemonSets(ns).Create(ctx, &appsv1.DaemonSet{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec:       appsv1.DaemonSetSpec{Selector: selector(name), Template: template(name, spec)},
	}, metav1.CreateOptions{})
	return err
}

func (d *demo) job(ctx context.Context, ns, name string, spec corev1.PodSpec) error {
	spec.RestartPolicy = corev1.RestartPolicyNever
	_, err := d.cs.BatchV1().Jobs(ns).Create(ctx, &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec:       batchv1.JobSpec{Template: corev1.PodTemplateSpec{Spec: spec}},
	}, metav1.CreateOptions{})
	return err
}

func (d *demo) cronJob(ctx context.Context, ns, name string, spec corev1.PodSpec) error {
	spec.RestartPolicy = corev1.RestartPolicyOnFailure
	_, err := d.cs.BatchV1().CronJobs(ns).Create(ctx, &batchv1.CronJob{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: batchv1.CronJobSpec{Schedule: "0 3 * * *", JobTemplate: batchv1.JobTemplateSpec{
			Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{Spec: spec}},
		}},
	}, metav1.CreateOptions{})
	return err
}
