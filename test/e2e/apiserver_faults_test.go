//go:build e2e

package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/imgtrust/kubectl-imgtrust/test/fixture"
)

// startProxy puts a loopback TCP proxy in front of the stack's API server
// and returns it with an admin kubeconfig that goes through it.
func startProxy(t *testing.T) (*fixture.Proxy, string) {
	t.Helper()
	target, err := fixture.APIServerAddr(stack.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	p, err := fixture.StartProxy(target)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	kubeconfig, err := fixture.KubeconfigVia(stack.Kubeconfig, p.Addr, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return p, kubeconfig
}

// wantUnreachable checks a run that lost the API server: exit 2 and one
// short line on stderr that says so, in bounded time.
func wantUnreachable(t *testing.T, r result, took time.Duration) {
	t.Helper()
	stderr := strings.TrimSpace(r.Stderr)
	if r.Code != 2 {
		t.Errorf("want exit 2, got %s", r)
	}
	if strings.Count(stderr, "\n") != 0 || !strings.HasPrefix(stderr, "error: ") {
		t.Errorf("want exactly one error line on stderr (no retries, no klog), got %d lines:\n%s", strings.Count(stderr, "\n")+1, stderr)
	}
	if !strings.Contains(stderr, "cannot reach the API server at https://") {
		t.Errorf("want the error to say the API server cannot be reached, got %q", stderr)
	}
	if len(stderr) > 400 {
		t.Errorf("want a short error, got %d bytes: %q", len(stderr), stderr)
	}
	if took > 20*time.Second {
		t.Errorf("took %s, want well under 20s", took)
	}
}

func TestAPIServerUnreachable(t *testing.T) {
	t.Run("from the start", func(t *testing.T) {
		p, kubeconfig := startProxy(t)
		p.Close()
		start := time.Now()
		r := kubectl(t, "imgtrust", "audit", "-A", "--kubeconfig", kubeconfig, "--request-timeout", "5s")
		wantUnreachable(t, r, time.Since(start))
		t.Logf("%s in %s", strings.TrimSpace(r.Stderr), time.Since(start))
	})

	t.Run("disappears mid-run", func(t *testing.T) {
		// Calibrate: how many bytes does a whole audit -A take through the proxy?
		p, kubeconfig := startProxy(t)
		r := kubectl(t, "imgtrust", "audit", "-A", "--offline", "--kubeconfig", kubeconfig)
		if r.Code != 0 && r.Code != 1 {
			t.Fatalf("audit -A through a healthy proxy (TLS verified against 127.0.0.1): %s", r)
		}
		whole := p.BytesFromServer()
		t.Logf("a whole audit -A: %d bytes from the API server over %d connections", whole, p.Connections())

		// Cut half-way: after the handshakes, inside the lists. (A cut
		// after the last list would rightly give a complete report.)
		p, kubeconfig = startProxy(t)
		p.CutAfter(whole / 2)
		start := time.Now()
		r = kubectl(t, "imgtrust", "audit", "-A", "--offline", "--kubeconfig", kubeconfig, "--request-timeout", "5s")
		took := time.Since(start)
		select {
		case <-p.Done():
		default:
			t.Fatalf("the proxy was never cut (%d of %d bytes): the test proves nothing", p.BytesFromServer(), whole/2)
		}
		wantUnreachable(t, r, took)
		t.Logf("cut after %d bytes: %s in %s", whole/2, strings.TrimSpace(r.Stderr), took)
	})
}
