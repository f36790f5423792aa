package report

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/imgtrust/kubectl-imgtrust/pkg/coverage"
	"github.com/imgtrust/kubectl-imgtrust/pkg/pullsecret"
	"github.com/imgtrust/kubectl-imgtrust/pkg/registry"
	"github.com/imgtrust/kubectl-imgtrust/pkg/workload"
)

const (
	leakPassword = "Leak-Pa55word-123"
	leakInURL    = "Url-Pa55word-456"
	leakOpaque   = "Opaque-Pa55word-789"
	leakLegacy   = "Legacy-Pa55word-000"
)

func leakSecret(name string, typ corev1.SecretType, key, data string) *corev1.Secret {
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name},
		Type:       typ,
		Data:       map[string][]byte{key: []byte(data)},
	}
}

func leakWorkload(name string, secrets []string, images ...string) workload.Workload {
	w := workload.Workload{Object: workload.Object{Kind: "Deployment", Namespace: "ns", Name: name, Spec: &workload.PodSpec{PullSecrets: secrets}}}
	for _, img := range images {
		c := workload.ContainerSpec{Name: name, Type: workload.Container, Image: img}
		w.Spec.Containers = append(w.Spec.Containers, c)
		w.Containers = append(w.Containers, workload.Usage{ContainerSpec: c})
	}
	return w
}

// TestSecretsOutputNeverHoldsPasswords renders every format from secrets
// whose passwords, auth values and their base64 are known, and searches
// the output for them.
func TestSecretsOutputNeverHoldsPasswords(t *testing.T) {
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	auth := b64("alice:" + leakPassword)
	good, _ := json.Marshal(map[string]any{"auths": map[string]any{
		"reg.example.com":                       map[string]string{"username": "alice", "password": leakPassword, "auth": auth},
		"https://bob:" + leakInURL + "@url.io/": map[string]string{"username": "bob", "password": leakInURL},
	}})
	bad := `{"auths":{"reg.example.com":{"username":"alice","password":"` + leakPassword + `","auth":"` + leakPassword + `!!"}}}`
	legacy := `{"old.example.com":{"auth":"` + b64("carol:"+leakLegacy) + `"}}`
	objs := []runtime.Object{
		leakSecret("good", corev1.SecretTypeDockerConfigJson, corev1.DockerConfigJsonKey, string(good)),
		leakSecret("bad", corev1.SecretTypeDockerConfigJson, corev1.DockerConfigJsonKey, bad),
		leakSecret("opaque", corev1.SecretTypeOpaque, corev1.DockerConfigJsonKey, `{"auths":{"x.io":{"auth":"`+b64("u:"+leakOpaque)+`"}}}`),
		leakSecret("legacy", corev1.SecretTypeDockercfg, corev1.DockerConfigKey, legacy),
		leakSecret("unused", corev1.SecretTypeDockerConfigJson, corev1.DockerConfigJsonKey, string(good)),
	}
	workloads := []workload.Workload{
		leakWorkload("good", []string{"good"}, "reg.example.com/a:1", "url.io/b:1"),
		leakWorkload("bad", []string{"bad"}, "reg.example.com/a:1"),
		leakWorkload("opaque", []string{"opaque"}, "x.io/a:1"),
		leakWorkload("legacy", []string{"legacy", "gone"}, "old.example.com/a:1"),
	}
	client := fake.NewClientset(objs...)
	referenced := map[string][]string{"ns": {"good", "bad", "opaque", "legacy", "gone"}}
	store := pullsecret.LoadStore(context.Background(), client, pullsecret.Load{Namespaces: []string{"ns"}, Referenced: referenced})
	in := coverage.Input{Workloads: workloads, Store: store, Namespaces: []string{"ns"}, WholeNamespaces: true}
	in.Verdicts = map[coverage.CheckKey]registry.Verification{}
	for i, c := range coverage.Checks(in) {
		res := registry.VerifyOK
		if i%2 == 0 {
			res = registry.VerifyRejected
		}
		in.Verdicts[c.Key] = registry.Verification{Result: res, Message: "registry answered"}
	}
	rep := coverage.NewReport(APIVersion, coverage.Evaluate(in), true)

	var out bytes.Buffer
	if err := SecretsTable(&out, rep); err != nil {
		t.Fatal(err)
	}
	if err := SecretsFindings(&out, rep); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{FormatJSON, FormatYAML} {
		if err := Encode(&out, f, rep); err != nil {
			t.Fatal(err)
		}
	}
	out.WriteString(strings.Join(rep.Warnings, "\n"))
	for _, s := range store.PullSecretNames("ns") {
		_, sec, inv := store.Secret("ns", s)
		if sec != nil {
			out.WriteString(sec.String() + "\n")
		}
		if inv != nil {
			out.WriteString(inv.Error() + "\n")
		}
	}
	text := out.String()
	if !strings.Contains(text, `"alice"`) || !strings.Contains(text, "unused-secret") || !strings.Contains(text, "credential-rejected") {
		t.Fatalf("the output misses expected content; the test proves nothing:\n%s", text)
	}
	for _, secret := range []string{leakPassword, leakInURL, leakOpaque, leakLegacy, auth, b64("bob:" + leakInURL), b64("u:" + leakOpaque), b64("carol:" + leakLegacy)} {
		if strings.Contains(text, secret) {
			t.Errorf("output holds secret %q:\n%s", secret, text)
		}
	}
}
