//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"k8s.io/client-go/tools/clientcmd"
)

// TestExecCredentialKubeconfig: a kubeconfig whose user is an exec
// credential plugin (a tiny script handing out a TokenRequest token, as
// cloud CLIs do) works through the real kubectl, as kubectl's own
// commands do.
func TestExecCredentialKubeconfig(t *testing.T) {
	ns := newNamespace(t, "exec-auth")
	rbacWorkloads(t, ns)
	tokenConfig := asServiceAccount(t, ns, "exec-user", shippedRole(t, "imgtrust-readonly.yaml", nil), "")
	cfg, err := clientcmd.LoadFromFile(tokenConfig)
	if err != nil {
		t.Fatal(err)
	}
	user := cfg.Contexts[cfg.CurrentContext].AuthInfo
	token := cfg.AuthInfos[user].Token
	dir := t.TempDir()
	script := filepath.Join(dir, "credential-plugin")
	body := fmt.Sprintf("#!/bin/sh\n# An exec credential plugin: what `aws eks get-token` or `gke-gcloud-auth-plugin` print.\n"+
		"cat <<'EOF'\n{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\",\"status\":{\"token\":%q}}\nEOF\n", token)
	if err := os.WriteFile(script, []byte(body), 0o700); err != nil {
		t.Fatal(err)
	}
	cfg.AuthInfos[user] = &clientcmdapi.AuthInfo{Exec: &clientcmdapi.ExecConfig{
		APIVersion: "client.authentication.k8s.io/v1", Command: script, InteractiveMode: clientcmdapi.NeverExecInteractiveMode,
	}}
	execConfig := filepath.Join(dir, "exec.kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, execConfig); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"audit", "-n", ns}, {"secrets", "-n", ns}} {
		r := kubectl(t, append(append([]string{"imgtrust"}, args...), "--kubeconfig", execConfig)...)
		if r.Code != 0 && r.Code != 1 {
			t.Errorf("%v with an exec credential plugin: %s", args, r)
		}
		if !strings.Contains(r.Stdout, "deployment/web") {
			t.Errorf("%v: want the namespace's workloads:\n%s", args, r)
		}
	}
	// A plugin that fails is one clear error, not a crash.
	if err := os.WriteFile(script, []byte("#!/bin/sh\necho 'login expired: run the cloud login' >&2\nexit 1\n"), 0o700); err != nil {
		t.Fatal(err)
	}
	r := kubectl(t, "imgtrust", "audit", "-n", ns, "--kubeconfig", execConfig)
	if r.Code != 2 || strings.Count(strings.TrimSpace(r.Stderr), "\n") > 2 || !strings.Contains(r.Stderr, "credential-plugin") {
		t.Errorf("a failing exec plugin: want exit 2 and a short error naming it:\n%s", r)
	}
}
