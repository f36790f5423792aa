package faultregistry

import (
	"context"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"

	"github.com/imgtrust/kubectl-imgtrust/pkg/registry"
	"github.com/imgtrust/kubectl-imgtrust/pkg/signature"
)

// TestResolverAgainstEveryFault drives pkg/registry's Resolver at every
// fault at once. The e2e suite does the same through kubectl; this is the
// fast loop, and it logs the fault table.
func TestResolverAgainstEveryFault(t *testing.T) {
	reg, ca := StartForTest(t)
	r, err := registry.New(registry.Options{CAFile: ca, Timeout: time.Second, LookupTimeout: 8 * time.Second, PerHost: 32, Concurrency: 64, RetryBackoff: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	cred := registry.Credential{Source: "test", ID: "test", Auth: &authn.Basic{Username: reg.User, Password: reg.Password}}
	images := reg.Images()
	var reqs []registry.Request
	for image := range images {
		reqs = append(reqs, registry.Request{Image: image, Credentials: []registry.Credential{cred}})
	}
	sort.Slice(reqs, func(i, j int) bool { return reqs[i].Image < reqs[j].Image })
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	start := time.Now()
	results := r.ResolveAll(ctx, reqs)
	wall := time.Since(start)
	for _, res := range results {
		key := images[res.Image]
		want := Expected[key]
		got := ""
		if res.Err != nil {
			got = string(res.Err.Reason)
		}
		t.Logf("%-20s → %-16s %s", key, orOK(got), oneLine(res))
		if got != want {
			t.Errorf("%s: reason %q, want %q (%v)", key, got, want, res.Err)
		}
		if want == "" && res.Digest != reg.Digest {
			t.Errorf("%s: digest %s, want %s", key, res.Digest, reg.Digest)
		}
		if res.Err != nil && strings.Contains(res.Err.Message, reg.Password) {
			t.Errorf("%s: message holds the password: %s", key, res.Err.Message)
		}
	}
	for _, f := range Faults {
		if n := reg.Requests(f); n > 12 {
			t.Errorf("%s: %d requests, want at most 12", f, n)
		}
	}
	if leaks := reg.Leaks(); len(leaks) > 0 {
		t.Errorf("credentials reached another host: %v", leaks)
	}
	if n := reg.Requests(RedirectLoopbackTarget); n != 0 {
		t.Errorf("%s: its redirect target got %d requests, want none (refused before sending)", RedirectLoopbackName, n)
	}
	if wall > 20*time.Second {
		t.Errorf("wall time %s, want the faults bounded well under 20s", wall)
	}
	t.Logf("wall %s, %+v", wall, r.Stats())
}

func orOK(s string) string {
	if s == "" {
		return "ok"
	}
	return s
}

func oneLine(res registry.Result) string {
	if res.Err != nil {
		return res.Err.Message
	}
	return res.Note
}

// TestSignatureLookupRefused: a 403 on every signature lookup is never
// "unsigned".
func TestSignatureLookupRefused(t *testing.T) {
	reg, ca := StartForTest(t)
	r, err := registry.New(registry.Options{CAFile: ca})
	if err != nil {
		t.Fatal(err)
	}
	c, err := signature.New(signature.Options{})
	if err != nil {
		t.Fatal(err)
	}
	cred := registry.Credential{Source: "test", ID: "test", Auth: &authn.Basic{Username: reg.User, Password: reg.Password}}
	for fault, want := range map[string]signature.Status{SignaturesDenied: signature.StatusLookupFailed, Healthy: signature.StatusUnsigned} {
		repo, err := r.RepositoryOf(reg.Image(fault))
		if err != nil {
			t.Fatal(err)
		}
		got := c.Check(t.Context(), r.Artifacts(cred), repo, reg.Digest)
		if got.Status != want || (want == signature.StatusLookupFailed && !strings.Contains(got.Error, "forbidden")) {
			t.Errorf("%s: %+v, want %s", fault, got, want)
		}
	}
}
