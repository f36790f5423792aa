package pipeline

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"k8s.io/cli-runtime/pkg/genericclioptions"
)

const twoContexts = `apiVersion: v1
kind: Config
clusters:
- name: a
  cluster: {server: "https://127.0.0.1:1"}
- name: b
  cluster: {server: "https://127.0.0.1:2"}
users:
- name: u
  user: {token: not-a-secret}
contexts:
- name: prod
  context: {cluster: a, user: u, namespace: shop}
- name: dev
  context: {cluster: b, user: u}
current-context: dev
`

func kubeconfigFlags(t *testing.T) *genericclioptions.ConfigFlags {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config")
	if err := os.WriteFile(path, []byte(twoContexts), 0o600); err != nil {
		t.Fatal(err)
	}
	cf := genericclioptions.NewConfigFlags(true)
	cf.KubeConfig = &path
	return cf
}

func TestContextNames(t *testing.T) {
	for _, tc := range []struct {
		name     string
		contexts []string
		all      bool
		edit     func(*genericclioptions.ConfigFlags)
		want     []string
		wantErr  string
	}{
		{name: "neither: the one context", want: nil},
		{name: "all, sorted", all: true, want: []string{"dev", "prod"}},
		{name: "as given, once each", contexts: []string{"prod", " dev", "prod"}, want: []string{"prod", "dev"}},
		{name: "unknown", contexts: []string{"prod", "stage"}, wantErr: `context "stage" is not in the kubeconfig`},
		{name: "both", contexts: []string{"prod"}, all: true, wantErr: "exclude each other"},
		{name: "with --context", all: true, edit: func(c *genericclioptions.ConfigFlags) { v := "prod"; c.Context = &v }, wantErr: "--context names one cluster"},
		{name: "with --token", all: true, edit: func(c *genericclioptions.ConfigFlags) { v := "x"; c.BearerToken = &v }, wantErr: "--token names one cluster"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cf := kubeconfigFlags(t)
			if tc.edit != nil {
				tc.edit(cf)
			}
			got, err := ContextNames(cf, tc.contexts, tc.all)
			switch {
			case tc.wantErr != "":
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Errorf("err %v, want %q", err, tc.wantErr)
				}
			case err != nil:
				t.Errorf("unexpected error %v", err)
			case !slices.Equal(got, tc.want):
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

// Each context keeps its own default namespace; -n applies to all.
func TestForContextSelectsTheContext(t *testing.T) {
	base := kubeconfigFlags(t)
	prod := ForContext(base, "prod")
	ns, _, err := prod.ToRawKubeConfigLoader().Namespace()
	if err != nil || ns != "shop" {
		t.Errorf("prod namespace %q, %v; want shop", ns, err)
	}
	cfg, err := prod.ToRESTConfig()
	if err != nil || cfg.Host != "https://127.0.0.1:1" {
		t.Errorf("prod server %v, %v", cfg, err)
	}
	n := "billing"
	base.Namespace = &n
	if ns, _, _ := ForContext(base, "dev").ToRawKubeConfigLoader().Namespace(); ns != "billing" {
		t.Errorf("-n billing: dev namespace %q", ns)
	}
}

func TestFixInContext(t *testing.T) {
	for _, tc := range []struct{ fix, want string }{
		{"pin it to a digest: kubectl imgtrust pin deployment/web -n shop", "pin it to a digest: kubectl imgtrust pin deployment/web -n shop --context prod"},
		{"pin it (kubectl imgtrust pin cronjob/report -n shop), or set imagePullPolicy: Always", "pin it (kubectl imgtrust pin cronjob/report -n shop --context prod), or set imagePullPolicy: Always"},
		{"kubectl get secret s -n a -o jsonpath='{.data}' | kubectl create secret generic s -n b", "kubectl get secret s -n a --context prod -o jsonpath='{.data}' | kubectl create secret generic s -n b --context prod"},
		{"plan the move to 1.5", "plan the move to 1.5"},
	} {
		if got := FixInContext(tc.fix, "prod"); got != tc.want {
			t.Errorf("FixInContext(%q)\n got %q\nwant %q", tc.fix, got, tc.want)
		}
	}
}
