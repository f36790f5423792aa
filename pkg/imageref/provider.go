package imageref

import "strings"

// ProviderServed reports whether host looks like a registry that kubelet
// credential providers serve: Amazon ECR, Google GCR and Artifact Registry,
// Azure ACR.
func ProviderServed(host string) bool {
	h := strings.ToLower(host)
	if i := strings.LastIndexByte(h, ':'); i >= 0 && !strings.Contains(h[i:], "]") {
		h = h[:i]
	}
	switch {
	case strings.Contains(h, ".dkr.ecr.") && (strings.HasSuffix(h, ".amazonaws.com") || strings.HasSuffix(h, ".amazonaws.com.cn")):
		return true
	case h == "gcr.io" || strings.HasSuffix(h, ".gcr.io") || strings.HasSuffix(h, "-docker.pkg.dev"):
		return true
	case strings.HasSuffix(h, ".azurecr.io") || strings.HasSuffix(h, ".azurecr.cn") || strings.HasSuffix(h, ".azurecr.us"):
		return true
	}
	return false
}
