//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/imgtrust/kubectl-imgtrust/pkg/audit"
	"github.com/imgtrust/kubectl-imgtrust/pkg/provenance"
	"github.com/imgtrust/kubectl-imgtrust/pkg/vulns"
	"github.com/imgtrust/kubectl-imgtrust/test/faultregistry"
	"github.com/imgtrust/kubectl-imgtrust/test/fixture"
)

// trivyScan is what one VulnerabilityReport says: the object it is filed
// under, the image it scanned, when, and its counts.
type trivyScan struct {
	name                 string // the operator's: KIND-NAME-CONTAINER
	kind, owner, contain string
	repo, tag, digest    string
	at                   time.Time
	critical, high       int
}

// trivyReport is a VulnerabilityReport as the Trivy Operator v0.29.0
// writes it (pkg/vulnerabilityreport/builder.go): its labels, the registry
// server apart from the repository, the digest the spec's tag resolved to,
// and one vulnerability entry per counted one.
func trivyReport(ns string, s trivyScan) map[string]any {
	var list []any
	add := func(n int, severity string) {
		for i := range n {
			list = append(list, map[string]any{
				"vulnerabilityID": fmt.Sprintf("CVE-2026-%s%d", severity[:1], i), "resource": "openssl",
				"installedVersion": "3.0.1", "fixedVersion": "3.0.15", "severity": severity, "title": "a test vulnerability",
				"publishedDate": "2026-01-01T00:00:00Z", "lastModifiedDate": "2026-01-02T00:00:00Z",
			})
		}
	}
	add(s.critical, "CRITICAL")
	add(s.high, "HIGH")
	if list == nil {
		list = []any{}
	}
	host, path, _ := strings.Cut(s.repo, "/")
	return map[string]any{
		"apiVersion": "aquasecurity.github.io/v1alpha1", "kind": "VulnerabilityReport",
		"metadata": map[string]any{"name": s.name, "namespace": ns, "labels": map[string]any{
			vulns.LabelResourceKind: s.kind, vulns.LabelResourceName: s.owner, vulns.LabelResourceNamespace: ns,
			vulns.LabelContainerName: s.contain, "app.kubernetes.io/managed-by": "trivy-operator",
			"resource-spec-hash": "5c8d8f8b9",
		}},
		"report": map[string]any{
			"updateTimestamp": s.at.UTC().Format(time.RFC3339),
			"scanner":         map[string]any{"name": "Trivy", "vendor": "Aqua Security", "version": "0.65.0"},
			"registry":        map[string]any{"server": host},
			"artifact":        map[string]any{"repository": path, "tag": s.tag, "digest": s.digest},
			"os":              map[string]any{"family": "alpine", "name": "3.20.3"},
			"summary": map[string]any{"criticalCount": s.critical, "highCount": s.high, "mediumCount": 0,
				"lowCount": 0, "unknownCount": 0},
			"vulnerabilities": list,
		},
	}
}

// installTrivyCRDs installs the Trivy Operator's published report CRDs
// (github.com/aquasecurity/trivy-operator@v0.29.0 deploy/helm/crds, as
// hack/crds.sh fetches them).
func installTrivyCRDs(t *testing.T) {
	t.Helper()
	crds := fetchEngineCRDs(t)
	installEngineCRD(t, filepath.Join(crds, "trivy-operator-vulnerabilityreports.yaml"), "vulnerabilityreports.aquasecurity.github.io")
	installEngineCRD(t, filepath.Join(crds, "trivy-operator-clustervulnerabilityreports.yaml"), "clustervulnerabilityreports.aquasecurity.github.io")
	installEngineCRD(t, filepath.Join(crds, "trivy-operator-sbomreports.yaml"), "sbomreports.aquasecurity.github.io")
}

// trivySBOM is an SbomReport as the Trivy Operator writes it
// (pkg/sbomreport/builder.go): the labels and artifact of its
// VulnerabilityReport, a CycloneDX BOM in components.
func trivySBOM(ns string, s trivyScan) map[string]any {
	r := trivyReport(ns, s)
	r["kind"] = "SbomReport"
	report := r["report"].(map[string]any)
	delete(report, "vulnerabilities")
	delete(report, "os")
	report["summary"] = map[string]any{"componentsCount": 2, "dependenciesCount": 1}
	report["components"] = map[string]any{"bomFormat": "CycloneDX", "specVersion": "1.5", "serialNumber": "urn:uuid:2b8e1c7e-0f0a-4c49-9d0e-8f1e0c4b2a11",
		"components": []any{map[string]any{"bom-ref": "pkg:apk/alpine/openssl@3.0.1", "type": "library", "name": "openssl", "version": "3.0.1"}}}
	return r
}

// createReports creates the reports with the real kubectl, retrying while
// discovery does not list the new kind yet.
func createReports(t *testing.T, objs []map[string]any) {
	t.Helper()
	data, err := json.Marshal(map[string]any{"apiVersion": "v1", "kind": "List", "items": objs})
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "reports.json")
	writeFile(t, file, string(data))
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(250 * time.Millisecond) {
		r := kubectl(t, "create", "-f", file)
		if r.Code == 0 {
			return
		}
		if !strings.Contains(r.Stderr, "no matches for kind") || time.Now().After(deadline) {
			t.Fatalf("creating the VulnerabilityReports: %s", r)
		}
	}
}

