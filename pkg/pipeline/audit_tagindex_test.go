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
// than the index's; a read that fails is unresolvable (the pods may run a
// platform of it), never tag-moved; a tag whose pods run the index digest reads nothing.
func TestAuditTagMovedIndexPlatforms(t *testing.T) {
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	reg := testregistry.New(t)
	idx, kids := reg.PushIndex(t, "app:multi", types.OCIImageIndex, "linux/amd64", "linux/arm64")
	broken, brokenKids := reg.PushIndex(t, "broken:multi", types.DockerManifestList, "linux/amd64", "linux/arm64")
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
	// Two pods on the two platforms of the index that cannot be read: no
	// mix is proven either.
	two := deploy("broken-two", brk, brokenKids["linux/amd64"].String())
	arm := two.Containers[0].Running[0]
	arm.Digest = brokenKids["linux/arm64"].String()
	arm.ImageID = reg.Host + "/broken@" + arm.Digest
	two.Pods, two.Containers[0].Running = 2, append(two.Containers[0].Running, arm)
	found.Workloads = append(found.Workloads, two)
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
		case "broken", "broken-two":
			// The pods may run a platform of the index: nothing proves a
			// move, nor (two pods) a mix: one unresolvable says both.
			var unknown *audit.Finding
			for k := range it.Findings {
				if it.Findings[k].ID == audit.IDUnresolvable {
					unknown = &it.Findings[k]
				}
			}
			if moved != nil || unknown == nil || !strings.Contains(unknown.Message, "points at the index "+imageref.ShortDigest(broken.String())) ||
				!strings.Contains(unknown.Message, "(server-error") || !strings.Contains(unknown.Message, "whether the tag moved is not known") {
				t.Errorf("%s: tag-moved %+v, unresolvable %+v; want no tag-moved, and unresolvable naming the index, the 503 and that a move is not known", it.Name, moved, unknown)
			}
			for _, f := range it.Findings {
				if f.ID == audit.IDMixedRunningDigests || f.ID == audit.IDUnresolvable && f != *unknown {
					t.Errorf("%s: %s %q, want one unresolvable finding and no mix", it.Name, f.ID, f.Message)
				}
			}
			if it.Name == "broken-two" && !strings.Contains(unknown.Message, "for the same reason, whether they run different images is not known") {
				t.Errorf("broken-two: %q, want it to say a mix is not known either", unknown.Message)
			}
		}
	}
	if n := reg.Count(http.MethodGet, "/app/manifests/"+idx.String()); n != 1 {
		t.Errorf("the index of app:multi was read %d times, want once for the four items that need it (and the vulnerability join)", n)
	}
}

// A spec pinned to an index whose pods report its platform manifests, and
// a tag's pods on two platforms, are neither running-differs-from-spec
// nor mixed-running-digests: the index is read once for all of them, and
// only for items whose pods run another digest than the reference's.
func TestAuditPinnedIndexPlatforms(t *testing.T) {
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	reg := testregistry.New(t)
	idx, kids := reg.PushIndex(t, "app:multi", types.OCIImageIndex, "linux/amd64", "linux/arm64")
	other := reg.PushImage(t, "app:old")
	solo, _ := reg.PushIndex(t, "solo:multi", types.OCIImageIndex, "linux/amd64", "linux/arm64")
	single := reg.PushImage(t, "single:1")
	stale := reg.PushImage(t, "single:0")
	amd, arm := kids["linux/amd64"].String(), kids["linux/arm64"].String()
	deploy := func(name, repo, ref string, run ...string) workload.Workload {
		u := workload.Usage{ContainerSpec: workload.ContainerSpec{Name: "app", Type: workload.Container, Image: reg.Host + "/" + repo + ref}}
		for _, d := range run {
			u.Running = append(u.Running, imageref.RunningImage{ImageID: reg.Host + "/" + repo + "@" + d, Digest: d, Kind: imageref.KindManifest, Repository: reg.Host + "/" + repo})
		}
		return workload.Workload{Object: workload.Object{Kind: "Deployment", Namespace: "shop", Name: name}, Pods: len(run), Containers: []workload.Usage{u}}
	}
	found := &workload.Discovery{Workloads: []workload.Workload{
		deploy("pinned-amd", "app", "@"+idx.String(), amd),
		deploy("pinned-two", "app", "@"+idx.String(), amd, arm),
		deploy("pinned-stale", "app", "@"+idx.String(), amd, other.String()),
		deploy("tag-two", "app", ":multi", amd, arm),
		deploy("solo", "solo", "@"+solo.String(), solo.String(), solo.String()),
		deploy("single", "single", "@"+single.String(), stale.String()),
	}}
	items := audit.Evaluate(found.Workloads, audit.Options{})
	r, err := registry.New(registry.Options{Insecure: []string{reg.Host}})
	if err != nil {
		t.Fatal(err)
	}
	AuditStage{Resolver: r, Concurrency: 2}.Run(context.Background(), fake.NewClientset(), found, items)

	for _, it := range items {
		got := map[string]string{}
		for _, f := range it.Findings {
			got[f.ID] = f.Message
		}
		mixed, mixedOK := got[audit.IDMixedRunningDigests]
		differs, differsOK := got[audit.IDRunningDiffersFromSpec]
		if _, moved := got[audit.IDTagMoved]; moved {
			t.Errorf("%s: tag-moved %q", it.Name, got[audit.IDTagMoved])
		}
		switch it.Name {
		case "pinned-amd", "pinned-two", "tag-two", "solo":
			if mixedOK || differsOK {
				t.Errorf("%s runs platforms of what its reference points at: mixed %q, differs %q", it.Name, mixed, differs)
			}
		case "pinned-stale":
			if !mixedOK || !differsOK || strings.Contains(differs, imageref.ShortDigest(amd)) || !strings.Contains(differs, imageref.ShortDigest(other.String())) {
				t.Errorf("pinned-stale: mixed %q, differs %q; want both, differs naming only %s", mixed, differs, imageref.ShortDigest(other.String()))
			}
		case "single":
			if !differsOK || strings.Contains(differs, "platform") {
				t.Errorf("single: differs %q, want it, with no word of platforms (a single manifest)", differs)
			}
		}
	}
	if n := reg.Count(http.MethodGet, "/app/manifests/"+idx.String()); n != 1 {
		t.Errorf("the index pinned and tagged as app was read %d times, want once for the four items that need it", n)
	}
	if n := reg.Count(http.MethodGet, "/solo/manifests/"); n != 0 {
		t.Errorf("solo's pods run its index, yet it was read %d times", n)
	}
	if n := reg.Count(http.MethodGet, "/single/manifests/"); n != 0 {
		t.Errorf("single is no index, yet its manifests were read %d times", n)
	}
}
