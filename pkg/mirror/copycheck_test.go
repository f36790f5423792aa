package mirror

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/imgtrust/kubectl-imgtrust/internal/testregistry"
	"github.com/imgtrust/kubectl-imgtrust/pkg/registry"
)

// blobHeads counts the blob HEADs a registry saw (go-containerregistry's
// before each upload, and the check's after the copy).
func blobHeads(reg *testregistry.Registry) int { return reg.Count(http.MethodHead, "/blobs/sha256:") }

// A healthy target: a multi-arch copy is checked with one HEAD per
// distinct blob, none again for the same repository in the same run, and
// one each again in the next run (which finds the copy present).
func TestCopyChecksEveryBlobOnce(t *testing.T) {
	srcReg, dstReg := testregistry.New(t, withReferrers), testregistry.New(t, withReferrers)
	digest, _ := srcReg.PushIndex(t, "team/app:1.0", types.OCIImageIndex, "linux/amd64", "linux/arm64")
	image := srcReg.Host + "/team/app:1.0"
	req := CopyRequest{Image: image, Digest: digest.String(), Target: dstReg.Host + "/mirror/app:1.0"}
	s := newTestSession(t, SessionOptions{Prefix: dstReg.Host + "/mirror"}, srcReg.Host, dstReg.Host)
	dstReg.Reset()
	res, err := s.Copy(context.Background(), req)
	// Two platforms of one layer and a config each: four blobs.
	if err != nil || res.Manifests != 3 || res.Blobs != 4 || res.BlobsChecked != 4 {
		t.Fatalf("copy: %+v, %v; want 3 manifests, 4 blobs sent and checked", res, err)
	}
	if n := blobHeads(dstReg); n != 8 {
		t.Errorf("%d blob HEADs, want 8 (4 before the uploads, 4 after)", n)
	}
	t.Logf("healthy multi-arch copy: %d requests to the target (%d blob HEADs)", len(dstReg.Requests()), blobHeads(dstReg))

	// Another tag in the same repository: the blobs were found this run.
	req.Target = dstReg.Host + "/mirror/app:stable"
	if res, err = s.Copy(context.Background(), req); err != nil || res.BlobsChecked != 0 {
		t.Errorf("second tag: %+v, %v; want no blob checked again", res, err)
	}
	// A new run finds the copy and checks each blob once.
	dstReg.Reset()
	s = newTestSession(t, SessionOptions{Prefix: dstReg.Host + "/mirror"}, srcReg.Host, dstReg.Host)
	if res, err = s.Copy(context.Background(), req); err != nil || !res.AlreadyPresent || res.BlobsChecked != 4 || blobHeads(dstReg) != 4 {
		t.Errorf("next run: %+v, %v, %d blob HEADs; want present, 4 checked", res, err, blobHeads(dstReg))
	}
}

// loseUploads answers the commit of every blob upload 201 without
// storing the blob, as a target whose storage lost it.
func loseUploads(w http.ResponseWriter, r *http.Request) bool {
	if r.Method != http.MethodPut || !strings.Contains(r.URL.Path, "/blobs/uploads/") {
		return false
	}
	repo := strings.TrimPrefix(r.URL.Path[:strings.Index(r.URL.Path, "/blobs/uploads/")], "/v2/")
	w.Header().Set("Location", "/v2/"+repo+"/blobs/"+r.URL.Query().Get("digest"))
	w.Header().Set("Docker-Content-Digest", r.URL.Query().Get("digest"))
	w.WriteHeader(http.StatusCreated)
	return true
}

// copyFails copies a random two-layer image from a fresh source to dst
// and returns the copy's error, which must be incomplete-copy.
func copyFails(t *testing.T, dstReg *testregistry.Registry, others ...string) *registry.Error {
	t.Helper()
	srcReg := testregistry.New(t, withReferrers)
	digest := pushRandom(t, srcReg, "team/app:1.0")
	hosts := append([]string{srcReg.Host, dstReg.Host}, others...)
	s := newTestSession(t, SessionOptions{Prefix: dstReg.Host + "/mirror"}, hosts...)
	req := CopyRequest{Image: srcReg.Host + "/team/app:1.0", Digest: digest, Target: dstReg.Host + "/mirror/app:1.0"}
	_, err := s.Copy(context.Background(), req)
	var ce *CopyError
	if !errors.As(err, &ce) || ce.Err.Reason != registry.ReasonIncompleteCopy {
		t.Fatalf("copy: %v; want %s", err, registry.ReasonIncompleteCopy)
	}
	if s.Totals() != (Totals{}) {
		t.Errorf("totals %+v after a failed copy", s.Totals())
	}
	return ce.Err
}

