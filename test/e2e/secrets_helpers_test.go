//go:build e2e

package e2e

import (
	"context"
	"encoding/base64"
	"os/exec"
	"path/filepath"
	"sort"
	"testing"

	authv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/utils/ptr"

	"github.com/imgtrust/kubectl-imgtrust/test/fixture"
)

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func sorted(s []string) []string {
	out := append([]string(nil), s...)
	sort.Strings(out)
	return out
}

// execBash runs a fix command the way a user pastes it into a shell.
func execBash(ctx context.Context, command string) ([]byte, error) {
	return exec.CommandContext(ctx, "bash", "-o", "pipefail", "-c", command).CombinedOutput()
}

// createKubeletNode registers a node whose status reports a kubelet
// version (no kubelet runs: it only answers what the plugin reads), and
// deletes it afterwards.
func createKubeletNode(t *testing.T, name, kubeletVersion string) {
	t.Helper()
	ctx := context.Background()
	n, err := kube.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	noErr(t, err)
	t.Cleanup(func() { _ = kube.CoreV1().Nodes().Delete(context.Background(), name, metav1.DeleteOptions{}) })
	n.Status.NodeInfo = corev1.NodeSystemInfo{KubeletVersion: kubeletVersion, OperatingSystem: "linux", Architecture: "amd64"}
	_, err = kube.CoreV1().Nodes().UpdateStatus(ctx, n, metav1.UpdateOptions{})
	noErr(t, err)
}

// runPodOn creates a bare pod on node whose status says it runs image
// (imageID), with the given pull secrets.
func runPodOn(t *testing.T, ns, name, node, image, imageID string, pullSecrets ...string) {
	t.Helper()
	ctx := context.Background()
	spec := corev1.PodSpec{NodeName: node, Containers: []corev1.Container{{Name: "app", Image: image}}}
	for _, s := range pullSecrets {
		spec.ImagePullSecrets = append(spec.ImagePullSecrets, corev1.LocalObjectReference{Name: s})
	}
	pod, err := kube.CoreV1().Pods(ns).Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Spec: spec}, metav1.CreateOptions{})
	noErr(t, err)
	noErr(t, fixture.SetRunning(ctx, kube, pod, map[string]string{"app": imageID}))
}

// roleKubeconfig writes a kubeconfig that acts as a new service account
// of ns bound to a Role with rules (nothing cluster-wide).
func roleKubeconfig(t *testing.T, ns, name string, rules []rbacv1.PolicyRule) string {
	t.Helper()
	ctx := context.Background()
	createServiceAccount(t, ns, name)
	_, err := kube.RbacV1().Roles(ns).Create(ctx, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Rules: rules}, metav1.CreateOptions{})
	noErr(t, err)
	_, err = kube.RbacV1().RoleBindings(ns).Create(ctx, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: name},
		Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Name: name, Namespace: ns}},
	}, metav1.CreateOptions{})
	noErr(t, err)
	tok, err := kube.CoreV1().ServiceAccounts(ns).CreateToken(ctx, name, &authv1.TokenRequest{
		Spec: authv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](600)},
	}, metav1.CreateOptions{})
	noErr(t, err)
	cfg, err := clientcmd.LoadFromFile(stack.Kubeconfig)
	noErr(t, err)
	for n, ai := range cfg.AuthInfos {
		ai.ClientCertificateData, ai.ClientKeyData, ai.ClientCertificate, ai.ClientKey = nil, nil, "", ""
		ai.Token = tok.Status.Token
		cfg.AuthInfos[n] = ai
	}
	path := filepath.Join(t.TempDir(), name+".kubeconfig")
	noErr(t, clientcmd.WriteToFile(*cfg, path))
	return path
}
