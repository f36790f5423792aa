package vulns

import (
	"context"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	fakediscovery "k8s.io/client-go/discovery/fake"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	metadatafake "k8s.io/client-go/metadata/fake"
	k8stesting "k8s.io/client-go/testing"
)

const (
	dRun   = "sha256:1111111111111111111111111111111111111111111111111111111111111111"
	dOld   = "sha256:2222222222222222222222222222222222222222222222222222222222222222"
	dIndex = "sha256:3333333333333333333333333333333333333333333333333333333333333333"
	dDB    = "sha256:4444444444444444444444444444444444444444444444444444444444444444"
	dArm   = "sha256:5555555555555555555555555555555555555555555555555555555555555555"
)

// vr is a VulnerabilityReport as the Trivy Operator writes it.
func vr(ns, name, kind, owner, container, repo, digest string, at time.Time, critical, high int) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "aquasecurity.github.io/v1alpha1", "kind": "VulnerabilityReport",
		"metadata": map[string]any{"name": name, "namespace": ns, "labels": map[string]any{
			LabelResourceKind: kind, LabelResourceName: owner, LabelResourceNamespace: ns, LabelContainerName: container,
		}},
		"report": map[string]any{
			"updateTimestamp": at.UTC().Format(time.RFC3339),
			"scanner":         map[string]any{"name": "Trivy", "vendor": "Aqua Security", "version": "0.58.1"},
			"registry":        map[string]any{"server": "index.docker.io"},
			"artifact":        map[string]any{"repository": repo, "tag": "1.27", "digest": digest},
			"summary":         map[string]any{"criticalCount": int64(critical), "highCount": int64(high), "mediumCount": int64(1), "lowCount": int64(0), "unknownCount": int64(0)},
			"vulnerabilities": []any{},
		},
	}}
}

func clients(t *testing.T, served bool, objs ...runtime.Object) (Clients, *dynamicfake.FakeDynamicClient) {
	t.Helper()
	disc := &fakediscovery.FakeDiscovery{Fake: &k8stesting.Fake{}}
	if served {
		disc.Resources = []*metav1.APIResourceList{{GroupVersion: GroupVersion, APIResources: []metav1.APIResource{
			{Name: "vulnerabilityreports", Namespaced: true, Kind: "VulnerabilityReport"},
			{Name: "clustervulnerabilityreports", Kind: "ClusterVulnerabilityReport"},
			{Name: "sbomreports", Namespaced: true, Kind: "SbomReport"},
		}}}
	}
	dyn := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), map[schema.GroupVersionResource]string{
		vulnerabilityReports:        "VulnerabilityReportList",
		clusterVulnerabilityReports: "ClusterVulnerabilityReportList",
		sbomReports:                 "SbomReportList",
	}, objs...)
	scheme := metadatafake.NewTestScheme()
	_ = metav1.AddMetaToScheme(scheme)
	rs := &metav1.PartialObjectMetadata{
		TypeMeta: metav1.TypeMeta{APIVersion: "apps/v1", Kind: "ReplicaSet"},
		ObjectMeta: metav1.ObjectMeta{Name: "web-6d4cf56db6", Namespace: "shop", OwnerReferences: []metav1.OwnerReference{
			{APIVersion: "apps/v1", Kind: "Deployment", Name: "web", UID: "u1", Controller: ptr(true)},
		}},
	}
	return Clients{Discovery: disc, Dynamic: dyn, Metadata: metadatafake.NewSimpleMetadataClient(scheme, rs)}, dyn
}

func ptr[T any](v T) *T { return &v }

