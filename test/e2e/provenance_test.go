//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/imgtrust/kubectl-imgtrust/pkg/audit"
	"github.com/imgtrust/kubectl-imgtrust/pkg/provenance"
	"github.com/imgtrust/kubectl-imgtrust/test/fixture"
)

// The repository's tags for the provenance and freshness tests: what each
// was pushed with.
const (
	provSource   = "https://github.com/acme/app"
	provRevision = "0123456789abcdef0123456789abcdef01234567"
	slsaRevision = "89abcdef0123456789abcdef0123456789abcdef"
	slsaBuilder  = "https://github.com/docker/buildx@v0.20.0"
)

// provenanceRepo pushes one repository with tags 1.2.3 (OCI annotations,
// written by the real crane), 1.2.4 (label-schema labels), 1.3.0 (a
// BuildKit index with SLSA provenance per platform), 2.0.0 (a BuildKit
// index whose annotation names another revision), 1.2.3-alpine (nothing)
// and latest (annotated as built in 2020).
func provenanceRepo(t *testing.T, repo string) map[string]fixture.Pushed {
	t.Helper()
	ctx := testContext(t)
	out := map[string]fixture.Pushed{}
	craneDir := t.TempDir()
	mutate := func(tag string, flags ...string) {
		base := push(t, repo+":base-"+tag)
		args := append([]string{"mutate", base.Ref, "-t", repo + ":" + tag}, flags...)
		ref, err := stack.Crane(ctx, craneDir, args...)
		if err != nil {
			t.Fatal(err)
		}
		digest, err := stack.Crane(ctx, craneDir, "digest", repo+":"+tag)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("crane mutate %s -> %s", tag, ref)
		out[tag] = fixture.Pushed{Ref: repo + ":" + tag, Digest: digest}
	}
	mutate("1.2.3",
		"--annotation", "org.opencontainers.image.source="+provSource,
		"--annotation", "org.opencontainers.image.revision="+provRevision,
		"--annotation", "org.opencontainers.image.created=2026-11-01T10:00:00Z",
		"--annotation", "org.opencontainers.image.version=1.2.3",
		"--annotation", "org.opencontainers.image.base.name=docker.io/library/alpine:3.20")
	mutate("1.2.4",
		"--label", "org.label-schema.vcs-url=https://github.com/acme/app.git",
		"--label", "org.label-schema.vcs-ref=abcdef1",
		"--label", "org.label-schema.build-date=2026-10-20T00:00:00Z")
	mutate("latest", "--annotation", "org.opencontainers.image.created=2020-01-02T00:00:00Z",
		"--annotation", "org.opencontainers.image.source="+provSource)
	out["1.2.3-alpine"] = push(t, repo+":1.2.3-alpine")
	index := func(tag string, annotations map[string]string, platforms ...string) {
		p, err := stack.PushBuildKitIndex(ctx, repo+":"+tag, annotations, func(subject string) string {
			return fixture.SLSAv1(subject, "https://github.com/acme/app.git#refs/tags/v"+tag, slsaRevision, slsaBuilder, "2026-11-20T08:00:00Z")
		}, platforms...)
		if err != nil {
			t.Fatal(err)
		}
		out[tag] = p
	}
	index("1.3.0", map[string]string{"org.opencontainers.image.source": provSource}, "linux/amd64", "linux/arm64")
	// One platform: it is read without knowing the node's.
	index("2.0.0", map[string]string{"org.opencontainers.image.revision": provRevision}, "linux/amd64")
	return out
}

