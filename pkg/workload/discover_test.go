package workload

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"k8s.io/cli-runtime/pkg/genericclioptions"
)

const multiDocYAML = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
  labels: {app: web}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      initContainers:
      - name: migrate
        image: ghcr.io/acme/migrate:1.0
      containers:
      - name: web
        image: nginx:1.27
---
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: shop
spec:
  selector: {app: web}
  ports: [{port: 80}]
---
apiVersion: batch/v1
kind: CronJob
metadata:
  name: nightly
  namespace: ops
spec:
  schedule: "0 3 * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: OnFailure
          initContainers:
          - name: prep
            image: busybox:1.36
          containers:
          - name: backup
            image: ghcr.io/acme/backup@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
`

const jobJSON = `{
  "apiVersion": "batch/v1",
  "kind": "Job",
  "metadata": {"name": "once", "namespace": "ops", "labels": {"app": "once"}},
  "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "run", "image": "alpine"}]}}}
}
`

const listYAML = `apiVersion: v1
kind: List
items:
- apiVersion: apps/v1
  kind: DaemonSet
  metadata: {name: agent, namespace: kube-system}
  spec:
    selector: {matchLabels: {app: agent}}
    template:
      metadata: {labels: {app: agent}}
      spec:
        containers: [{name: agent, image: quay.io/acme/agent:3}]
- apiVersion: v1
  kind: ConfigMap
  metadata: {name: agent-config, namespace: kube-system}
  data: {level: debug}
`

const nestedPodYAML = `apiVersion: v1
kind: Pod
metadata: {name: debug, namespace: shop, labels: {app: web}}
spec:
  containers: [{name: sh, image: busybox}]
`

// writeManifests lays out:
//
//	dir/app.yaml       Deployment + Service + CronJob
//	dir/job.json       Job
//	dir/list.yaml      List of a DaemonSet and a ConfigMap
//	dir/nested/pod.yaml Pod (only read with -R)
func writeManifests(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{
		"app.yaml":        multiDocYAML,
		"job.json":        jobJSON,
		"list.yaml":       listYAML,
		"nested/pod.yaml": nestedPodYAML,
	}
	for name, content := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// offlineFlags are kubeconfig flags that point at no usable cluster: a
// kubeconfig path that does not exist and an API server nothing listens on.
// Reading manifests must not need either.
func offlineFlags(t *testing.T) *genericclioptions.ConfigFlags {
	t.Helper()
	flags := genericclioptions.NewConfigFlags(false)
	kubeconfig := filepath.Join(t.TempDir(), "no-such-kubeconfig")
	server := "https://127.0.0.1:1"
	flags.KubeConfig = &kubeconfig
	flags.APIServer = &server
	return flags
}

const unreachableKubeconfig = `apiVersion: v1
kind: Config
clusters:
- name: none
  cluster: {server: "https://127.0.0.1:1"}
contexts:
- name: none
  context: {cluster: none, user: none, namespace: shop}
current-context: none
users:
- name: none
  user: {token: not-a-secret}
`

func workloadIDs(d *Discovery) []string {
	var out []string
	for _, w := range d.Workloads {
		var paths []string
		for _, c := range w.Containers {
			paths = append(paths, c.Path)
		}
		out = append(out, w.Namespace+"/"+w.Kind+"/"+w.Name+" "+strings.Join(paths, ","))
	}
	return out
}

func TestDiscoverFiles(t *testing.T) {
	dir := writeManifests(t)
	web := "shop/Deployment/web /spec/template/spec/initContainers/0/image,/spec/template/spec/containers/0/image"
	nightly := "ops/CronJob/nightly /spec/jobTemplate/spec/template/spec/initContainers/0/image,/spec/jobTemplate/spec/template/spec/containers/0/image"
	once := "ops/Job/once /spec/template/spec/containers/0/image"
	agent := "kube-system/DaemonSet/agent /spec/template/spec/containers/0/image"
	debug := "shop/Pod/debug /spec/containers/0/image"

	tests := []struct {
		name  string
		scope Scope
		want  []string
	}{
		{
			name:  "directory, not recursive",
			scope: Scope{Filenames: []string{dir}},
			want:  []string{agent, nightly, once, web},
		},
		{
			name:  "directory, recursive",
			scope: Scope{Filenames: []string{dir}, Recursive: true},
			want:  []string{agent, nightly, once, web, debug},
		},
		{
			name:  "single multi-document file",
			scope: Scope{Filenames: []string{filepath.Join(dir, "app.yaml")}},
			want:  []string{nightly, web},
		},
		{
			name:  "json file and list file",
			scope: Scope{Filenames: []string{filepath.Join(dir, "job.json"), filepath.Join(dir, "list.yaml")}},
			want:  []string{agent, once},
		},
		{
			name:  "selector",
			scope: Scope{Filenames: []string{dir}, Recursive: true, Selector: "app in (web, once)"},
			want:  []string{once, web, debug},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !tt.scope.Offline() {
				t.Fatal("scope with files is not Offline()")
			}
			d, err := Discover(context.Background(), offlineFlags(t), tt.scope)
			if err != nil {
				t.Fatalf("Discover() err = %v", err)
			}
			if got := workloadIDs(d); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Discover() workloads =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
			// Services and ConfigMaps are expected in manifest folders.
			if len(d.Warnings) != 0 {
				t.Errorf("Discover() warnings = %q, want none", d.Warnings)
			}
		})
	}
}

func TestDiscoverFilesWarnings(t *testing.T) {
	dir := t.TempDir()
	content := multiDocYAML + `---