func TestReadJoinsDeploymentsThroughTheirReplicaSets(t *testing.T) {
	now := time.Now()
	c, _ := clients(t, true,
		vr("shop", "replicaset-web-6d4cf56db6-nginx", "ReplicaSet", "web-6d4cf56db6", "nginx", "library/nginx", dRun, now.Add(-time.Hour), 3, 12),
		vr("shop", "statefulset-db-postgres", "StatefulSet", "db", "postgres", "library/postgres", dOld, now.Add(-2*time.Hour), 0, 1),
		vr("shop", "daemonset-agent-agent", "DaemonSet", "agent", "agent", "library/agent", dIndex, now.Add(-3*time.Hour), 1, 0),
		vr("shop", "pod-broken-x", "Pod", "broken", "x", "library/x", "", now, 0, 0),
	)
	ix := Read(context.Background(), c, []string{"shop"})
	if !ix.Served || len(ix.Reports) != 3 {
		t.Fatalf("served=%v reports=%d, want 3 usable reports", ix.Served, len(ix.Reports))
	}
	if len(ix.Skipped) != 1 || !strings.Contains(ix.Skipped[0].String(), "VulnerabilityReport shop/pod-broken-x: report.artifact.digest is empty") {
		t.Errorf("skipped = %v, want the report without a digest named", ix.Skipped)
	}

	web := Usage{Namespace: "shop", Kind: "Deployment", Name: "web", Container: "nginx", Repository: "index.docker.io/library/nginx", Digests: []string{dRun}}
	got := ix.Lookup(web, nil)
	if got.Match != MatchRunning || got.Counts == nil || got.Counts.Critical != 3 || got.Counts.High != 12 || got.Source != "VulnerabilityReport shop/replicaset-web-6d4cf56db6-nginx" || got.Scanner != "Trivy 0.58.1" {
		t.Errorf("web: %+v", got)
	}

	// Rolled out since: the report filed under its ReplicaSet is of another digest.
	web.Digests = []string{"sha256:6666666666666666666666666666666666666666666666666666666666666666"}
	if got := ix.Lookup(web, nil); got.Match != MatchOther || got.ScannedDigest != dRun {
		t.Errorf("web after a rollout: %+v, want the ReplicaSet's report as another digest's scan", got)
	}

	db := Usage{Namespace: "shop", Kind: "StatefulSet", Name: "db", Container: "postgres", Repository: "index.docker.io/library/postgres", Digests: []string{dDB}}
	got = ix.Lookup(db, nil)
	if got.Match != MatchOther || got.ScannedDigest != dOld || got.Counts != nil {
		t.Errorf("db: %+v, want a scan of the other digest without counts", got)
	}
	if others := ix.OtherDigests(db); len(others) != 1 || others[0] != dOld {
		t.Errorf("db's other digests = %v", others)
	}

	agent := Usage{Namespace: "shop", Kind: "DaemonSet", Name: "agent", Container: "agent", Repository: "index.docker.io/library/agent", Digests: []string{dArm}}
	if got := ix.Lookup(agent, nil); got.Match != MatchOther {
		t.Errorf("agent without the index read: %+v", got)
	}
	if got := ix.Lookup(agent, Platforms{dIndex: {dOld, dArm}}); got.Match != MatchIndex || got.Counts == nil || got.Counts.Critical != 1 {
		t.Errorf("agent, whose platform manifest the index lists: %+v", got)
	}

	none := Usage{Namespace: "shop", Kind: "Deployment", Name: "api", Container: "api", Repository: "index.docker.io/library/api", Digests: []string{dOld + "0"}}
	if got := ix.Lookup(none, nil); got.Match != "" || got.Error != "" || got.Note != "" {
		t.Errorf("api: %+v, want nothing", got)
	}
}

func TestReadForbiddenIsALookupFailureNotAbsence(t *testing.T) {
	c, dyn := clients(t, true)
	dyn.PrependReactor("list", "vulnerabilityreports", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(vulnerabilityReports.GroupResource(), "", nil)
	})
	ix := Read(context.Background(), c, nil)
	got := ix.Lookup(Usage{Namespace: "shop", Kind: "Deployment", Name: "web", Container: "nginx", Digests: []string{dRun}}, nil)
	if got.Error != "cannot list vulnerabilityreports.aquasecurity.github.io in all namespaces: forbidden by RBAC" {
		t.Errorf("error = %q", got.Error)
	}
}

func TestNotServedSaysSo(t *testing.T) {
	c, _ := clients(t, false)
	ix := Read(context.Background(), c, []string{"shop"})
	got := ix.Lookup(Usage{Namespace: "shop", Kind: "Pod", Name: "p", Container: "c", Digests: []string{dRun}}, nil)
	if ix.Served || got.Error != "" || !strings.Contains(got.Note, "serves no VulnerabilityReports") {
		t.Errorf("served=%v result=%+v", ix.Served, got)
	}
}

