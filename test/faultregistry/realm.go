package faultregistry

import (
	"crypto/tls"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"

	"github.com/imgtrust/kubectl-imgtrust/internal/testregistry"
)

// RealmLoopbackName is a bearer-token registry on 127.0.0.2 whose token
// service is announced as "localhost" (127.0.0.1 here, ::1 too on some
// hosts): a name, so go-containerregistry's guard against private IP
// literals lets it through, that resolves to a loopback address the
// registry's own host does not. The plugin must refuse to send the
// registry's credential there; the token service, which would issue a
// token, counts its requests as RealmLoopbackToken.
const (
	RealmLoopbackName  = "realm-loopback-name"
	RealmLoopbackToken = "realm-loopback-token"
)

func init() { Expected[RealmLoopbackName] = "insecure-token-realm" }

// RealmLoopbackImage is the image of RealmLoopbackHost.
func (r *Registry) RealmLoopbackImage() string { return r.RealmLoopbackHost + "/app:v1" }

// startRealmFaults starts the RealmLoopbackName registry and its token
// service with the leaf certificate (valid for 127.0.0.2).
func (r *Registry) startRealmFaults(leaf *tls.Certificate) error {
	token := r.startOn("127.0.0.1:0", leaf, http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.count(RealmLoopbackToken)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"token":"good-token","expires_in":300}`)
	}))
	if token == nil {
		return fmt.Errorf("cannot listen on 127.0.0.1")
	}
	realm := "https://localhost:" + port(token) + "/token"
	reg := r.startOn("127.0.0.2:0", leaf, http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.count(RealmLoopbackName)
		w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer realm=%q,service="faultregistry"`, realm))
		testregistry.WriteError(w, http.StatusUnauthorized, "UNAUTHORIZED", "authentication required")
	}))
	if reg == nil {
		return fmt.Errorf("cannot listen on 127.0.0.2 (a loopback address besides 127.0.0.1)")
	}
	r.RealmLoopbackHost = reg.Listener.Addr().String()
	return nil
}

// startOn starts an HTTPS server on addr, or returns nil.
func (r *Registry) startOn(addr string, leaf *tls.Certificate, h http.Handler) *httptest.Server {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil
	}
	s := httptest.NewUnstartedServer(h)
	_ = s.Listener.Close()
	s.Listener = l
	s.Config.ErrorLog = log.New(io.Discard, "", 0)
	s.TLS = &tls.Config{Certificates: []tls.Certificate{*leaf}, MinVersion: tls.VersionTLS12}
	s.StartTLS()
	r.servers = append(r.servers, s)
	return s
}