apiVersion: example.com/v1
kind: Widget
metadata: {name: gadget}
spec: {size: 3}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: broken, namespace: shop}
spec:
  template:
    spec:
      containers: nginx
`
	if err := os.WriteFile(filepath.Join(dir, "all.yaml"), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	d, err := Discover(context.Background(), offlineFlags(t), Scope{Filenames: []string{dir}})
	if err != nil {
		t.Fatalf("Discover() err = %v", err)
	}
	if got := len(d.Workloads); got != 2 {
		t.Errorf("Discover() found %d workloads (%q), want 2: one bad object must not hide the rest", got, workloadIDs(d))
	}
	// A kind without a pod template is skipped (one summary line in the
	// command); a pod spec that does not decode is an input error: the
	// report does not cover it, so a gate must not pass.
	if len(d.Skipped) != 1 || d.Skipped[0].Kind != "Widget" || d.Skipped[0].Name != "gadget" || d.Skipped[0].Line == 0 {
		t.Errorf("Skipped = %+v, want Widget gadget with its line", d.Skipped)
	}
	if len(d.InputErrors) != 1 || !strings.Contains(d.InputErrors[0].Error(), "StatefulSet broken: reading the pod spec at .spec.template.spec") ||
		d.InputErrors[0].File != filepath.Join(dir, "all.yaml") {
		t.Errorf("InputErrors = %q, want the broken StatefulSet in all.yaml", d.InputErrors)
	}
	if len(d.Warnings) != 0 {
		t.Errorf("Warnings = %q, want none", d.Warnings)
	}
}

func TestDiscoverErrors(t *testing.T) {
	dir := writeManifests(t)
	tests := []struct {
		name    string
		scope   Scope
		wantErr string
	}{
		{
			name:    "invalid selector with files",
			scope:   Scope{Filenames: []string{dir}, Selector: "app in (web"},
			wantErr: `invalid --selector "app in (web"`,
		},
		{
			// NewClient only builds a client; the selector is checked
			// before anything is listed.
			name:    "invalid selector against a cluster",
			scope:   Scope{Namespace: "shop", Selector: "app in (web"},
			wantErr: `invalid --selector "app in (web"`,
		},
		{
			// Nothing is read (Listing is not called) before the API
			// server answers.
			name:    "unreachable API server",
			scope:   Scope{Namespace: "shop"},
			wantErr: "refused",
		},
		{
			name:    "missing file",
			scope:   Scope{Filenames: []string{filepath.Join(dir, "nope.yaml")}},
			wantErr: "reading manifests",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			flags := offlineFlags(t)
			if !tt.scope.Offline() {
				// A client can be built, for a port nothing listens on; the
				// selector must be rejected before anything is listed.
				kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
				if err := os.WriteFile(kubeconfig, []byte(unreachableKubeconfig), 0o600); err != nil {
					t.Fatal(err)
				}
				flags.KubeConfig = &kubeconfig
			}
			listing := false
			tt.scope.Listing = func() { listing = true }
			d, err := Discover(context.Background(), flags, tt.scope)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Discover() = %v, %v; want an error containing %q", d, err, tt.wantErr)
			}
			if listing {
				t.Error("Scope.Listing was called: the early start would read the cluster before the error is said")
			}
		})
	}
}

func TestDiscoveryNamespaces(t *testing.T) {
	d := &Discovery{Workloads: []Workload{
		{Object: Object{Namespace: "shop"}}, {Object: Object{Namespace: "ops"}},
		{Object: Object{Namespace: "shop"}}, {Object: Object{Namespace: ""}},
	}}
	if got, want := d.Namespaces(), []string{"", "ops", "shop"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Namespaces() = %q, want %q", got, want)
	}
}