func TestParseSkipsMalformedArtifacts(t *testing.T) {
	base := func() *unstructured.Unstructured {
		return vr("ns", "r", "Pod", "p", "c", "library/nginx", dRun, time.Now(), 0, 0)
	}
	for what, mutate := range map[string]func(u *unstructured.Unstructured){
		"report.artifact.repository is empty": func(u *unstructured.Unstructured) {
			_ = unstructured.SetNestedField(u.Object, "", "report", "artifact", "repository")
		},
		`report.artifact.digest "sha256:xyz" is not a digest`: func(u *unstructured.Unstructured) {
			_ = unstructured.SetNestedField(u.Object, "sha256:xyz", "report", "artifact", "digest")
		},
		`report.updateTimestamp "yesterday" is not a time`: func(u *unstructured.Unstructured) {
			_ = unstructured.SetNestedField(u.Object, "yesterday", "report", "updateTimestamp")
		},
		"does not parse": func(u *unstructured.Unstructured) {
			_ = unstructured.SetNestedField(u.Object, "many", "report", "summary", "highCount")
		},
		"negative count": func(u *unstructured.Unstructured) {
			_ = unstructured.SetNestedField(u.Object, int64(-1), "report", "summary", "lowCount")
		},
	} {
		u := base()
		mutate(u)
		if _, err := Parse("VulnerabilityReport", u); err == nil || !strings.Contains(err.Error(), what) {
			t.Errorf("%s: err = %v", what, err)
		}
	}
	// A name too long for a label value is in an annotation.
	long := base()
	longName := strings.Repeat("a", 70)
	unstructured.RemoveNestedField(long.Object, "metadata", "labels", LabelResourceName)
	_ = unstructured.SetNestedField(long.Object, map[string]any{LabelResourceName: longName}, "metadata", "annotations")
	if r, err := Parse("VulnerabilityReport", long); err != nil || r.OwnerName != longName {
		t.Errorf("a long name: %q, %v", r.OwnerName, err)
	}
	r, err := Parse("VulnerabilityReport", base())
	if err != nil || r.Repository != "index.docker.io/library/nginx" || r.Digest != dRun {
		t.Errorf("a good report: %+v, %v", r, err)
	}
}

func TestAtOrAbove(t *testing.T) {
	c := Counts{Critical: 1, High: 2, Medium: 4, Low: 8, Unknown: 16}
	for sev, want := range map[string]int{"critical": 1, "high": 3, "medium": 7, "low": 15} {
		if got := c.AtOrAbove(sev); got != want {
			t.Errorf("%s: %d, want %d", sev, got, want)
		}
	}
}

// TestUnreadReportIsALookupFailure: a workload whose only report filed
// under it could not be parsed has no proven absence of scans: the
// lookup fails, naming the report and why.
func TestUnreadReportIsALookupFailure(t *testing.T) {
	now := time.Now()
	c, _ := clients(t, true,
		vr("shop", "replicaset-web-6d4cf56db6-nginx", "ReplicaSet", "web-6d4cf56db6", "nginx", "library/nginx", "", now, 3, 0),
		vr("shop", "pod-other-x", "Pod", "other", "x", "library/x", "sha256:xyz", now, 0, 0),
	)
	ix := Read(context.Background(), c, []string{"shop"})
	web := Usage{Namespace: "shop", Kind: "Deployment", Name: "web", Container: "nginx", Repository: "index.docker.io/library/nginx", Digests: []string{dRun}}
	got := ix.Lookup(web, nil)
	if !strings.Contains(got.Error, "VulnerabilityReport shop/replicaset-web-6d4cf56db6-nginx: report.artifact.digest is empty") || got.Counts != nil {
		t.Errorf("web, whose only report is unreadable: %+v, want a lookup failure naming it", got)
	}
	if got.UnreadReport() != "VulnerabilityReport shop/replicaset-web-6d4cf56db6-nginx" {
		t.Errorf("unread report %q, want it named for the fix", got.UnreadReport())
	}
	// Filed under another workload: no bearing on this one.
	db := Usage{Namespace: "shop", Kind: "StatefulSet", Name: "db", Container: "x", Repository: "index.docker.io/library/x", Digests: []string{dDB}}
	if got := ix.Lookup(db, nil); got.Error != "" {
		t.Errorf("db: %+v, want no failure from another workload's report", got)
	}
}

