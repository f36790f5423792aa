package pipeline

import (
	"context"
	"crypto/elliptic"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"k8s.io/apimachinery/pkg/runtime"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	"k8s.io/client-go/kubernetes/scheme"
	k8stesting "k8s.io/client-go/testing"

	"github.com/imgtrust/kubectl-imgtrust/internal/testregistry"
	"github.com/imgtrust/kubectl-imgtrust/pkg/imageref"
	"github.com/imgtrust/kubectl-imgtrust/pkg/pin"
	"github.com/imgtrust/kubectl-imgtrust/pkg/registry"
	"github.com/imgtrust/kubectl-imgtrust/pkg/report"
	"github.com/imgtrust/kubectl-imgtrust/pkg/sign"
	"github.com/imgtrust/kubectl-imgtrust/pkg/workload"
)

// pinSignFixture is a Deployment running an image of src, a mirror
// registry dst, and a cosign key file encrypted with "pw".
type pinSignFixture struct {
	src, dst *testregistry.Registry
	digest   string
	key      string
	objs     []runtime.Object
	cfg      PinConfig
}

func newPinSignFixture(t *testing.T) *pinSignFixture {
	t.Helper()
	t.Setenv("DOCKER_CONFIG", t.TempDir()) // push anonymously
	f := &pinSignFixture{src: testregistry.New(t, testregistry.WithReferrers(true)), dst: testregistry.New(t, testregistry.WithReferrers(true))}
	f.digest = f.src.PushImage(t, "team/app:1").String()
	priv, _, err := cryptoutils.GeneratePEMEncodedECDSAKeyPair(elliptic.P256(), cryptoutils.StaticPasswordFunc([]byte("pw")))
	if err != nil {
		t.Fatal(err)
	}
	f.key = filepath.Join(t.TempDir(), "cosign.key")
	if err := os.WriteFile(f.key, priv, 0o600); err != nil {
		t.Fatal(err)
	}
	image := f.src.Host + "/team/app:1"
	u := namedDeployment(t, "web", image)
	w := runningWorkload(t, u)
	w.Containers[0].Running = []imageref.RunningImage{{ImageID: f.src.Host + "/team/app@" + f.digest, Digest: f.digest, Kind: imageref.KindManifest, Repository: f.src.Host + "/team/app"}}
	f.objs = []runtime.Object{u}
	f.cfg = PinConfig{
		PinSettings: PinSettings{
			Registry: registry.Options{Insecure: []string{f.src.Host, f.dst.Host}},
			Mirror: &MirrorConfig{Prefix: f.dst.Host + "/mirror", Layout: "host", Sign: MirrorSign{
				Key: f.key, Password: sign.Password{Value: []byte("pw"), Set: true}, Format: SignBundle,
			}},
		},
		Source: pin.SourceRunning, Apply: true, Output: PinPatch,
		Write:   func(PinOutput) error { return nil },
		backend: fakeCluster{workloads: []workload.Workload{w}},
	}
	return f
}

// run pins with a fresh fake API server, returning the result, the
// events in order (patches as "patch") and the fake client.
func (f *pinSignFixture) run(t *testing.T, onEvent func(PinEvent)) (PinResult, []string, *dynamicfake.FakeDynamicClient, error) {
	t.Helper()
	client := dynamicfake.NewSimpleDynamicClient(scheme.Scheme, f.objs...)
	var steps []string
	// The fake server cannot apply a strategic merge patch: say it landed.
	client.PrependReactor("patch", "deployments", func(a k8stesting.Action) (bool, runtime.Object, error) {
		steps = append(steps, "patch sent")
		return true, f.objs[0], nil
	})
	cfg := f.cfg
	cfg.backend = fakeCluster{workloads: f.cfg.backend.(fakeCluster).workloads, dyn: client}
	cfg.Events = func(e PinEvent) {
		step := map[PinEventKind]string{PinMirrorCopy: "copy", PinMirrorSign: "sign " + string(e.Sign.Status), PinPatched: "patched", PinFailed: "failed"}[e.Kind]
		if e.Kind == PinFailed {
			step += ": " + e.Err.Error()
		}
		if step != "" {
			steps = append(steps, step)
		}
		if onEvent != nil {
			onEvent(e)
		}
	}
	res, err := Pin(context.Background(), cfg)
	return res, steps, client, err
}

