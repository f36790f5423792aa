//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/imgtrust/kubectl-imgtrust/test/fixture"
)

// TestPinApplyInterrupted sends a real SIGINT to `kubectl imgtrust pin
// --apply` while it patches six Deployments through a slowed API server:
// every Deployment ends either pinned or untouched, and the output names
// each one as it ended.
func TestPinApplyInterrupted(t *testing.T) {
	ctx := testContext(t)
	ns := newNamespace(t, "pinsig")
	w := fixture.Workloads{CS: kube, NS: ns}
	images := map[string]fixture.Pushed{}
	var names []string
	for i := range 6 {
		name := fmt.Sprintf("app%d", i)
		names = append(names, name)
		images[name] = push(t, stack.PublicRegistry+"/"+ns+"/"+name+":1")
		if err := w.Deployment(ctx, name, 0, fixture.PodSpec(nil, fixture.Container("app", images[name].Ref, corev1.PullAlways))); err != nil {
			t.Fatal(err)
		}
	}
	p, kubeconfig := startProxy(t)
	p.SetDelay(400 * time.Millisecond)

	args := []string{"imgtrust", "pin", "-n", ns, "--kubeconfig", kubeconfig, "--source=registry", "--apply"}
	for _, n := range names {
		args = append(args, "deploy/"+n)
	}
	cmd := exec.Command("kubectl", args...)
	cmd.Env = os.Environ()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pinned := func(name string) bool {
		d, err := kube.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
		return err == nil && strings.Contains(d.Spec.Template.Spec.Containers[0].Image, "@sha256:")
	}
	// Interrupt once the first Deployment is pinned (kubectl execs the
	// plugin in its own process, so the signal reaches the plugin).
	if err := wait.PollUntilContextTimeout(ctx, 20*time.Millisecond, 2*time.Minute, true, func(context.Context) (bool, error) {
		return pinned(names[0]), nil
	}); err != nil {
		_ = cmd.Process.Kill()
		t.Fatalf("no Deployment got pinned: %v\n%s", err, stderr.String())
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 2 {
		t.Fatalf("want exit 2 after the interrupt, got %v\n%s%s", err, stdout.String(), stderr.String())
	}
	out := stdout.String() + stderr.String()
	if !strings.Contains(out, "interrupted:") {
		t.Errorf("want the interrupt summarised, got\n%s", out)
	}
	var done, left int
	for _, n := range names {
		d, err := kube.AppsV1().Deployments(ns).Get(ctx, n, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		img := d.Spec.Template.Spec.Containers[0].Image
		switch img {
		case images[n].Ref + "@" + images[n].Digest:
			done++
			if !strings.Contains(out, "patched deployment/"+n) {
				t.Errorf("%s is pinned, but the output does not say patched:\n%s", n, out)
			}
		case images[n].Ref:
			left++
			if !strings.Contains(out, "untouched deployment/"+n) {
				t.Errorf("%s is unchanged, but the output does not say untouched:\n%s", n, out)
			}
		default:
			t.Errorf("%s has image %s: neither pinned nor untouched", n, img)
		}
	}
	if done == 0 || left == 0 {
		t.Errorf("%d pinned, %d untouched: want the interrupt to land mid-run\n%s", done, left, out)
	}
	t.Logf("%d pinned, %d untouched\n%s", done, left, out)
}