// vulnFindings are the item's vulnerability finding IDs.
func vulnFindings(it audit.Item) []string {
	var out []string
	for _, id := range findingIDs(it) {
		if audit.Category(id) == "vulnerabilities" {
			out = append(out, id)
		}
	}
	return out
}

// TestVulnerabilitiesThroughKubectl joins the Trivy Operator's reports,
// written as it writes them into its real CRDs, to what each workload
// runs, through the real kubectl: a scan of the running digest, of the
// tag's newer digest, of the index whose platform manifest runs, an old
// one, a report whose artifact has no digest, and none.
func TestVulnerabilitiesThroughKubectl(t *testing.T) {
	ctx := testContext(t)
	installTrivyCRDs(t)
	ns := newNamespace(t, "vulns")
	if _, err := kube.CoreV1().Secrets(ns).Create(ctx, fixture.PullSecret(ns, "regcred", stack.Registry, stack.RegistryUser, stack.RegistryPassword), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	repo := stack.Registry + "/" + ns
	web := push(t, repo+"/web:1.0")
	apiOld := push(t, repo+"/api:1.0")
	apiNew := push(t, repo+"/api:1.0") // the tag moved after the pods pulled
	old := push(t, repo+"/old:1.0")
	none := push(t, repo+"/none:1.0")
	multi, err := stack.PushIndex(ctx, repo+"/multi:1.0", "linux/amd64", "linux/arm64")
	if err != nil {
		t.Fatal(err)
	}

	w := fixture.Workloads{CS: kube, NS: ns}
	spec := func(container, image string) corev1.PodSpec {
		return fixture.PodSpec([]string{"regcred"}, fixture.Container(container, image, corev1.PullIfNotPresent))
	}
	for name, image := range map[string]string{"web": web.Ref, "api": apiNew.Ref, "none": none.Ref} {
		if err := w.Deployment(ctx, name, 1, spec("app", image)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.StatefulSet(ctx, "multi", 1, spec("app", multi.Ref)); err != nil {
		t.Fatal(err)
	}
	oldPod, err := w.Pod(ctx, "old", spec("app", old.Ref))
	if err != nil {
		t.Fatal(err)
	}
	running := map[string]string{
		"web": web.Repo() + "@" + web.Digest, "api": apiOld.Repo() + "@" + apiOld.Digest,
		"none": none.Repo() + "@" + none.Digest, "multi": multi.Repo() + "@" + multi.Platforms["linux/amd64"],
	}
	for app, id := range running {
		pods, err := fixture.WaitForPods(ctx, kube, ns, "app="+app, 1)
		if err != nil {
			t.Fatal(err)
		}
		if err := fixture.SetRunning(ctx, kube, &pods[0], map[string]string{"app": id}); err != nil {
			t.Fatal(err)
		}
	}
	if err := fixture.SetRunning(ctx, kube, oldPod, map[string]string{"app": old.Repo() + "@" + old.Digest}); err != nil {
		t.Fatal(err)
	}
	// Deployments are reported at ReplicaSet level, under the current
	// ReplicaSet's name.
	rsOf := func(deployment string) string {
		list, err := kube.AppsV1().ReplicaSets(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=" + deployment})
		if err != nil || len(list.Items) != 1 {
			t.Fatalf("the ReplicaSet of %s: %v (%d)", deployment, err, len(list.Items))
		}
		return list.Items[0].Name
	}
	now := time.Now()
	scans := []trivyScan{
		{kind: "ReplicaSet", owner: rsOf("web"), repo: web.Repo(), digest: web.Digest, at: now.Add(-time.Hour), critical: 3, high: 12},
		// The operator scanned the spec's tag after it moved: not what runs.
		{kind: "ReplicaSet", owner: rsOf("api"), repo: apiNew.Repo(), digest: apiNew.Digest, at: now.Add(-2 * time.Hour), critical: 5},
		// It recorded the index; the pods run its amd64 manifest.
		{kind: "StatefulSet", owner: "multi", repo: multi.Repo(), digest: multi.Digest, at: now.Add(-time.Hour), critical: 1},
		{kind: "Pod", owner: "old", repo: old.Repo(), digest: old.Digest, at: now.Add(-30 * 24 * time.Hour), high: 2},
		// No digest (an operator before v0.24.0 may write none): skipped.
		{kind: "ReplicaSet", owner: rsOf("none"), repo: none.Repo(), digest: "", at: now.Add(-time.Hour), critical: 9},
	}
	var objs []map[string]any
	for _, s := range scans {
		s.contain, s.tag = "app", "1.0"
		s.name = strings.ToLower(s.kind) + "-" + s.owner + "-" + s.contain
		objs = append(objs, trivyReport(ns, s))
		if s.owner == rsOf("web") || s.owner == rsOf("api") {
			// SBOMs of web's running digest and of api's other digest.
			objs = append(objs, trivySBOM(ns, s))
		}
	}
	createReports(t, objs)

	rep, r := auditJSON(t, "-A", "--vulnerabilities", "--max-scan-age", "7d")
	if r.Code != 0 && r.Code != 1 {
		t.Fatalf("audit -A --vulnerabilities: %s", r)
	}
	type want struct {
		findings      []string
		match         string
		scannedDigest string
		critical      int
	}
	cases := map[string]want{
		"Deployment/web":    {[]string{audit.IDVulnerable}, vulns.MatchRunning, web.Digest, 3},
		"Deployment/api":    {[]string{audit.IDScanOfOtherDigest}, vulns.MatchOther, apiNew.Digest, -1},
		"StatefulSet/multi": {[]string{audit.IDVulnerable}, vulns.MatchIndex, multi.Digest, 1},
		"Pod/old":           {[]string{audit.IDScanTooOld}, vulns.MatchRunning, old.Digest, 0},
		// Its only report is unreadable: not proven to have no scan.
		"Deployment/none": {[]string{audit.IDVulnerabilityLookupFailed}, "", "", -1},
	}
	for key, w := range cases {
		kind, name, _ := strings.Cut(key, "/")
		var it audit.Item
		for _, i := range rep.Items {
			if i.Namespace == ns && i.Kind == kind && i.Name == name {
				it = i
			}
		}
		if it.Name == "" {
			t.Errorf("%s: not in the report", key)
			continue
		}
		got := vulnFindings(it)
		if strings.Join(got, ",") != strings.Join(w.findings, ",") {
			t.Errorf("%s: vulnerability findings %v, want %v (all: %v)", key, got, w.findings, findingIDs(it))
		}
		v := it.Vulnerabilities
		if v == nil {
			t.Errorf("%s: no vulnerabilities in the JSON", key)
			continue
		}
		if wantErr := key == "Deployment/none"; wantErr != strings.Contains(v.Error, "report.artifact.digest is empty") {
			t.Errorf("%s: error %q", key, v.Error)
		}
		if v.Match != w.match || v.ScannedDigest != w.scannedDigest {
			t.Errorf("%s: match %q scanned %q error %q; want %q %q", key, v.Match, v.ScannedDigest, v.Error, w.match, w.scannedDigest)
		}
		if w.critical >= 0 && (v.Counts == nil || v.Counts.Critical != w.critical || v.Scanner != "Trivy 0.65.0" || v.ScannedAt == "") {
			t.Errorf("%s: counts %+v scanner %q at %q, want %d critical", key, v.Counts, v.Scanner, v.ScannedAt, w.critical)
		}
		if w.critical < 0 && v.Counts != nil {
			t.Errorf("%s: counts %+v for a scan of something else", key, v.Counts)
		}
		switch wantSBOM := key == "Deployment/web"; {
		case wantSBOM && (v.SBOM == nil || v.SBOM.Format != "cyclonedx" || v.SBOM.Source != "SbomReport "+ns+"/replicaset-"+rsOf("web")+"-app"):
			t.Errorf("%s: sbom %+v, want the SbomReport of the running digest", key, v.SBOM)
		case !wantSBOM && v.SBOM != nil:
			t.Errorf("%s: sbom %+v, want none (the only SbomReport filed under api is of another digest)", key, v.SBOM)
		}
		t.Logf("%s: %v %+v sbom %+v", key, got, *v, v.SBOM)
	}
	for _, i := range rep.Items {
		if i.Namespace == ns && i.Name == "none" {
			for _, f := range i.Findings {
				if f.ID == audit.IDVulnerabilityLookupFailed && !strings.Contains(f.Fix, "kubectl delete vulnerabilityreport replicaset-"+rsOf("none")+"-app -n "+ns) {
					t.Errorf("none: the fix %q does not name the unreadable report", f.Fix)
				}
			}
		}
	}
	warned := strings.Join(rep.Summary.Warnings, "\n")
	if !strings.Contains(warned, "VulnerabilityReport "+ns+"/replicaset-"+rsOf("none")+"-app: report.artifact.digest is empty") {
		t.Errorf("the report without a digest is not named in the warnings:\n%s", warned)
	}

	// The table's VULNS column, as a person reads it.
	tr := kubectl(t, "imgtrust", "audit", "-n", ns, "--vulnerabilities", "--max-scan-age", "7d")
	if tr.Code != 0 && tr.Code != 1 {
		t.Fatalf("audit table: %s", tr)
	}
	t.Logf("table:\n%s", tr.Stdout)
	lines := strings.Split(strings.TrimRight(tr.Stdout, "\n"), "\n")
	col := strings.Index(lines[0], "VULNS")
	if col < 0 {
		t.Fatalf("no VULNS column:\n%s", tr.Stdout)
	}
	cells := map[string]string{"deployment/web": "C3 H12", "deployment/api": "other-digest", "statefulset/multi": "C1",
		"pod/old": "stale", "deployment/none": "-"}
	seen := 0
	for _, line := range lines[1:] {
		f := strings.Fields(line)
		if len(f) < 2 || len(line) <= col {
			continue
		}
		if want, ok := cells[f[1]]; ok {
			seen++
			if got := strings.TrimSpace(line[col:]); got != want {
				t.Errorf("%s: VULNS %q, want %q", f[1], got, want)
			}
		}
	}
	if seen != len(cells) {
		t.Errorf("%d of %d workloads in the table:\n%s", seen, len(cells), tr.Stdout)
	}

	// -o wide names the report and when it scanned.
	wide := kubectl(t, "imgtrust", "audit", "-n", ns, "--vulnerabilities", "--max-scan-age", "7d", "-o", "wide")
	t.Logf("-o wide:\n%s%s", wide.Stdout, wide.Stderr)
	for _, want := range []string{"VULN REPORT", "SCANNED", ns + "/replicaset-" + rsOf("web") + "-app", ns + "/statefulset-multi-app"} {
		if !strings.Contains(wide.Stdout, want) {
			t.Errorf("-o wide does not show %q", want)
		}
	}
}

// TestVulnerabilitiesForbidden: a user who may read the workloads but not
// the reports gets vulnerability-lookup-failed, never no-vulnerability-data.
func TestVulnerabilitiesForbidden(t *testing.T) {
	ctx := testContext(t)
	installTrivyCRDs(t)
	ns := newNamespace(t, "vulnrbac")
	img := push(t, stack.Registry+"/"+ns+"/web:1.0")
	if err := (fixture.Workloads{CS: kube, NS: ns}).Deployment(ctx, "web", 1, fixture.PodSpec(nil, fixture.Container("web", img.Ref, ""))); err != nil {
		t.Fatal(err)
	}
	kubeconfig, err := stack.RestrictedKubeconfig(ctx, kube, ns, "viewer", []rbacv1.PolicyRule{
		fixture.ReadRules("", "pods", "replicationcontrollers", "serviceaccounts"),
		fixture.ReadRules("apps", "deployments", "replicasets", "daemonsets", "statefulsets"),
		fixture.ReadRules("batch", "jobs", "cronjobs"),
	}, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fixture.WaitForPods(ctx, kube, ns, "app=web", 1); err != nil {
		t.Fatal(err)
	}
	rep, r := auditJSON(t, "--kubeconfig", kubeconfig, "--vulnerabilities")
	if r.Code != 0 && r.Code != 1 {
		t.Fatalf("audit --vulnerabilities as a one-namespace user: %s", r)
	}
	it := item(t, rep, "Deployment", "web", "web")
	if got := vulnFindings(it); strings.Join(got, ",") != audit.IDVulnerabilityLookupFailed {
		t.Errorf("vulnerability findings %v, want only %s", got, audit.IDVulnerabilityLookupFailed)
	}
	if it.Vulnerabilities == nil || !strings.Contains(it.Vulnerabilities.Error, "forbidden by RBAC") {
		t.Errorf("vulnerabilities %+v: want the RBAC refusal named", it.Vulnerabilities)
	}
	t.Logf("findings %v; %+v", findingIDs(it), *it.Vulnerabilities)

	// Bad values: one line naming the flag, exit 2, nothing asked.
	for _, c := range []struct{ args, want string }{
		{"--max-severity=severe", `error: --max-severity: unknown severity "severe": use critical, high, medium or low`},
		{"--max-scan-age=soon", `error: --max-scan-age "soon": want a positive duration such as 180d, 26w or 720h`},
	} {
		bad := kubectl(t, "imgtrust", "audit", "--kubeconfig", kubeconfig, c.args)
		if bad.Code != 2 || strings.TrimSpace(bad.Stderr) != c.want || bad.Stdout != "" {
			t.Errorf("%s: want exit 2 and %q, got %s", c.args, c.want, bad)
		}
	}
}

// vulnPredicate is a predicate for `cosign attest --type vuln`: Trivy's
// JSON report (trivy image --format json) in scanner.result.
func vulnPredicate(result string) string {
	return `{"invocation":{"parameters":null,"uri":"","event_id":"","builder.id":""},
"scanner":{"uri":"pkg:github/aquasecurity/trivy@0.65.0","version":"0.65.0","db":{"uri":"","version":""},"result":` + result + `},
"metadata":{"scanStartedOn":"` + time.Now().Add(-time.Hour).UTC().Format(time.RFC3339) + `","scanFinishedOn":"` + time.Now().Add(-50*time.Minute).UTC().Format(time.RFC3339) + `"}}`
}

const trivyJSON = `{"SchemaVersion":2,"ArtifactName":"app","ArtifactType":"container_image","Results":[{"Target":"app (alpine 3.20.3)","Class":"os-pkgs","Type":"alpine","Vulnerabilities":[
{"VulnerabilityID":"CVE-2026-0001","PkgName":"openssl","InstalledVersion":"3.0.1","FixedVersion":"3.0.15","Severity":"CRITICAL"},
{"VulnerabilityID":"CVE-2026-0002","PkgName":"openssl","InstalledVersion":"3.0.1","FixedVersion":"3.0.15","Severity":"HIGH"},
{"VulnerabilityID":"CVE-2026-0003","PkgName":"busybox","InstalledVersion":"1.36.1","FixedVersion":"1.36.2","Severity":"HIGH"}]}]}`

// TestVulnerabilityAttestations: cosign vulnerability attestations made
// with the real cosign (a legacy .att and a bundle) on the running digest
// are read with the signatures, verified only with the key that signed
// them; one whose predicate is no Trivy report is skipped with its reason;
// a registry that refuses the lookup gives vulnerability-lookup-failed.
func TestVulnerabilityAttestations(t *testing.T) {
	ctx := testContext(t)
	ns := signNamespace(t, "vuln-att")
	dir := t.TempDir()
	keyA, pubA := cosignKeys(t, dir, "a")
	_, pubB := cosignKeys(t, dir, "b")
	good := filepath.Join(dir, "vuln.json")
	writeFile(t, good, vulnPredicate(trivyJSON))
	slsa := filepath.Join(dir, "slsa.json")
	writeFile(t, slsa, slsaPredicate)
	spdx := filepath.Join(dir, "spdx.json")
	writeFile(t, spdx, `{"spdxVersion":"SPDX-2.3","dataLicense":"CC0-1.0","SPDXID":"SPDXRef-DOCUMENT","name":"app","documentNamespace":"https://imgtrust.example/spdx/app",
"creationInfo":{"created":"2026-01-01T00:00:00Z","creators":["Tool: trivy-0.65.0"]},"packages":[{"name":"openssl","SPDXID":"SPDXRef-openssl","versionInfo":"3.0.1","downloadLocation":"NOASSERTION"}]}`)
	garbled := filepath.Join(dir, "garbled.json")
	writeFile(t, garbled, vulnPredicate(`{"matches":[]}`))
	w := fixture.Workloads{CS: kube, NS: ns}
	for name, predicate := range map[string]string{"legacy": good, "bundle": good, "garbled": garbled, "plain": ""} {
		var atts []attestation
		if predicate != "" {
			atts = append(atts, attestation{"vuln", predicate, name == "legacy"})
		}
		if name == "bundle" {
			// An SPDX SBOM too, found by the same lookup.
			atts = append(atts, attestation{"spdxjson", spdx, false})
		}
		if predicate == good {
			// Provenance too: --provenance --vulnerabilities reads both.
			atts = append(atts, attestation{"slsaprovenance1", slsa, name == "legacy"})
		}
		img := pushAttested(t, stack.Registry+"/"+ns+"/"+name+":1.0", keyA, atts...)
		pod, err := w.Pod(ctx, name, fixture.PodSpec([]string{"regcred"}, fixture.Container("app", img.Ref, corev1.PullIfNotPresent)))
		if err != nil {
			t.Fatal(err)
		}
		if err := fixture.SetRunning(ctx, kube, pod, map[string]string{"app": img.Repo() + "@" + img.Digest}); err != nil {
			t.Fatal(err)
		}
	}
	// A registry that refuses every signature and attestation lookup.
	reg, ca := faultregistry.StartForTest(t)
	if _, err := kube.CoreV1().Secrets(ns).Create(ctx, fixture.PullSecret(ns, "faultcred", reg.Host, reg.User, reg.Password), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := w.Deployment(ctx, "denied", 0, fixture.PodSpec([]string{"faultcred"}, fixture.Container("app", reg.Image(faultregistry.SignaturesDenied), corev1.PullAlways))); err != nil {
		t.Fatal(err)
	}
	if ok, out := stack.CosignVerifyAttestation(ctx, pubA, stack.Registry+"/"+ns+"/bundle:1.0", "vuln"); !ok {
		t.Fatalf("the oracle, cosign verify-attestation, does not verify the bundle: %s", out)
	}
	for _, c := range []struct {
		args     []string
		verified bool
	}{
		{[]string{"--verify-key", pubA}, true},
		{[]string{"--verify-key", pubB}, false},
		{[]string{"--provenance", "--verify-key", pubA}, true},
	} {
		withProvenance := slices.Contains(c.args, "--provenance")
		rep, r := auditJSON(t, append([]string{"-n", ns, "--vulnerabilities", "--registry-ca-file", ca}, c.args...)...)
		if r.Code != 0 && r.Code != 1 {
			t.Fatalf("audit --vulnerabilities %v: %s", c.args, r)
		}
		for _, name := range []string{"legacy", "bundle"} {
			it := item(t, rep, "Pod", name, "app")
			v := it.Vulnerabilities
			if v == nil || v.Verified == nil || *v.Verified != c.verified || v.Counts == nil || v.Counts.Critical != 1 || v.Counts.High != 2 ||
				v.ScannedDigest != it.RunningDigests[0] || !strings.HasPrefix(v.Source, "cosign vuln attestation sha256:") || v.Scanner != "trivy 0.65.0" {
				t.Errorf("%v %s: vulnerabilities %+v, want 1 critical, 2 high from the attestation, verified=%v", c.args, name, v, c.verified)
				continue
			}
			if got := vulnFindings(it); strings.Join(got, ",") != audit.IDVulnerable {
				t.Errorf("%v %s: vulnerability findings %v, want vulnerable", c.args, name, got)
			} else if f := it.Findings[len(it.Findings)-1]; c.verified != strings.Contains(f.Message, ", verified: signed by") ||
				!c.verified && !strings.Contains(f.Message, "unverified") {
				t.Errorf("%v %s: the message misstates verification: %s", c.args, name, f.Message)
			}
			switch sb := v.SBOM; {
			case name == "bundle" && (sb == nil || sb.Format != "spdx" || !strings.HasPrefix(sb.Source, "cosign sbom attestation sha256:") || sb.Verified == nil || *sb.Verified != c.verified):
				t.Errorf("%v %s: sbom %+v, want the SPDX attestation, verified=%v", c.args, name, sb, c.verified)
			case name != "bundle" && sb != nil:
				t.Errorf("%v %s: sbom %+v, want none", c.args, name, sb)
			case sb != nil:
				t.Logf("%v %s: sbom %s from %s verified=%v by %s", c.args, name, sb.Format, sb.Source, *sb.Verified, sb.SignedBy)
			}
			if withProvenance {
				// The one lookup found the SLSA provenance as well.
				p := it.Provenance
				if p == nil || !p.Verified || p.From != provenance.FromCosign || p.Source != "git+https://imgtrust.example/app" {
					t.Errorf("%v %s: provenance %+v, want the verified cosign SLSA attestation read with the vulnerability one", c.args, name, p)
				}
				var types []string
				for _, a := range ptrOr(it.Signature).Attestations {
					types = append(types, a.PredicateType)
				}
				want := "https://cosign.sigstore.dev/attestation/vuln/v1 https://slsa.dev/provenance/v1"
				if name == "bundle" {
					want += " https://spdx.dev/Document"
				}
				if slices.Sort(types); strings.Join(types, " ") != want {
					t.Errorf("%v %s: attestations read %v, want %s, once each", c.args, name, types, want)
				}
				t.Logf("%v %s: provenance from %s verified=%v by %s; attestations %v", c.args, name, p.From, p.Verified, p.AttestedBy, types)
			}
			t.Logf("%v %s: %v %s", c.args, name, vulnFindings(it), it.Findings[len(it.Findings)-1].Message)
		}
		for _, name := range []string{"garbled", "plain"} {
			it := item(t, rep, "Pod", name, "app")
			if got := vulnFindings(it); strings.Join(got, ",") != audit.IDNoVulnerabilityData {
				t.Errorf("%v %s: vulnerability findings %v, want no-vulnerability-data", c.args, name, got)
			}
		}
		d := item(t, rep, "Deployment", "denied", "app")
		if got := vulnFindings(d); strings.Join(got, ",") != audit.IDVulnerabilityLookupFailed || d.Vulnerabilities == nil ||
			!strings.Contains(d.Vulnerabilities.Error, "the attestations could not be read") {
			t.Errorf("%v denied: vulnerability findings %v (%+v), want only %s", c.args, got, d.Vulnerabilities, audit.IDVulnerabilityLookupFailed)
		} else {
			t.Logf("%v denied: %s", c.args, d.Vulnerabilities.Error)
		}
		g := item(t, rep, "Pod", "garbled", "app")
		if g.Vulnerabilities == nil || !strings.Contains(g.Vulnerabilities.Note, "was skipped: predicate.scanner.result is not a Trivy JSON report") {
			t.Errorf("%v garbled: the skipped attestation is not named: %+v", c.args, g.Vulnerabilities)
		}
	}
}

// ptrOr is *p, or the zero value when p is nil.
func ptrOr[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// vexPredicate is an OpenVEX v0.2.0 document for `cosign attest --type
// openvex`: product the image (REPO@DIGEST), each ID not_affected.
func vexPredicate(product string, ids ...string) string {
	var stmts []string
	for _, id := range ids {
		stmts = append(stmts, fmt.Sprintf(`{"vulnerability":{"name":%q},"products":[{"@id":%q}],"status":"not_affected","justification":"vulnerable_code_not_in_execute_path","timestamp":%q}`,
			id, product, time.Now().UTC().Format(time.RFC3339)))
	}
	return `{"@context":"https://openvex.dev/ns/v0.2.0","@id":"https://imgtrust.example/vex/` + ids[0] + `","author":"imgtrust e2e","timestamp":"` +
		time.Now().UTC().Format(time.RFC3339) + `","version":1,"statements":[` + strings.Join(stmts, ",") + `]}`
}

// TestVulnerabilitiesVEX: OpenVEX documents attached with the real cosign
// (attest --type openvex) to the running digest. Signed by the key the
// audit trusts, a not_affected critical leaves the counts (of a cosign vuln
// attestation, and of a Trivy Operator report) and the item is no longer
// vulnerable; signed by another key, it is reported and not applied.
func TestVulnerabilitiesVEX(t *testing.T) {
	ctx := testContext(t)
	installTrivyCRDs(t)
	ns := newNamespace(t, "vuln-vex")
	dir := t.TempDir()
	keyA, pubA, err := stack.CosignKeyPair(ctx, dir, "a")
	if err != nil {
		t.Fatal(err)
	}
	keyB, _, err := stack.CosignKeyPair(ctx, dir, "b")
	if err != nil {
		t.Fatal(err)
	}
	scan := filepath.Join(dir, "vuln.json")
	writeFile(t, scan, vulnPredicate(trivyJSON)) // CVE-2026-0001 critical, two high
	if _, err := kube.CoreV1().Secrets(ns).Create(ctx, fixture.PullSecret(ns, "regcred", stack.Registry, stack.RegistryUser, stack.RegistryPassword), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	w := fixture.Workloads{CS: kube, NS: ns}
	images := map[string]fixture.Pushed{}
	for _, name := range []string{"trusted", "untrusted", "reported"} {
		img := push(t, stack.Registry+"/"+ns+"/"+name+":1.0")
		images[name] = img
		if name != "reported" {
			if err := stack.CosignAttest(ctx, keyA, img.Repo()+"@"+img.Digest, scan, "vuln", false); err != nil {
				t.Fatal(err)
			}
		}
		pod, err := w.Pod(ctx, name, fixture.PodSpec([]string{"regcred"}, fixture.Container("app", img.Ref, corev1.PullIfNotPresent)))
		if err != nil {
			t.Fatal(err)
		}
		if err := fixture.SetRunning(ctx, kube, pod, map[string]string{"app": img.Repo() + "@" + img.Digest}); err != nil {
			t.Fatal(err)
		}
	}
	// The Trivy Operator's report of "reported": its first critical is CVE-2026-C0.
	rep := images["reported"]
	createReports(t, []map[string]any{trivyReport(ns, trivyScan{name: "pod-reported-app", kind: "Pod", owner: "reported", contain: "app",
		repo: rep.Repo(), tag: "1.0", digest: rep.Digest, at: time.Now().Add(-time.Hour), critical: 2, high: 1})})

	run := func() (audit.Report, string, string) {
		t.Helper()
		r, res := auditJSON(t, "-n", ns, "--vulnerabilities", "--verify-key", pubA)
		if res.Code != 0 && res.Code != 1 {
			t.Fatalf("audit --vulnerabilities: %s", res)
		}
		table := kubectl(t, "imgtrust", "audit", "-n", ns, "--vulnerabilities", "--verify-key", pubA)
		wide := kubectl(t, "imgtrust", "audit", "-n", ns, "--vulnerabilities", "--verify-key", pubA, "-o", "wide")
		return r, table.Stdout, wide.Stdout
	}
	before, table, _ := run()
	t.Logf("before any VEX:\n%s", table)
	for _, name := range []string{"trusted", "untrusted"} {
		if v := item(t, before, "Pod", name, "app").Vulnerabilities; v == nil || v.Counts == nil || v.Counts.Critical != 1 || v.VEX != nil {
			t.Fatalf("%s before any VEX: %+v, want the attested 1 critical", name, v)
		}
	}

	for name, c := range map[string]struct{ key, id string }{"trusted": {keyA, "CVE-2026-0001"}, "untrusted": {keyB, "CVE-2026-0001"}, "reported": {keyA, "CVE-2026-C0"}} {
		img := images[name]
		file := filepath.Join(dir, name+".vex.json")
		writeFile(t, file, vexPredicate(img.Repo()+"@"+img.Digest, c.id))
		if err := stack.CosignAttest(ctx, c.key, img.Repo()+"@"+img.Digest, file, "openvex", name == "reported"); err != nil {
			t.Fatal(err)
		}
	}
	if ok, out := stack.CosignVerifyAttestation(ctx, pubA, images["trusted"].Repo()+"@"+images["trusted"].Digest, "openvex"); !ok {
		t.Fatalf("the oracle, cosign verify-attestation --type openvex, does not verify the VEX: %s", out)
	}
	after, table, wide := run()
	t.Logf("after the VEX attestations:\n%s\n-o wide:\n%s", table, wide)
	for _, tc := range []struct {
		name       string
		critical   int
		verified   bool
		excluded   string
		vulnerable bool
		cell       string
	}{
		{"trusted", 0, true, "CVE-2026-0001", false, "H2"},
		{"untrusted", 1, false, "", true, "C1 H2"},
		{"reported", 1, true, "CVE-2026-C0", true, "C1 H1"},
	} {
		it := item(t, after, "Pod", tc.name, "app")
		v := it.Vulnerabilities
		if v == nil || v.Counts == nil || v.VEX == nil {
			t.Errorf("%s: vulnerabilities %+v, want counts and a vex", tc.name, v)
			continue
		}
		if v.Counts.Critical != tc.critical || v.VEX.Verified != tc.verified || strings.Join(v.VEX.Excluded, ",") != tc.excluded ||
			!strings.HasPrefix(v.VEX.Source, "cosign openvex attestation sha256:") {
			t.Errorf("%s: %d critical, vex %+v; want %d critical, verified=%v, excluded %q", tc.name, v.Counts.Critical, *v.VEX, tc.critical, tc.verified, tc.excluded)
		}
		if got := slices.Contains(vulnFindings(it), "vulnerable"); got != tc.vulnerable {
			t.Errorf("%s: vulnerable %v, want %v (%v)", tc.name, got, tc.vulnerable, vulnFindings(it))
		}
		if tc.name == "untrusted" && !strings.Contains(it.Findings[len(it.Findings)-1].Message, "is not verified by an authority you trust: not applied") {
			t.Errorf("untrusted: the finding does not say the VEX was not applied: %s", it.Findings[len(it.Findings)-1].Message)
		}
		t.Logf("%s: counts %+v vex %+v findings %v", tc.name, *v.Counts, *v.VEX, vulnFindings(it))
		for _, line := range strings.Split(table, "\n") {
			if f := strings.Fields(line); len(f) > 1 && f[1] == "pod/"+tc.name && !strings.HasSuffix(strings.TrimSpace(line), tc.cell) {
				t.Errorf("%s: table row %q, want VULNS %q", tc.name, line, tc.cell)
			}
		}
	}
	for _, want := range []string{",vex:1-excluded", ",vex:unverified"} {
		if !strings.Contains(wide, want) {
			t.Errorf("-o wide does not mention %q", want)
		}
	}
}

// TestSignVulnGateNewestAndOwnReports: sign's vulnerability gate weighs
// the newest verified vuln attestation (a later scan with a critical is
// never missed behind an older clean one attached first), and with -A
// only the reports filed under the target workload: a newer, clean report
// of the same digest that a user filed in their own namespace does not
// mask the target's criticals.
func TestSignVulnGateNewestAndOwnReports(t *testing.T) {
	ctx := testContext(t)
	installTrivyCRDs(t)
	ns := signNamespace(t, "vulngate")
	other := signNamespace(t, "vulnmask")
	dir := t.TempDir()
	key, pub, err := stack.CosignKeyPair(ctx, dir, "signer")
	if err != nil {
		t.Fatal(err)
	}
	env := []string{"DOCKER_CONFIG=" + pushConfig(t, stack.Registry), "COSIGN_PASSWORD="}

	// Two scans of one digest by the signing key: the older, clean one
	// attached first, the newer one listing a critical.
	att := runningDeployment(t, ns, "att")
	scanAt := func(at time.Time, result string) string {
		file := filepath.Join(dir, fmt.Sprintf("scan-%d.json", at.Unix()))
		writeFile(t, file, `{"invocation":{"parameters":null,"uri":"","event_id":"","builder.id":""},
"scanner":{"uri":"pkg:github/aquasecurity/trivy@0.65.0","version":"0.65.0","db":{"uri":"","version":""},"result":`+result+`},
"metadata":{"scanStartedOn":"`+at.Add(-time.Minute).UTC().Format(time.RFC3339)+`","scanFinishedOn":"`+at.UTC().Format(time.RFC3339)+`"}}`)
		return file
	}
	now := time.Now()
	for _, scan := range []string{
		scanAt(now.Add(-3*time.Hour), `{"SchemaVersion":2,"ArtifactName":"app","ArtifactType":"container_image","Results":[]}`),
		scanAt(now.Add(-time.Hour), trivyJSON),
	} {
		if err := stack.CosignAttest(ctx, key, att.Repo()+"@"+att.Digest, scan, "vuln", false); err != nil {
			t.Fatal(err)
		}
	}
	r := kubectlEnv(t, env, "imgtrust", "sign", "deploy/att", "-n", ns, "--key", key, "--require", "no-critical")
	t.Logf("sign deploy/att --require no-critical:\n%s", r)
	if r.Code != 1 || !strings.Contains(r.Stderr, "refused deployment/att") || !strings.Contains(r.Stderr, "lists 1 critical, 2 high") {
		t.Errorf("att: want refused on the newer scan's critical\n%s", r)
	}

	// The target's own report lists 2 critical; a newer clean report of the
	// same digest is filed in another namespace, under another workload.
	masked := runningDeployment(t, ns, "masked")
	list, err := kube.AppsV1().ReplicaSets(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=masked"})
	if err != nil || len(list.Items) != 1 {
		t.Fatalf("the ReplicaSet of masked: %v", err)
	}
	rs := list.Items[0].Name
	createReports(t, []map[string]any{
		trivyReport(ns, trivyScan{name: "replicaset-" + rs + "-app", kind: "ReplicaSet", owner: rs, contain: "app", repo: masked.Repo(), tag: "1", digest: masked.Digest, at: now.Add(-2 * time.Hour), critical: 2}),
		trivyReport(other, trivyScan{name: "pod-mask-app", kind: "Pod", owner: "mask", contain: "app", repo: masked.Repo(), tag: "1", digest: masked.Digest, at: now}),
	})
	r = kubectlEnv(t, env, "imgtrust", "sign", "-A", "-l", "app=masked", "--key", key, "--require", "no-critical")
	t.Logf("sign -A -l app=masked --require no-critical:\n%s", r)
	if r.Code != 1 || !strings.Contains(r.Stderr, "refused deployment/masked") || !strings.Contains(r.Stderr, "VulnerabilityReport "+ns+"/replicaset-"+rs+"-app") ||
		!strings.Contains(r.Stderr, "lists 2 critical") {
		t.Errorf("masked: want refused on its own report's 2 critical, not the other namespace's clean one\n%s", r)
	}
	// Nothing was signed (cosign verify would accept the attestations the
	// key made; audit counts only signatures, sign/v1).
	rep, ar := auditJSON(t, "-n", ns, "--verify-key", pub)
	if ar.Code != 0 && ar.Code != 1 {
		t.Fatalf("audit: %s", ar)
	}
	for _, name := range []string{"att", "masked"} {
		if s := item(t, rep, "Deployment", name, "app").Signature; s == nil || s.Status == "verified" {
			t.Errorf("%s, refused by the vulnerability gate: signature %+v, want not signed by the key", name, s)
		}
	}
}