// pin --mirror-to --sign-key --apply copies, then signs the copy, then
// patches; a second run finds the copy signed and signs nothing.
func TestPinMirrorSignsBeforePatching(t *testing.T) {
	f := newPinSignFixture(t)
	res, steps, _, err := f.run(t, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"copy", "sign signed", "patch sent", "patched"}
	if strings.Join(steps, ", ") != strings.Join(want, ", ") {
		t.Errorf("steps %q, want %q", steps, want)
	}
	if res.Pinned != 1 || res.Signed == nil || *res.Signed != (report.SignTotals{Signed: 1}) {
		t.Errorf("result %+v, signed %+v; want pinned 1, signed 1", res, res.Signed)
	}
	res, steps, _, err = f.run(t, nil)
	if err != nil || res.Signed == nil || *res.Signed != (report.SignTotals{AlreadySigned: 1}) || !strings.Contains(strings.Join(steps, ", "), "sign already-signed") {
		t.Errorf("second run: %v, %+v, steps %q; want already signed", err, res.Signed, steps)
	}
}

// A signature the mirror refuses (403) leaves the workload unpatched,
// though the copy was made; the failure names docker login.
func TestPinMirrorSignFailurePatchesNothing(t *testing.T) {
	f := newPinSignFixture(t)
	deny := func(h *testregistry.Hooks) {
		h.Fault = func(w http.ResponseWriter, r *http.Request) bool {
			if r.Method == http.MethodGet || r.Method == http.MethodHead {
				return false
			}
			http.Error(w, `{"errors":[{"code":"DENIED","message":"no"}]}`, http.StatusForbidden)
			return true
		}
	}
	res, steps, _, err := f.run(t, func(e PinEvent) {
		if e.Kind == PinMirrorCopy {
			f.dst.Set(deny) // the copy landed; the signature will not
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(steps) != 2 || steps[0] != "copy" || !strings.HasPrefix(steps[1], "failed: signing "+f.dst.Host+"/mirror/") ||
		!strings.Contains(steps[1], "docker login "+f.dst.Host) || !strings.HasSuffix(steps[1], "nothing patched") {
		t.Errorf("steps %q; want the copy, then a failed signature and no patch", steps)
	}
	if res.Failed != 1 || res.Pinned != 0 || res.Signed == nil || *res.Signed != (report.SignTotals{}) {
		t.Errorf("result %+v, signed %+v; want one failure, nothing signed", res, res.Signed)
	}
}

// A wrong password fails the run before anything is read or written; a
// dry run plans the signature and writes nothing.
func TestPinMirrorSignKeyFirst(t *testing.T) {
	f := newPinSignFixture(t)
	f.cfg.Mirror.Sign.Password = sign.Password{Value: []byte("wrong"), Set: true}
	pushed := len(f.src.Requests())
	if _, steps, _, err := f.run(t, nil); err == nil || !strings.Contains(err.Error(), "wrong password") || len(steps) != 0 {
		t.Errorf("wrong password: %v, steps %q; want the key error and nothing done", err, steps)
	}
	if n := len(f.src.Requests()) - pushed + len(f.dst.Requests()); n != 0 {
		t.Errorf("wrong password: %d registry requests, want none", n)
	}
	f.cfg.Mirror.Sign.Password = sign.Password{Value: []byte("pw"), Set: true}
	f.cfg.Apply = false
	res, steps, _, err := f.run(t, nil)
	if err != nil || strings.Join(steps, ", ") != "copy, sign planned" || res.Signed != nil {
		t.Errorf("dry run: %v, steps %q, signed %+v; want the copy and the signature planned", err, steps, res.Signed)
	}
	if n := f.dst.Count(http.MethodPut, "/"); n != 0 {
		t.Errorf("dry run: %d writes to the mirror", n)
	}
}
