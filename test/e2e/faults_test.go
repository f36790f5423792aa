//go:build e2e

package e2e

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/imgtrust/kubectl-imgtrust/test/faultregistry"
)

// TestRegistryFaultsBoundedAndNamed runs one `resolve` through the real
// kubectl over every fault of test/faultregistry, with healthy images of
// the real stack's registries beside them: the run ends in bounded time,
// each fault costs a bounded number of requests and has its own named
// reason, every healthy image resolves right, and no output format shows
// a secret or the registry's stray bytes.
func TestRegistryFaultsBoundedAndNamed(t *testing.T) {
	reg, ca := faultregistry.StartForTest(t)
	dir := t.TempDir()
	ns := "faults-" + randomSuffix()
	private, public := push(t, stack.Registry+"/"+ns+"/private:1"), push(t, stack.PublicRegistry+"/"+ns+"/public:1")
	auths := map[string]any{}
	for host, login := range map[string][2]string{
		reg.Host: {reg.User, reg.Password}, reg.BearerHost: {reg.User, reg.Password}, reg.BadTokenHost: {reg.User, reg.Password},
		stack.Registry: {stack.RegistryUser, stack.RegistryPassword},
	} {
		auths[host] = map[string]string{"auth": base64.StdEncoding.EncodeToString([]byte(login[0] + ":" + login[1]))}
	}
	b, _ := json.Marshal(map[string]any{"auths": auths})
	if err := os.WriteFile(filepath.Join(dir, "config.json"), b, 0o600); err != nil {
		t.Fatal(err)
	}
	env := []string{"DOCKER_CONFIG=" + dir}

	images := reg.Images()
	args := []string{"--registry-ca-file", ca, "--registry-timeout", "1s", "--registry-lookup-timeout", "8s", "--concurrency-per-registry", "32", "--concurrency", "64"}
	var names []string
	for image := range images {
		names = append(names, image)
	}
	sort.Strings(names)
	args = append(append(args, names...), private.Ref, public.Ref)

	start := time.Now()
	rep, r := resolveJSON(t, env, args...)
	wall := time.Since(start)
	if r.Code != 1 {
		t.Fatalf("resolve over the faults: want exit 1 (some images failed), got %s", r)
	}
	if wall > 30*time.Second {
		t.Errorf("resolve took %s, want it bounded well under 30s", wall)
	}
	var table []string
	for _, image := range names {
		key := images[image]
		res := resolved(t, rep, image)
		got := ""
		if res.Err != nil {
			got = string(res.Err.Reason)
			if !strings.Contains(res.Err.Message, strings.Split(image, "/")[0]) {
				t.Errorf("%s: message %q does not name the registry", key, res.Err.Message)
			}
		}
		want := faultregistry.Expected[key]
		if got != want {
			t.Errorf("%s: reason %q, want %q (%+v)", key, got, want, res.Err)
		}
		if want == "" && res.Digest != reg.Digest {
			t.Errorf("%s: digest %s, want %s", key, res.Digest, reg.Digest)
		}
		n := reg.Requests(key)
		if n > 12 {
			t.Errorf("%s: %d requests reached the registry, want at most 12", key, n)
		}
		table = append(table, fmt.Sprintf("| %s | %s | %d |", key, orOK(got), n))
	}
	for _, p := range []struct{ ref, digest string }{{private.Ref, private.Digest}, {public.Ref, public.Digest}} {
		if res := resolved(t, rep, p.ref); res.Err != nil || res.Digest != p.digest {
			t.Errorf("healthy %s: %s %v, want %s", p.ref, res.Digest, res.Err, p.digest)
		}
	}
	if leaks := reg.Leaks(); len(leaks) > 0 {
		t.Errorf("credentials reached a host they were not for: %v", leaks)
	}
	t.Logf("one run, %d images, wall %s, stats %+v\n| fault | reason | requests |\n|---|---|---|\n%s", len(names)+2, wall.Round(10*time.Millisecond), rep.Stats, strings.Join(table, "\n"))

	// Every output format: no secret, none of the registry's stray bytes.
	outputs := []result{r}
	for _, o := range []string{"yaml"} {
		outputs = append(outputs, kubectlEnv(t, env, append(append([]string{"imgtrust", "resolve"}, args...), "-o", o)...))
	}
	outputs = append(outputs, kubectlEnv(t, env, append([]string{"imgtrust", "resolve"}, args...)...))
	for _, out := range outputs {
		all := out.Stdout + out.Stderr
		for _, bad := range []string{reg.Password, stack.RegistryPassword, "good-token", "REGISTRY-BYTES", "Unsolicited response"} {
			if strings.Contains(all, bad) {
				t.Errorf("output holds %q:\n%s", bad, out)
			}
		}
	}
}

func orOK(s string) string {
	if s == "" {
		return "ok"
	}
	return s
}
