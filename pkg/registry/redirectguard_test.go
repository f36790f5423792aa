package registry

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/imgtrust/kubectl-imgtrust/internal/testregistry"
)

// A registry that redirects its manifest and blob reads to another host
// (a CDN) with HTTP 307: the redirect is followed when the host resolves
// to a public address or to the registry's own, refused (redirect-refused,
// nothing sent there) when it resolves to a loopback, private or
// link-local address that is not the registry's own; and the other host
// never gets the registry's credential, basic or bearer.
func TestRedirectByResolvedAddress(t *testing.T) {
	const pass = "redirect-secret-pw"
	for _, auth := range []string{"basic", "bearer"} {
		for _, tt := range []struct {
			name       string
			resolves   []string // what cdn.test resolves to
			wantReason Reason   // "" read
		}{
			{"a public address", []string{"203.0.113.9"}, ""},
			{"the registry's own address", []string{"127.0.0.1"}, ""},
			{"a private address", []string{"10.0.0.5"}, ReasonRedirectRefused},
			{"a loopback address not the registry's", []string{"127.0.0.1", "::1"}, ReasonRedirectRefused},
			{"a link-local address", []string{"169.254.169.254"}, ReasonRedirectRefused},
		} {
			t.Run(auth+"/"+tt.name, func(t *testing.T) {
				reg, cdn := testregistry.New(t), testregistry.New(t)
				img := testregistry.RandomImage(t, 1)
				d := reg.Push(t, "app:v1", img)
				cdn.Push(t, "app:v1", img)
				raw, _ := img.RawManifest()
				m, err := v1.ParseManifest(bytes.NewReader(raw))
				if err != nil {
					t.Fatal(err)
				}
				_, cdnPort, _ := net.SplitHostPort(cdn.Host)
				check := testregistry.BasicAuth("u", pass)
				if auth == "bearer" {
					check = tokenAuth(reg.Server.URL+"/token", "u", pass)
				}
				reg.Set(func(h *testregistry.Hooks) {
					h.Auth = check
					h.Fault = func(w http.ResponseWriter, r *http.Request) bool {
						if r.Method == http.MethodGet && (strings.Contains(r.URL.Path, "/manifests/sha256:") || strings.Contains(r.URL.Path, "/blobs/sha256:")) {
							http.Redirect(w, r, "http://cdn.test:"+cdnPort+r.URL.Path, http.StatusTemporaryRedirect)
							return true
						}
						return false
					}
				})
				var mu sync.Mutex
				var sent []string // the Authorization headers the CDN got
				cdn.Set(func(h *testregistry.Hooks) {
					h.Auth = func(_ http.ResponseWriter, r *http.Request) bool {
						mu.Lock()
						sent = append(sent, r.Header.Get("Authorization"))
						mu.Unlock()
						return false
					}
				})
				// cdn.test dials the CDN server; what the guard decides on is
				// the (fake) resolver's answer.
				dialer := &net.Dialer{}
				tr := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
					if h, _, _ := net.SplitHostPort(addr); h == "cdn.test" {
						addr = cdn.Host
					}
					return dialer.DialContext(ctx, network, addr)
				}}
				t.Cleanup(tr.CloseIdleConnections)
				r := newResolver(t, Options{Insecure: []string{reg.Host, "cdn.test"}, Transport: tr})
				r.observer.lookup = fakeLookup(map[string][]string{"cdn.test": tt.resolves})
				cred := basicCred("pod-secret ns/pull", "u", pass)
				a := r.Artifacts(cred)
				repo := reg.Repo(t, "app")

				_, me := a.Manifest(t.Context(), repo.Digest(d.String()))
				_, be := a.Blob(t.Context(), repo, m.Config.Digest)
				for what, e := range map[string]*Error{"manifest": me, "blob": be} {
					switch {
					case tt.wantReason == "" && e != nil:
						t.Errorf("%s read: %v, want it read through the redirect", what, e)
					case tt.wantReason != "" && (e == nil || e.Reason != tt.wantReason):
						t.Errorf("%s read: %v, want %s", what, e, tt.wantReason)
					case e != nil && (!strings.Contains(e.Message, "cdn.test") || !strings.Contains(e.Message, "a "+what+" read") || strings.Contains(e.Message, pass)):
						t.Errorf("%s read: %q, want it to name the host and the read, and no password", what, e.Message)
					}
				}
				mu.Lock()
				defer mu.Unlock()
				if tt.wantReason == "" && len(sent) < 2 {
					t.Errorf("the CDN got %d requests, want the manifest and the blob", len(sent))
				}
				if tt.wantReason != "" && len(sent) != 0 {
					t.Errorf("the CDN got %d requests after a refused redirect, want none", len(sent))
				}
				for _, h := range sent {
					if h != "" {
						t.Errorf("the CDN got Authorization %q: the registry's credential followed the redirect", h)
					}
				}
			})
		}
	}
}
