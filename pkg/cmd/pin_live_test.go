package cmd

import (
	"testing"

	"github.com/imgtrust/kubectl-imgtrust/pkg/workload"
)

func TestGitOpsManager(t *testing.T) {
	for _, tt := range []struct {
		labels, annotations map[string]string
		want                string
	}{
		{map[string]string{"app.kubernetes.io/managed-by": "Helm"}, nil, "Helm"},
		{nil, map[string]string{"argocd.argoproj.io/tracking-id": "app:apps/Deployment:shop/web"}, "Argo CD"},
		{map[string]string{"kustomize.toolkit.fluxcd.io/name": "apps"}, nil, "Flux"},
		{map[string]string{"app": "web"}, nil, ""},
	} {
		if got := gitOpsManager(workload.Object{Labels: tt.labels, Annotations: tt.annotations}); got != tt.want {
			t.Errorf("gitOpsManager(%v, %v) = %q, want %q", tt.labels, tt.annotations, got, tt.want)
		}
	}
}
