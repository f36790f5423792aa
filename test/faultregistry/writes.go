package faultregistry

import (
	"io"
	"net/http"
	"strings"

	"github.com/imgtrust/kubectl-imgtrust/internal/testregistry"
)

// Write faults, for tests of what a failed push leaves behind (sign,
// mirror). Every read is served honestly; like the whole registry, none
// of them has the referrers API.
const (
	// WriteDenied answers every write (POST, PUT, PATCH, DELETE) 403, as
	// an account with pull but no push permission gets.
	WriteDenied = "write-denied"
	// UploadCut cuts the connection while a blob's bytes are being sent
	// (a PATCH, or a PUT with a body), after reading part of them.
	UploadCut = "upload-cut"
	// TagWriteDenied takes blobs and manifests by digest but answers a
	// manifest PUT by tag 403: with no referrers API, nowhere to list a
	// referrer and no tag to write a legacy signature to.
	TagWriteDenied = "tag-write-denied"
)

// serveWriteFault plays the write faults; it reports whether it answered.
func (r *Registry) serveWriteFault(w http.ResponseWriter, req *http.Request, fault string) bool {
	write := req.Method != http.MethodGet && req.Method != http.MethodHead
	switch {
	case !write:
		return false
	case fault == WriteDenied:
		testregistry.WriteError(w, http.StatusForbidden, "DENIED", "requested access to the resource is denied: push")
		return true
	case fault == UploadCut && strings.Contains(req.URL.Path, "/blobs/uploads/") &&
		(req.Method == http.MethodPatch || req.Method == http.MethodPut && req.ContentLength != 0):
		_, _ = io.CopyN(io.Discard, req.Body, 1)
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				_ = conn.Close()
				return true
			}
		}
		w.WriteHeader(http.StatusBadGateway)
		return true
	case fault == TagWriteDenied && req.Method == http.MethodPut:
		_, ref, ok := strings.Cut(req.URL.Path, "/manifests/")
		if ok && !strings.HasPrefix(ref, "sha256:") {
			testregistry.WriteError(w, http.StatusForbidden, "DENIED", "tags are immutable here: push by digest")
			return true
		}
	}
	return false
}
