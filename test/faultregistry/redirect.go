package faultregistry

import (
	"crypto/tls"
	"fmt"
	"net/http"
	"strings"

	"github.com/imgtrust/kubectl-imgtrust/internal/testregistry"
)

// RedirectLoopbackName is a registry on 127.0.0.2 (basic auth, as the main
// registry) that redirects every manifest read with 307 to "localhost"
// (127.0.0.1 here, ::1 too on some hosts), as a registry sends its reads
// to a CDN: a name, so go-containerregistry's guard against private IP
// literals lets it through, that resolves to a loopback address the
// registry's own host does not. The plugin must refuse to follow it; the
// target, which would answer, counts its requests as
// RedirectLoopbackTarget.
const (
	RedirectLoopbackName   = "redirect-loopback-name"
	RedirectLoopbackTarget = "redirect-loopback-target"
)

func init() { Expected[RedirectLoopbackName] = "redirect-refused" }

// RedirectLoopbackImage is the image of RedirectLoopbackHost.
func (r *Registry) RedirectLoopbackImage() string { return r.RedirectLoopbackHost + "/app:v1" }

// startRedirectFaults starts the RedirectLoopbackName registry and the
// target of its redirects with the leaf certificate (valid for 127.0.0.2
// and localhost).
func (r *Registry) startRedirectFaults(leaf *tls.Certificate) error {
	target := r.startOn("127.0.0.1:0", leaf, http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.count(RedirectLoopbackTarget)
		if req.Header.Get("Authorization") != "" {
			r.mu.Lock()
			r.leaked = append(r.leaked, req.Method+" "+req.Host+" "+req.URL.Path)
			r.mu.Unlock()
		}
		testregistry.WriteError(w, http.StatusNotFound, "MANIFEST_UNKNOWN", "nothing here")
	}))
	if target == nil {
		return fmt.Errorf("cannot listen on 127.0.0.1")
	}
	to := "https://localhost:" + port(target)
	reg := r.startOn("127.0.0.2:0", leaf, http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.count(RedirectLoopbackName)
		if u, p, ok := req.BasicAuth(); req.URL.Path != "/v2/" && (!ok || u != r.User || p != r.Password) {
			w.Header().Set("WWW-Authenticate", `Basic realm="faultregistry"`)
			testregistry.WriteError(w, http.StatusUnauthorized, "UNAUTHORIZED", "authentication required")
			return
		}
		if strings.Contains(req.URL.Path, "/manifests/") {
			http.Redirect(w, req, to+req.URL.Path, http.StatusTemporaryRedirect)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	if reg == nil {
		return fmt.Errorf("cannot listen on 127.0.0.2 (a loopback address besides 127.0.0.1)")
	}
	r.RedirectLoopbackHost = reg.Listener.Addr().String()
	return nil
}
