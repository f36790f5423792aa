package pipeline

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/types"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/imgtrust/kubectl-imgtrust/internal/testregistry"
	"github.com/imgtrust/kubectl-imgtrust/pkg/audit"
	"github.com/imgtrust/kubectl-imgtrust/pkg/imageref"
	"github.com/imgtrust/kubectl-imgtrust/pkg/registry"
	"github.com/imgtrust/kubectl-imgtrust/pkg/vulns"
	"github.com/imgtrust/kubectl-imgtrust/pkg/workload"
)

// Pods running a platform manifest of the index their tag points at (as
// CRI-O reports it) run the same image: no tag-moved. The index is read
// once for every item that needs it, only when the pods run another digest
// than the index's; a read that fails keeps tag-moved but says the check
// could not be made; a tag whose pods run the index digest reads nothing.
func TestAuditTagMovedIndexPlatforms(t *testing.T) {
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	reg := testregistry.New(t)
	idx, kids := reg.PushIndex(t, "app:multi", types.OCIImageIndex, "linux/amd64", "linux/arm64")
	broken, brokenKids := reg.PushIndex(t, "broken:multi", types.DockerManifestList, "linux/amd64")
	other := reg.PushImage(t, "app:old")
	reg.Set(func(h *testregistry.Hooks) {
		h.Fault = func(w http.ResponseWriter, r *http.Request) bool {
			if r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/broken/manifests/"+broken.String()) {
				http.Error(w, `{"errors":[{"code":"UNAVAILABLE","message":"down"}]}`, http.StatusServiceUnavailable)
				return true
			}
			return false
		}
	})
	deploy := func(name, image string, run string) workload.Workload {
		repo, _, _ := strings.Cut(image, ":multi")
		return workload.Workload{
			Object: workload.Object{Kind: "Deployment", Namespace: "shop", Name: name},
			Pods:   1,
			Containers: []workload.Usage{{
				ContainerSpec: workload.ContainerSpec{Name: "app", Type: workload.Container, Image: image},
				Running:       []imageref.RunningImage{{ImageID: repo + "@" + run, Digest: run, Kind: imageref.KindManifest, Repository: repo}},
			}},
		}
	}
	app, brk := reg.Host+"/app:multi", reg.Host+"/broken:multi"
	found := &workload.Discovery{Workloads: []workload.Workload{
		deploy("amd", app, kids["linux/amd64"].String()),
		deploy("arm", app, kids["linux/arm64"].String()),
		deploy("moved", app, other.String()),
		deploy("index", app, idx.String()),
		deploy("broken", brk, brokenKids["linux/amd64"].String()),
		deploy("sts", app, kids["linux/arm64"].String()),
	}}
	found.Workloads[5].Kind = "StatefulSet"
	items := audit.Evaluate(found.Workloads, audit.Options{})
	r, err := registry.New(registry.Options{Insecure: []string{reg.Host}})
	if err != nil {
		t.Fatal(err)
	}
	// With --vulnerabilities, a scan of the index filed under a workload
	// running its platform is joined without a second read of the index.
	scan := vulns.Report{Kind: "VulnerabilityReport", Namespace: "shop", Name: "statefulset-sts-app", OwnerKind: "StatefulSet", OwnerName: "sts",
		OwnerNamespace: "shop", Container: "app", Repository: reg.Host + "/app", Digest: idx.String(), Counts: vulns.Counts{High: 2}}
	stage := AuditStage{Resolver: r, Concurrency: 2, vulns: &vulnStage{index: &vulns.Index{Served: true, Reports: []vulns.Report{scan}}, platforms: vulns.Platforms{}, unread: map[string]string{}}}
	stage.Run(context.Background(), fake.NewClientset(), found, items)
	stage.vulns.apply(items, audit.VulnerabilityOptions{MaxSeverity: "high"})

	for _, it := range items {
		var moved *audit.Finding
		for k := range it.Findings {
			if it.Findings[k].ID == audit.IDTagMoved {
				moved = &it.Findings[k]
			}
		}
		switch it.Name {
		case "sts":
			if moved != nil || it.Vulnerabilities == nil || it.Vulnerabilities.Match != vulns.MatchIndex || it.Vulnerabilities.Counts.High != 2 {
				t.Errorf("sts: tag-moved %v, vulnerabilities %+v, want no tag-moved and the index's scan", moved, it.Vulnerabilities)
			}
		case "amd", "arm", "index":
			if moved != nil {
				t.Errorf("%s runs what the tag points at: %s", it.Name, moved.Message)
			}
		case "moved":
			if moved == nil || strings.Contains(moved.Message, "could not check") {
				t.Errorf("moved: %+v, want tag-moved, checked", moved)
			}
		case "broken":
			if moved == nil || !strings.Contains(moved.Message, "could not check whether it is a platform of the index "+imageref.ShortDigest(broken.String())) {
				t.Errorf("broken: %+v, want tag-moved saying the index could not be checked", moved)
			}
		}
	}
	if n := reg.Count(http.MethodGet, "/app/manifests/"+idx.String()); n != 1 {
		t.Errorf("the index of app:multi was read %d times, want once for the four items that need it (and the vulnerability join)", n)
	}
}
