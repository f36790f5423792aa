package pipeline

import (
	"context"
	"encoding/base64"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"

	"github.com/imgtrust/kubectl-imgtrust/internal/testregistry"
	"github.com/imgtrust/kubectl-imgtrust/pkg/registry"
	"github.com/imgtrust/kubectl-imgtrust/pkg/workload"
)

// testRegistry is the in-process test registry over plain HTTP; once
// locked, it answers only basic auth alice:secret. Once picky, it refuses
// any other password but still serves anonymous manifest requests.
type testRegistry struct {
	*testregistry.Registry
	locked, picky atomic.Bool
}

const testUser, testPassword = "alice", "secret"

func newTestRegistry(t *testing.T) *testRegistry {
	t.Helper()
	reg := &testRegistry{Registry: testregistry.New(t)}
	refuse := testregistry.Refuse(http.StatusUnauthorized, "/")
	reg.Set(func(h *testregistry.Hooks) {
		h.Auth = func(w http.ResponseWriter, r *http.Request) bool {
			u, p, ok := r.BasicAuth()
			if ok && u == testUser && p == testPassword {
				return false
			}
			if reg.picky.Load() {
				return (ok || r.URL.Path == "/v2/") && refuse(w, r)
			}
			return reg.locked.Load() && refuse(w, r)
		}
	})
	return reg
}

func (reg *testRegistry) resolver(t *testing.T) *registry.Resolver {
	t.Helper()
	r, err := registry.New(registry.Options{Insecure: []string{reg.Host}, Retries: 1})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// noDockerConfig points the local docker config at an empty directory.
func noDockerConfig(t *testing.T) {
	t.Setenv("DOCKER_CONFIG", t.TempDir())
}

// dockerConfigFor writes a docker config with alice's password for host.
func dockerConfigFor(t *testing.T, host string) {
	dir := t.TempDir()
	auth := base64.StdEncoding.EncodeToString([]byte(testUser + ":" + testPassword))
	cfg := `{"auths":{"` + host + `":{"auth":"` + auth + `"}}}`
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("DOCKER_CONFIG", dir)
}

func TestResolveDigestPerImage(t *testing.T) {
	noDockerConfig(t)
	reg := newTestRegistry(t)
	web := reg.PushImage(t, "shop/web:1.0").String()
	db := reg.PushImage(t, "shop/db:2.0").String()
	webImage, dbImage := reg.Host+"/shop/web:1.0", reg.Host+"/shop/db:2.0"
	missing := reg.Host + "/shop/gone:1.0"

	reqs, warnings := ImageRequests([]string{webImage, dbImage, missing, webImage})
	if len(warnings) > 0 {
		t.Fatalf("warnings: %v", warnings)
	}
	res, err := Resolve(context.Background(), ResolveConfig{Resolver: reg.resolver(t), Requests: reqs})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]registry.Result{}
	for _, r := range res.Results {
		if _, dup := got[r.Image]; dup {
			t.Errorf("%s answered twice", r.Image)
		}
		got[r.Image] = r
	}
	if len(res.Results) != 3 {
		t.Fatalf("got %d results, want one per image (3): %+v", len(res.Results), res.Results)
	}
	if r := got[webImage]; r.Err != nil || r.Digest != web {
		t.Errorf("web: digest %q, err %v; want %s", r.Digest, r.Err, web)
	}
	if r := got[dbImage]; r.Err != nil || r.Digest != db {
		t.Errorf("db: digest %q, err %v; want %s", r.Digest, r.Err, db)
	}
	if r := got[missing]; r.Err == nil {
		t.Errorf("missing tag resolved to %s", r.Digest)
	}
	if res.Failed != 1 {
		t.Errorf("Failed = %d, want 1", res.Failed)
	}
	for i := 1; i < len(res.Results); i++ {
		if res.Results[i-1].Image > res.Results[i].Image {
			t.Errorf("results not sorted by image: %s before %s", res.Results[i-1].Image, res.Results[i].Image)
		}
	}
	if res.Stats.Requests == 0 {
		t.Error("Stats.Requests = 0")
	}
	if got[webImage].CredentialSource != registry.Anonymous.Source {
		t.Errorf("web answered with %q, want anonymous", got[webImage].CredentialSource)
	}
}

// The credential a node would use refused and the anonymous fallback
// answered: the result says a node's pull would fail.
func TestResolveNotesAnonymousFallback(t *testing.T) {
	noDockerConfig(t)
	reg := newTestRegistry(t)
	want := reg.PushImage(t, "shop/web:1.0").String()
	reg.picky.Store(true)
	image := reg.Host + "/shop/web:1.0"
	wrong := registry.Credential{Source: "pod-secret shop/pull", ID: "wrong", Auth: &authn.Basic{Username: testUser, Password: "wrong"}}
	reqs := []registry.Request{{Image: image, Credentials: []registry.Credential{wrong}}}
	res, err := Resolve(context.Background(), ResolveConfig{Resolver: reg.resolver(t), Requests: reqs})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Results) != 1 || res.Failed != 0 {
		t.Fatalf("results %+v, failed %d; want one success", res.Results, res.Failed)
	}
	r := res.Results[0]
	if r.Digest != want || r.CredentialSource != registry.Anonymous.Source {
		t.Errorf("digest %s from %q, want %s from anonymous", r.Digest, r.CredentialSource, want)
	}
	if !strings.Contains(r.Note, "the credentials a node would use were refused (") || !strings.Contains(r.Note, "so a node's pull would fail") {
		t.Errorf("note %q does not say a node's pull would fail", r.Note)
	}
	if len(reqs[0].Credentials) != 1 {
		t.Errorf("Resolve changed the caller's requests: %d credentials", len(reqs[0].Credentials))
	}
}

func TestResolveNeedsResolver(t *testing.T) {
	if _, err := Resolve(context.Background(), ResolveConfig{}); err == nil {
		t.Fatal("no error without a resolver")
	}
}

// An image several workloads run with the same credentials is one
// request; each image is asked for once per credentials.
func TestWorkloadRequestsOnePerImageAndCredentials(t *testing.T) {
	noDockerConfig(t)
	use := func(kind, name string, images ...string) workload.Workload {
		w := workload.Workload{Object: workload.Object{Kind: kind, Name: name, Namespace: "shop"}}
		for _, img := range images {
			w.Containers = append(w.Containers, workload.Usage{ContainerSpec: workload.ContainerSpec{Image: img}})
		}
		return w
	}
	reqs, warnings := WorkloadRequests(NewCredentialPlan(nil), []workload.Workload{
		use("Deployment", "web", "example.test/web:1", "example.test/sidecar:1"),
		use("Deployment", "api", "example.test/sidecar:1"),
	})
	if len(warnings) > 0 {
		t.Errorf("warnings: %v", warnings)
	}
	var images []string
	for _, r := range reqs {
		images = append(images, r.Image)
	}
	if strings.Join(images, " ") != "example.test/web:1 example.test/sidecar:1" {
		t.Errorf("requests for %v, want web then sidecar once", images)
	}
}