// TestProvenanceThroughKubectl reads the provenance of every kind of image
// through the real kubectl, checks each field, where it came from, the
// findings and the request budget (from the registry's access log).
func TestProvenanceThroughKubectl(t *testing.T) {
	ctx := testContext(t)
	ns := newNamespace(t, "prov")
	repoPath := ns + "/app"
	images := provenanceRepo(t, stack.Registry+"/"+repoPath)
	if _, err := kube.CoreV1().Secrets(ns).Create(ctx, fixture.PullSecret(ns, "regcred", stack.Registry, stack.RegistryUser, stack.RegistryPassword), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	w := fixture.Workloads{CS: kube, NS: ns}
	deployments := map[string]string{"annotated": "1.2.3", "labelled": "1.2.4", "buildkit": "1.3.0", "mismatch": "2.0.0", "plain": "1.2.3-alpine", "old": "latest"}
	for name, tag := range deployments {
		if err := w.Deployment(ctx, name, 0, fixture.PodSpec([]string{"regcred"}, fixture.Container("app", images[tag].Ref, corev1.PullAlways))); err != nil {
			t.Fatal(err)
		}
	}
	// A pod on an arm64 node runs the BuildKit index: its platform picks
	// the manifest whose config and attestation are read.
	node := "arm-" + randomSuffix()
	if err := fixture.CreateNode(ctx, kube, node, "linux", "arm64"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = kube.CoreV1().Nodes().Delete(ctx, node, metav1.DeleteOptions{}) })
	spec := fixture.PodSpec([]string{"regcred"}, fixture.Container("app", images["1.3.0"].Ref, corev1.PullAlways))
	spec.NodeName = node
	pod, err := w.Pod(ctx, "on-arm", spec)
	if err != nil {
		t.Fatal(err)
	}
	if err := fixture.SetRunning(ctx, kube, pod, map[string]string{"app": images["1.3.0"].Repo() + "@" + images["1.3.0"].Digest}); err != nil {
		t.Fatal(err)
	}

	getsBefore := registryGETs(t, repoPath)
	rep, r := auditJSON(t, "-n", ns, "--provenance", "--max-age", "180d")
	if r.Code != 0 {
		t.Fatalf("audit --provenance: %s", r)
	}
	gets := registryGETs(t, repoPath) - getsBefore

	type want struct {
		source, revision, version, builder, from, created, platform string
		sources                                                     []string
		findings                                                    []string
		absent                                                      []string
	}
	prov := []string{audit.IDNoProvenance, audit.IDProvenanceMismatch, audit.IDImageTooOld, audit.IDProvenanceLookupFailed}
	cases := map[string]want{
		"Deployment/annotated": {source: provSource, revision: provRevision, version: "1.2.3", from: provenance.FromAnnotation,
			created: "2026-11-01T10:00:00Z", sources: []string{"annotation"}},
		"Deployment/labelled": {source: "https://github.com/acme/app.git", revision: "abcdef1", from: provenance.FromLabel,
			created: "2026-10-20T00:00:00Z", sources: []string{"label"}},
		// No pods: the platform is unknown, so only the index is read.
		"Deployment/buildkit": {source: provSource, from: provenance.FromAnnotation, sources: []string{"annotation"}},
		"Pod/on-arm": {source: provSource, revision: slsaRevision, builder: slsaBuilder, from: provenance.FromAnnotation,
			created: "2026-11-20T08:00:00Z", platform: "linux/arm64", sources: []string{"annotation", "slsa-attestation"}},
		"Deployment/mismatch": {source: "https://github.com/acme/app.git#refs/tags/v2.0.0", revision: provRevision, builder: slsaBuilder,
			from: provenance.FromAnnotation, created: "2026-11-20T08:00:00Z", platform: "linux/amd64",
			sources: []string{"annotation", "slsa-attestation"}, findings: []string{audit.IDProvenanceMismatch}},
		"Deployment/plain": {findings: []string{audit.IDNoProvenance}},
		"Deployment/old":   {source: provSource, from: provenance.FromAnnotation, created: "2020-01-02T00:00:00Z", sources: []string{"annotation"}, findings: []string{audit.IDImageTooOld}},
	}
	for key, c := range cases {
		kind, name, _ := strings.Cut(key, "/")
		it := item(t, rep, kind, name, "app")
		p := it.Provenance
		if p == nil {
			t.Errorf("%s: no provenance", key)
			continue
		}
		t.Logf("%-20s %+v", key, *p)
		got := fmt.Sprintf("%q %q %q %q %q %q %v", p.Source, p.Revision, p.Version, p.BuilderID, p.From, p.Created, p.Sources)
		exp := fmt.Sprintf("%q %q %q %q %q %q %v", c.source, c.revision, c.version, c.builder, c.from, c.created, c.sources)
		if got != exp {
			t.Errorf("%s:\n got  %s\n want %s", key, got, exp)
		}
		if c.platform != "" && p.Platform != c.platform {
			t.Errorf("%s: platform %q, want %q", key, p.Platform, c.platform)
		}
		if p.Requests > provenance.MaxRequests || p.Error != "" {
			t.Errorf("%s: %d requests (at most %d), error %q", key, p.Requests, provenance.MaxRequests, p.Error)
		}
		ids := findingIDs(it)
		for _, id := range prov {
			if slices.Contains(ids, id) != slices.Contains(c.findings, id) {
				t.Errorf("%s: findings %v, want exactly %v of the provenance ones", key, ids, c.findings)
				break
			}
		}
	}
	if it := item(t, rep, "Deployment", "buildkit", "app"); !strings.Contains(it.Provenance.Note, "pass --platform") {
		t.Errorf("a multi-arch image without a known platform says so: %q", it.Provenance.Note)
	}
	if m := findingFor(t, item(t, rep, "Deployment", "mismatch", "app"), audit.IDProvenanceMismatch).Message; !strings.Contains(m, provRevision) || !strings.Contains(m, slsaRevision) {
		t.Errorf("the mismatch names both revisions: %s", m)
	}

	// Ages that cannot be judged are counted, not passed over in silence:
	// the BuildKit index without a platform, and the plain image.
	if !slices.ContainsFunc(rep.Summary.Warnings, func(w string) bool {
		return strings.Contains(w, "--max-age: the build time of 2 of 7 digests is unknown")
	}) {
		t.Errorf("want a warning counting the unknown ages: %q", rep.Summary.Warnings)
	}

	// The cost: what the report says is what the registry served, within
	// the budget per digest.
	c := rep.Summary.Cost
	if c == nil || c.Provenance == nil {
		t.Fatalf("no cost in the summary: %+v", rep.Summary)
	}
	if c.Provenance.Lookups != len(cases) || c.Provenance.Requests > provenance.MaxRequests*c.Provenance.Lookups {
		t.Errorf("cost %+v: want %d lookups, at most %d requests each", *c.Provenance, len(cases), provenance.MaxRequests)
	}
	if gets != c.Provenance.Requests {
		t.Errorf("the registry served %d GETs of %s, the report counts %d provenance requests", gets, repoPath, c.Provenance.Requests)
	}

	// The wide table through kubectl: SOURCE, REVISION, CREATED, and the
	// cost on stderr.
	table := kubectl(t, "imgtrust", "audit", "-n", ns, "--provenance", "-o", "wide", "deploy/annotated", "pod/on-arm")
	mustSucceed(t, table, "audit --provenance -o wide")
	for _, s := range []string{"SOURCE", "REVISION", "CREATED", provSource, provRevision[:12], slsaRevision[:12], "2026-11-20"} {
		if !strings.Contains(table.Stdout, s) {
			t.Errorf("the wide table lacks %q:\n%s", s, table.Stdout)
		}
	}
	if !strings.Contains(table.Stderr, "provenance: 2 digests read with") {
		t.Errorf("the cost is said on stderr:\n%s", table.Stderr)
	}
	// A bad --max-age is one line and exit 1... of usage.
	bad := kubectl(t, "imgtrust", "audit", "-n", ns, "--max-age", "soon")
	if bad.Code == 0 || !strings.Contains(bad.Stderr, `--max-age "soon": want a positive duration such as 180d`) {
		t.Errorf("--max-age soon: %s", bad)
	}
}

