package faultregistry

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/imgtrust/kubectl-imgtrust/internal/testregistry"
	"github.com/imgtrust/kubectl-imgtrust/pkg/mirror"
	"github.com/imgtrust/kubectl-imgtrust/pkg/registry"
)

// TestMirrorToLosingTargets copies the healthy image into the upload
// faults: each copy fails as incomplete-copy, with a bounded number of
// requests and nothing sent to the other host. The e2e suite does the
// same through kubectl.
func TestMirrorToLosingTargets(t *testing.T) {
	reg, ca := StartForTest(t)
	dir := t.TempDir()
	b, _ := json.Marshal(map[string]any{"auths": map[string]any{reg.Host: map[string]string{
		"auth": base64.StdEncoding.EncodeToString([]byte(reg.User + ":" + reg.Password))}}})
	if err := os.WriteFile(filepath.Join(dir, "config.json"), b, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("DOCKER_CONFIG", dir) // the push credential (mirror.PushAuth)
	// A source of its own: blobs the fault registry's shared store has
	// would be found there, not uploaded.
	src := testregistry.New(t)
	r, err := registry.New(registry.Options{CAFile: ca, Timeout: time.Second, LookupTimeout: 8 * time.Second, Insecure: []string{src.Host}})
	if err != nil {
		t.Fatal(err)
	}
	m := &mirror.Mirror{Resolver: r}
	for _, fault := range []string{UploadLost, UploadElsewhere} {
		d := src.PushImage(t, fault+"/app:v1").String()
		res := m.Copy(context.Background(), src.Host+"/"+fault+"/app:v1", d, reg.Host+"/"+fault+"/copy:v1", registry.Anonymous)
		if res.Err == nil || res.Err.Reason != registry.ReasonIncompleteCopy {
			t.Errorf("%s: %+v, want %s", fault, res, registry.ReasonIncompleteCopy)
			continue
		}
		if strings.Contains(res.Err.Message, reg.Password) {
			t.Errorf("%s: the message holds the password", fault)
		}
		if n := reg.Requests(fault); n > 20 {
			t.Errorf("%s: %d requests, want at most 20", fault, n)
		}
		t.Logf("%s: %d requests: %s", fault, reg.Requests(fault), res.Err)
	}
	if n := reg.Requests("off-host"); n != 0 || len(reg.Leaks()) != 0 {
		t.Errorf("the other host got %d requests, leaks %v", n, reg.Leaks())
	}
}
