package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/yaml"

	"github.com/imgtrust/kubectl-imgtrust/pkg/vulns"
	"github.com/imgtrust/kubectl-imgtrust/test/fixture"
)

var (
	crdGVR    = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
	reportGVR = schema.GroupVersionResource{Group: "aquasecurity.github.io", Version: "v1alpha1", Resource: "vulnerabilityreports"}
)

// scan is what the demo's VulnerabilityReport says.
type scan struct {
	ns, kind, owner, container string
	image                      fixture.Pushed // what the operator scanned: its tag and digest
	critical, high             int
}

// scanReport files a VulnerabilityReport as the Trivy Operator v0.29.0
// writes it (pkg/vulnerabilityreport/builder.go), into its published CRD
// from $IMGTRUST_DEMO_CRDS (hack/crds.sh). No operator runs here: the
// report stands for a scan it made an hour ago.
func (d *demo) scanReport(ctx context.Context, s scan) error {
	dir := os.Getenv("IMGTRUST_DEMO_CRDS")
	if dir == "" {
		return nil
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", d.s.Kubeconfig)
	if err != nil {
		return err
	}
	dc, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return err
	}
	if err := installCRD(ctx, dc, filepath.Join(dir, "trivy-operator-vulnerabilityreports.yaml")); err != nil {
		return err
	}

	var list []any
	add := func(n int, severity, pkg, installed, fixed string) {
		for i := range n {
			list = append(list, map[string]any{
				"vulnerabilityID": fmt.Sprintf("CVE-2026-%s%03d", severity[:1], i+1), "resource": pkg,
				"installedVersion": installed, "fixedVersion": fixed, "severity": severity,
				"title": pkg + ": a demo vulnerability", "publishedDate": "2026-10-01T00:00:00Z", "lastModifiedDate": "2026-10-02T00:00:00Z",
			})
		}
	}
	add(s.critical, "CRITICAL", "openssl", "3.0.1", "3.0.15")
	add(s.high, "HIGH", "busybox", "1.36.1", "1.36.2")
	tag := strings.TrimPrefix(s.image.Ref, s.image.Repo()+":")
	host, path, _ := strings.Cut(s.image.Repo(), "/")
	name := strings.ToLower(s.kind) + "-" + s.owner + "-" + s.container
	obj := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "aquasecurity.github.io/v1alpha1", "kind": "VulnerabilityReport",
		"metadata": map[string]any{"name": name, "namespace": s.ns, "labels": map[string]any{
			vulns.LabelResourceKind: s.kind, vulns.LabelResourceName: s.owner, vulns.LabelResourceNamespace: s.ns,
			vulns.LabelContainerName: s.container, "app.kubernetes.io/managed-by": "trivy-operator",
		}},
		"report": map[string]any{
			"updateTimestamp": time.Now().Add(-time.Hour).UTC().Format(time.RFC3339),
			"scanner":         map[string]any{"name": "Trivy", "vendor": "Aqua Security", "version": "0.65.0"},
			"registry":        map[string]any{"server": host},
			"artifact":        map[string]any{"repository": path, "tag": tag, "digest": s.image.Digest},
			"os":              map[string]any{"family": "alpine", "name": "3.20.3"},
			"summary": map[string]any{"criticalCount": s.critical, "highCount": s.high, "mediumCount": 0,
				"lowCount": 0, "unknownCount": 0},
			"vulnerabilities": list,
		},
	}}
	// The new kind is served a moment after the CRD is established.
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(250 * time.Millisecond) {
		_, err := dc.Resource(reportGVR).Namespace(s.ns).Create(ctx, obj, metav1.CreateOptions{})
		if err == nil || apierrors.IsAlreadyExists(err) {
			return nil
		}
		if !apierrors.IsNotFound(err) || time.Now().After(deadline) {
			return fmt.Errorf("creating VulnerabilityReport %s/%s: %w", s.ns, name, err)
		}
	}
}

// installCRD creates the CRD in file, as published, and waits until it
// is established.
func installCRD(ctx context.Context, dc dynamic.Interface, file string) error {
	data, err := os.ReadFile(file)
	if err != nil {
		return fmt.Errorf("%w (run hack/crds.sh)", err)
	}
	crd := &unstructured.Unstructured{}
	if err := yaml.Unmarshal(data, &crd.Object); err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	if _, err := dc.Resource(crdGVR).Create(ctx, crd, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("installing %s: %w", crd.GetName(), err)
	}
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(250 * time.Millisecond) {
		got, err := dc.Resource(crdGVR).Get(ctx, crd.GetName(), metav1.GetOptions{})
		if err == nil && established(got) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s is not established after 60s", crd.GetName())
		}
	}
}

func established(crd *unstructured.Unstructured) bool {
	conds, _, _ := unstructured.NestedSlice(crd.Object, "status", "conditions")
	for _, c := range conds {
		if m, ok := c.(map[string]any); ok && m["type"] == "Established" && m["status"] == "True" {
			return true
		}
	}
	return false
}

// vulnPredicate is what `cosign attest --type vuln` signs: Trivy's JSON
// report (trivy image --format json) in scanner.result.
func vulnPredicate() string {
	now := time.Now().UTC()
	return `{"invocation":{"parameters":null,"uri":"","event_id":"","builder.id":""},
"scanner":{"uri":"pkg:github/aquasecurity/trivy@0.65.0","version":"0.65.0","db":{"uri":"","version":""},"result":
{"SchemaVersion":2,"ArtifactName":"report","ArtifactType":"container_image","Results":[{"Target":"report (alpine 3.20.3)","Class":"os-pkgs","Type":"alpine","Vulnerabilities":[
{"VulnerabilityID":"CVE-2026-0002","PkgName":"busybox","InstalledVersion":"1.36.1","FixedVersion":"1.36.2","Severity":"HIGH"},
{"VulnerabilityID":"CVE-2026-0003","PkgName":"musl","InstalledVersion":"1.2.4","FixedVersion":"1.2.5","Severity":"MEDIUM"}]}]}},
"metadata":{"scanStartedOn":"` + now.Add(-2*time.Hour).Format(time.RFC3339) + `","scanFinishedOn":"` + now.Add(-2*time.Hour+time.Minute).Format(time.RFC3339) + `"}}`
}

// spdxPredicate is a small valid SPDX 2.3 document, what `cosign attest
// --type spdxjson` signs for an SBOM.
func spdxPredicate(image string) string {
	return `{"spdxVersion":"SPDX-2.3","dataLicense":"CC0-1.0","SPDXID":"SPDXRef-DOCUMENT","name":"` + image + `",
"documentNamespace":"https://imgtrust.dev/demo/spdx/api-2.0","creationInfo":{"created":"2026-11-20T08:00:00Z","creators":["Tool: imgtrust-demo"]},
"packages":[{"name":"openssl","SPDXID":"SPDXRef-Package-openssl","versionInfo":"3.0.15","downloadLocation":"NOASSERTION","licenseConcluded":"Apache-2.0"}],
"relationships":[{"spdxElementId":"SPDXRef-DOCUMENT","relationshipType":"DESCRIBES","relatedSpdxElement":"SPDXRef-Package-openssl"}]}`
}