// registryGETs counts the private registry's GETs of a repository's
// manifests and blobs so far.
func registryGETs(t *testing.T, repo string) int {
	return privateLogCount(t, `"GET /v2/`+repo+"/manifests/", `"GET /v2/`+repo+"/blobs/")
}

// privateLogCount counts the private registry's access-log lines that
// hold any of the markers.
func privateLogCount(t *testing.T, markers ...string) int {
	t.Helper()
	n := 0
	for _, line := range accessLogLines(t, stack.RegistryAccessLog) {
		for _, m := range markers {
			if strings.Contains(line, m) {
				n++
				break
			}
		}
	}
	return n
}

func accessLogLines(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(string(b), "\n")
}

// TestUpdatesThroughKubectl lists the repository's tags once, however
// many workloads run it, and reports newer releases by family.
func TestUpdatesThroughKubectl(t *testing.T) {
	ctx := testContext(t)
	ns := newNamespace(t, "updates")
	repoPath := ns + "/app"
	images := provenanceRepo(t, stack.Registry+"/"+repoPath)
	if _, err := kube.CoreV1().Secrets(ns).Create(ctx, fixture.PullSecret(ns, "regcred", stack.Registry, stack.RegistryUser, stack.RegistryPassword), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	w := fixture.Workloads{CS: kube, NS: ns}
	running := map[string]string{
		"web": images["1.2.3"].Ref, "api": images["1.2.3"].Ref, "edge": images["1.2.3-alpine"].Ref,
		"next": images["1.3.0"].Ref, "newest": images["2.0.0"].Ref, "floating": images["latest"].Ref,
		"pinned": images["1.2.4"].Pinned(),
	}
	for name, ref := range running {
		if err := w.Deployment(ctx, name, 0, fixture.PodSpec([]string{"regcred"}, fixture.Container("app", ref, corev1.PullAlways))); err != nil {
			t.Fatal(err)
		}
	}
	listsBefore := tagListings(t, repoPath)
	rep, r := auditJSON(t, "-n", ns, "--updates")
	if r.Code != 0 {
		t.Fatalf("audit --updates: %s", r)
	}
	if got := tagListings(t, repoPath) - listsBefore; got != 1 {
		t.Errorf("the registry served %d tag listings of %s, want 1 for the whole run", got, repoPath)
	}
	if c := rep.Summary.Cost; c == nil || c.Updates == nil || c.Updates.Lookups != 1 || c.Updates.Requests != 1 {
		t.Errorf("cost: %+v, want one listing in one request", rep.Summary.Cost)
	}
	for name, want := range map[string]string{
		"web":      "patch=1.2.4 minor=1.3.0 major=2.0.0 newer-patch-available,newer-minor-available,newer-major-available",
		"api":      "patch=1.2.4 minor=1.3.0 major=2.0.0 newer-patch-available,newer-minor-available,newer-major-available",
		"pinned":   "patch= minor=1.3.0 major=2.0.0 newer-minor-available,newer-major-available",
		"next":     "patch= minor= major=2.0.0 newer-major-available",
		"newest":   "patch= minor= major= ",
		"edge":     "patch= minor= major= ", // 1.2.3-alpine: its family has nothing newer
		"floating": "patch= minor= major= ", // latest: not a version
	} {
		it := item(t, rep, "Deployment", name, "app")
		u := it.Updates
		if u == nil {
			t.Errorf("%s: no updates", name)
			continue
		}
		var ids []string
		for _, id := range findingIDs(it) {
			if strings.HasPrefix(id, "newer-") || id == audit.IDUpdatesLookupFailed {
				ids = append(ids, id)
			}
		}
		if got := fmt.Sprintf("patch=%s minor=%s major=%s %s", u.NewestPatch, u.NewestMinor, u.NewestMajor, strings.Join(ids, ",")); got != want {
			t.Errorf("%s (%s): %s, want %s", name, it.Image, got, want)
		}
		if name == "floating" {
			if u.Note == "" || u.CheckedTags != 0 {
				t.Errorf("latest is skipped with a note and no listing: %+v", u)
			}
		} else if u.CheckedTags < 6 {
			t.Errorf("%s: checked %d tags, want every tag of the repository", name, u.CheckedTags)
		}
	}
	table := kubectl(t, "imgtrust", "audit", "-n", ns, "--updates", "deploy/web")
	if !strings.Contains(table.Stderr, "newer-patch-available") || !strings.Contains(table.Stderr, "move to 1.2.4") || !strings.Contains(table.Stderr, "updates: tags of 1 repository listed with 1 registry request") {
		t.Errorf("the summary names the fix and the cost:\n%s", table)
	}
}

// tagListings counts the private registry's tag listings of a repository.
func tagListings(t *testing.T, repo string) int {
	return privateLogCount(t, `"GET /v2/`+repo+"/tags/list")
}

// TestProvenanceFromCosignAttestations: SLSA provenance attested with the
// real cosign (a legacy .att and a bundle) is read with the signatures,
// and counts as verified only with the key that signed it.
func TestProvenanceFromCosignAttestations(t *testing.T) {
	ctx := testContext(t)
	ns := signNamespace(t, "prov-att")
	dir := t.TempDir()
	keyA, pubA := cosignKeys(t, dir, "a")
	_, pubB := cosignKeys(t, dir, "b")
	predicate := filepath.Join(dir, "provenance.json")
	writeFile(t, predicate, slsaPredicate)
	w := fixture.Workloads{CS: kube, NS: ns}
	for name, legacy := range map[string]bool{"legacy": true, "bundle": false} {
		img := pushAttested(t, stack.Registry+"/"+ns+"/"+name+":1.0.0", keyA, attestation{"slsaprovenance1", predicate, legacy})
		if err := w.Deployment(ctx, name, 0, fixture.PodSpec([]string{"regcred"}, fixture.Container("app", img.Ref, corev1.PullAlways))); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		args     []string
		verified bool
		from     string
	}{
		{[]string{"--verify-key", pubA}, true, provenance.FromCosign},
		{[]string{"--verify-key", pubB}, false, provenance.FromCosign},
		{[]string{"--signatures"}, false, provenance.FromCosign},
		{nil, false, ""}, // without the signatures, cosign attestations are not looked for
	} {
		rep, r := auditJSON(t, append([]string{"-n", ns, "--provenance"}, c.args...)...)
		if r.Code != 0 {
			t.Fatalf("audit --provenance %v: %s", c.args, r)
		}
		for _, name := range []string{"legacy", "bundle"} {
			it := item(t, rep, "Deployment", name, "app")
			p := it.Provenance
			if p == nil || p.Verified != c.verified || p.From != c.from {
				t.Errorf("%v %s: provenance %+v, want verified=%v from %q", c.args, name, p, c.verified, c.from)
				continue
			}
			if c.from == "" {
				if f := findingFor(t, it, audit.IDNoProvenance); !strings.Contains(f.Message, "add --signatures or --verify-key") {
					t.Errorf("no-provenance says how to look for cosign attestations: %s", f.Message)
				}
				continue
			}
			if p.Source != "git+https://imgtrust.example/app" || p.Revision != "0123456789abcdef0123456789abcdef01234567" || p.BuilderID != "https://imgtrust.example/builder" {
				t.Errorf("%v %s: %+v", c.args, name, p)
			}
			if it.Signature == nil || len(it.Signature.Attestations) != 1 || it.Signature.Attestations[0].Verified != c.verified {
				t.Errorf("%v %s: signature %+v", c.args, name, it.Signature)
			}
		}
	}
	// The oracle agrees: cosign verifies the attestation with key a only.
	for name, pub := range map[string]string{"a": pubA, "b": pubB} {
		img := stack.Registry + "/" + ns + "/bundle:1.0.0"
		if ok, out := stack.CosignVerifyAttestation(ctx, pub, img, "slsaprovenance1"); ok != (name == "a") {
			t.Errorf("cosign verify-attestation --key %s: ok=%v\n%s", name, ok, out)
		}
	}
}