// TestReportsOfOthersNeverMask: a report of the running digest counts
// only when filed under the workload (or cluster-wide): one filed in
// another namespace, or under another workload, with fewer
// vulnerabilities and a newer time, never stands; of several that
// qualify the worst counts stand.
func TestReportsOfOthersNeverMask(t *testing.T) {
	now := time.Now()
	cluster := vr("", "cluster-nginx", "", "", "", "library/nginx", dRun, now.Add(-3*time.Hour), 0, 7)
	cluster.SetKind("ClusterVulnerabilityReport")
	cluster.SetLabels(nil)
	objs := []runtime.Object{
		vr("shop", "replicaset-web-6d4cf56db6-nginx", "ReplicaSet", "web-6d4cf56db6", "nginx", "library/nginx", dRun, now.Add(-2*time.Hour), 3, 1),
		vr("evil", "pod-mask-nginx", "Pod", "mask", "nginx", "library/nginx", dRun, now, 0, 0),
		vr("shop", "pod-mask-nginx", "Pod", "mask", "nginx", "library/nginx", dRun, now, 0, 0),
	}
	c, _ := clients(t, true, objs...)
	ix := Read(context.Background(), c, nil)
	web := Usage{Namespace: "shop", Kind: "Deployment", Name: "web", Container: "nginx", Repository: "index.docker.io/library/nginx", Digests: []string{dRun}}
	if got := ix.Lookup(web, nil); got.Counts == nil || got.Counts.Critical != 3 || got.Source != "VulnerabilityReport shop/replicaset-web-6d4cf56db6-nginx" {
		t.Errorf("web: %+v, want its own report's 3 critical", got)
	}
	// Nothing filed under it: another workload's report is no scan of it.
	api := Usage{Namespace: "shop", Kind: "Deployment", Name: "api", Container: "nginx", Repository: "index.docker.io/library/nginx", Digests: []string{dRun}}
	if got := ix.Lookup(api, nil); got.Counts != nil {
		t.Errorf("api: %+v, want no scan (the reports of dRun are filed under others)", got)
	}
	// A ClusterVulnerabilityReport qualifies; the worst counts stand.
	c, _ = clients(t, true, append(objs, cluster, vr("shop", "replicaset-web-6d4cf56db6-nginx-2", "ReplicaSet", "web-6d4cf56db6", "nginx", "library/nginx", dRun, now, 3, 4))...)
	ix = Read(context.Background(), c, nil)
	if got := ix.Lookup(web, nil); got.Counts == nil || *got.Counts != (Counts{Critical: 3, High: 4, Medium: 1}) {
		t.Errorf("web with two of its own and a cluster report: %+v %+v, want the worst (3 critical, 4 high)", got, got.Counts)
	}
	// The worst counts from an older report; the scan is as old as the newest.
	c2, _ := clients(t, true, append(objs, vr("shop", "replicaset-web-6d4cf56db6-nginx-2", "ReplicaSet", "web-6d4cf56db6", "nginx", "library/nginx", dRun, now, 1, 0))...)
	if got := Read(context.Background(), c2, nil).Lookup(web, nil); got.Counts == nil || got.Counts.Critical != 3 || !got.NewestScanTime().Equal(now.Truncate(time.Second)) {
		t.Errorf("web: %+v, newest scan %v; want the older report's 3 critical, scanned as of %v", got, got.NewestScanTime(), now.Truncate(time.Second))
	}
	if got := ix.Lookup(api, nil); got.Counts == nil || got.Source != "ClusterVulnerabilityReport cluster-nginx" {
		t.Errorf("api with a cluster report: %+v, want it", got)
	}
}