// A target that answers 201 to blob uploads but keeps nothing: the copy
// fails naming a blob, with a bounded number of requests.
func TestCopyFailsWhenTheTargetLostABlob(t *testing.T) {
	dstReg := testregistry.New(t, withReferrers)
	dstReg.Set(func(h *testregistry.Hooks) { h.Fault = loseUploads })
	e := copyFails(t, dstReg)
	if !strings.Contains(e.Message, "accepted the manifest but does not have blob sha256:") {
		t.Errorf("message %q does not name the missing blob", e.Message)
	}
	// Three blobs: per blob a HEAD, a POST, a PATCH and a PUT to upload;
	// the tag's two HEADs (ours, go-containerregistry's), the manifest's
	// PUT and GET, and at most three check HEADs.
	if n := len(dstReg.Hits()); n > 4*3+4+3 {
		t.Errorf("%d requests to the target: %v", n, dstReg.Hits())
	}
}

// A target that sends the upload to another host: refused before the
// blob (or the credential) leaves, and named.
func TestCopyRefusesAnUploadElsewhere(t *testing.T) {
	dstReg, elsewhere := testregistry.New(t, withReferrers), testregistry.New(t, withReferrers)
	dstReg.Set(func(h *testregistry.Hooks) {
		h.Fault = func(w http.ResponseWriter, r *http.Request) bool {
			if r.Method != http.MethodPost || !strings.Contains(r.URL.Path, "/blobs/uploads/") {
				return false
			}
			w.Header().Set("Location", "http://"+elsewhere.Host+r.URL.Path+"upload-1")
			w.WriteHeader(http.StatusAccepted)
			return true
		}
	})
	e := copyFails(t, dstReg, elsewhere.Host)
	if !strings.Contains(e.Message, "sent a blob upload to another host") || !strings.Contains(e.Message, elsewhere.Host) {
		t.Errorf("message %q does not name the other host", e.Message)
	}
	if hits := elsewhere.Requests(); len(hits) != 0 {
		t.Errorf("the other host was sent %v", hits)
	}
	if n := dstReg.Count(http.MethodPut, "/manifests/"); n != 0 {
		t.Errorf("%d manifest PUTs after a refused upload", n)
	}
}

// A target that lost a platform manifest of an index: incomplete too.
func TestCopyFailsWhenTheTargetLostAManifest(t *testing.T) {
	srcReg, dstReg := testregistry.New(t, withReferrers), testregistry.New(t, withReferrers)
	digest, children := srcReg.PushIndex(t, "team/app:1.0", types.OCIImageIndex, "linux/amd64", "linux/arm64")
	lost := children["linux/arm64"].String()
	dstReg.Set(func(h *testregistry.Hooks) {
		h.Fault = func(w http.ResponseWriter, r *http.Request) bool {
			if r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/manifests/"+lost) {
				testregistry.WriteError(w, http.StatusNotFound, "MANIFEST_UNKNOWN", "manifest unknown")
				return true
			}
			return false
		}
	})
	s := newTestSession(t, SessionOptions{Prefix: dstReg.Host + "/mirror"}, srcReg.Host, dstReg.Host)
	_, err := s.Copy(context.Background(), CopyRequest{Image: srcReg.Host + "/team/app:1.0", Digest: digest.String(), Target: dstReg.Host + "/mirror/app:1.0"})
	var ce *CopyError
	if !errors.As(err, &ce) || ce.Err.Reason != registry.ReasonIncompleteCopy || !strings.Contains(ce.Err.Message, "does not have its manifest "+lost) {
		t.Errorf("copy: %v; want the lost manifest named", err)
	}
}
