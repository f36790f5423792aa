package vulns

import (
	"context"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	k8stesting "k8s.io/client-go/testing"
)

// sbom is an SbomReport as the Trivy Operator writes it: the labels and
// artifact of a VulnerabilityReport, a CycloneDX BOM in components.
func sbom(ns, name, kind, owner, container, repo, digest string, at time.Time) *unstructured.Unstructured {
	u := vr(ns, name, kind, owner, container, repo, digest, at, 0, 0)
	u.SetKind("SbomReport")
	report := u.Object["report"].(map[string]any)
	delete(report, "vulnerabilities")
	report["summary"] = map[string]any{"componentsCount": int64(2), "dependenciesCount": int64(1)}
	report["components"] = map[string]any{"bomFormat": "CycloneDX", "specVersion": "1.5", "components": []any{}}
	return u
}

// TestSBOMReportsJoinedToTheRunningDigest: an SbomReport counts for an
// item when it is of a digest the item runs (or of the index listing
// it), never of another digest; a malformed one is skipped by name.
func TestSBOMReportsJoinedToTheRunningDigest(t *testing.T) {
	now := time.Now()
	c, _ := clients(t, true,
		vr("shop", "replicaset-web-6d4cf56db6-nginx", "ReplicaSet", "web-6d4cf56db6", "nginx", "library/nginx", dRun, now.Add(-time.Hour), 3, 12),
		sbom("shop", "replicaset-web-6d4cf56db6-nginx", "ReplicaSet", "web-6d4cf56db6", "nginx", "library/nginx", dRun, now.Add(-time.Hour)),
		sbom("shop", "statefulset-db-postgres", "StatefulSet", "db", "postgres", "library/postgres", dOld, now.Add(-time.Hour)),
		sbom("shop", "daemonset-agent-agent", "DaemonSet", "agent", "agent", "library/agent", dIndex, now.Add(-time.Hour)),
		sbom("shop", "pod-broken-x", "Pod", "broken", "x", "library/x", "", now),
	)
	ix := Read(context.Background(), c, []string{"shop"})
	if len(ix.SBOMs) != 3 {
		t.Fatalf("%d SBOM reports read, want 3", len(ix.SBOMs))
	}
	if len(ix.Skipped) != 1 || !strings.Contains(ix.Skipped[0].String(), "SbomReport shop/pod-broken-x: report.artifact.digest is empty") {
		t.Errorf("skipped = %v, want the SBOM without a digest named", ix.Skipped)
	}
	web := Usage{Namespace: "shop", Kind: "Deployment", Name: "web", Container: "nginx", Repository: "index.docker.io/library/nginx", Digests: []string{dRun}}
	if got := ix.SBOM(web, nil); got == nil || got.Format != "cyclonedx" || got.Source != "SbomReport shop/replicaset-web-6d4cf56db6-nginx" || got.Verified != nil {
		t.Errorf("web: SBOM %+v, want the operator's CycloneDX report", got)
	}
	db := Usage{Namespace: "shop", Kind: "StatefulSet", Name: "db", Container: "postgres", Repository: "index.docker.io/library/postgres", Digests: []string{dDB}}
	if got := ix.SBOM(db, nil); got != nil {
		t.Errorf("db: SBOM %+v of another digest, want none", got)
	}
	agent := Usage{Namespace: "shop", Kind: "DaemonSet", Name: "agent", Container: "agent", Repository: "index.docker.io/library/agent", Digests: []string{dArm}}
	if got := ix.SBOM(agent, Platforms{dIndex: {dArm}}); got == nil || got.Source != "SbomReport shop/daemonset-agent-agent" {
		t.Errorf("agent, whose platform manifest the index lists: SBOM %+v", got)
	}
	// web's digest, filed under another workload: no SBOM of api.
	api := Usage{Namespace: "shop", Kind: "Deployment", Name: "api", Container: "nginx", Repository: "index.docker.io/library/nginx", Digests: []string{dRun}}
	if got := ix.SBOM(api, nil); got != nil {
		t.Errorf("api: SBOM %+v filed under another workload, want none", got)
	}
}

// TestSBOMListForbiddenIsAWarning: SbomReports that cannot be listed
// leave the vulnerability answer alone and are said once.
func TestSBOMListForbiddenIsAWarning(t *testing.T) {
	c, dyn := clients(t, true,
		vr("shop", "pod-p-c", "Pod", "p", "c", "library/nginx", dRun, time.Now(), 1, 0))
	dyn.PrependReactor("list", "sbomreports", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(sbomReports.GroupResource(), "", nil)
	})
	ix := Read(context.Background(), c, []string{"shop"})
	u := Usage{Namespace: "shop", Kind: "Pod", Name: "p", Container: "c", Repository: "index.docker.io/library/nginx", Digests: []string{dRun}}
	if got := ix.Lookup(u, nil); got.Error != "" || got.Counts == nil || got.Counts.Critical != 1 {
		t.Errorf("vulnerabilities %+v, want the report's counts", got)
	}
	if ix.SBOM(u, nil) != nil || len(ix.Warnings) != 1 || !strings.Contains(ix.Warnings[0], "cannot list sbomreports.aquasecurity.github.io in namespace \"shop\": forbidden by RBAC") {
		t.Errorf("warnings %v, want the forbidden SBOM list said", ix.Warnings)
	}
}

func TestSBOMFromAttestation(t *testing.T) {
	for _, tt := range []struct {
		pt       string
		a        Attested
		want     string // format; "" for none
		signed   string
		verified bool
	}{
		{PredicateSPDX, Attested{Digest: "sha256:aa", Verified: true, SignedBy: "KEY"}, "spdx", "KEY", true},
		{PredicateCycloneDX, Attested{Digest: "sha256:bb", SignedBy: "a key not given"}, "cyclonedx", "a key not given", false},
		{PredicateSPDX, Attested{Digest: "sha256:cc", Problem: "the statement's subject is another digest"}, "", "", false},
		{PredicateCosignVuln, Attested{Digest: "sha256:dd", Verified: true}, "", "", false},
	} {
		got := SBOMFromAttestation(tt.pt, tt.a)
		switch {
		case tt.want == "" && got != nil:
			t.Errorf("%s %+v: %+v, want none", tt.pt, tt.a, got)
		case tt.want != "" && (got == nil || got.Format != tt.want || got.Source != "cosign sbom attestation "+tt.a.Digest ||
			got.Verified == nil || *got.Verified != tt.verified || got.SignedBy != tt.signed):
			t.Errorf("%s %+v: %+v, want %s verified=%v by %q", tt.pt, tt.a, got, tt.want, tt.verified, tt.signed)
		}
	}
}
