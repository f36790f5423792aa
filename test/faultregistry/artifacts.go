package faultregistry

// Faults of the reads after a resolution (audit --verify-key --provenance
// --updates): each repository answers its image's resolution honestly, as
// Healthy does, and misbehaves on what is read next. They are apart from
// Faults, whose table the resolve tests check.

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// Artifact faults, each the first path component of a repository on the
// main registry ("<fault>/app:v1", see Image).
const (
	// ArtifactsHang answers manifests (the tag, digests) and hangs on every
	// other read: the referrers API, cosign's sha256-* tags, tag lists, blobs.
	ArtifactsHang = "artifacts-hang"
	// UntypedReferrers lists UntypedReferrerCount referrers of the image
	// through the referrers API, none with an artifactType, each a real
	// manifest that is no signature.
	UntypedReferrers = "untyped-referrers"
	// HugeError lists HugeErrorReferrers of UntypedReferrers' referrers
	// (fewer than a reader's cap, so every read fails) and answers every
	// referrer manifest 403 with a distinct message of HugeErrorBytes.
	HugeError = "huge-error"
	// LargeIndex's tags (any but cosign's) are an index of LargeIndexBytes:
	// its HEAD tells the size and digest, its GET streams it without a
	// Content-Length.
	LargeIndex = "large-index"
)

// Sizes of the artifact faults.
const (
	UntypedReferrerCount = 10000
	HugeErrorReferrers   = 20
	HugeErrorBytes       = 64 << 10
	LargeIndexBytes      = 48 << 20
)

// ArtifactFaults are the artifact faults, in a stable order.
var ArtifactFaults = []string{ArtifactsHang, UntypedReferrers, HugeError, LargeIndex, ManyAttestations}

// untyped are UntypedReferrers' manifests by digest, made once.
var untyped = sync.OnceValue(func() map[string][]byte {
	m := make(map[string][]byte, UntypedReferrerCount)
	for i := range UntypedReferrerCount {
		b := fmt.Appendf(nil, `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},"layers":[],"annotations":{"n":"%d"}}`, i)
		sum := sha256.Sum256(b)
		m["sha256:"+hex.EncodeToString(sum[:])] = b
	}
	return m
})

// referrersIndex lists n of UntypedReferrers' manifests (all for n < 0),
// in digest order.
func referrersIndex(n int) []byte {
	type desc struct {
		MediaType string `json:"mediaType"`
		Digest    string `json:"digest"`
		Size      int    `json:"size"`
	}
	descs := []desc{}
	for d, b := range untyped() {
		descs = append(descs, desc{"application/vnd.oci.image.manifest.v1+json", d, len(b)})
	}
	sort.Slice(descs, func(i, j int) bool { return descs[i].Digest < descs[j].Digest })
	if n >= 0 && n < len(descs) {
		descs = descs[:n]
	}
	b, _ := json.Marshal(map[string]any{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": descs})
	return b
}

var (
	untypedIndex = sync.OnceValue(func() []byte { return referrersIndex(-1) })
	hugeIndex    = sync.OnceValue(func() []byte { return referrersIndex(HugeErrorReferrers) })
)

// writeLargeIndex writes LargeIndex's index (exactly LargeIndexBytes).
func writeLargeIndex(w io.Writer) error {
	const head = `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[`
	const tail = `]}`
	if _, err := io.WriteString(w, head); err != nil {
		return err
	}
	left := LargeIndexBytes - len(head) - len(tail)
	for i := 0; ; i++ {
		sum := sha256.Sum256([]byte(strconv.Itoa(i)))
		entry := `{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:` + hex.EncodeToString(sum[:]) + `","size":1000,"platform":{"architecture":"amd64","os":"linux"}}`
		if i > 0 {
			entry = "," + entry
		}
		if len(entry)+1 > left {
			// Pad with spaces, which JSON allows, to the exact size.
			entry = strings.Repeat(" ", left)
		}
		if _, err := io.WriteString(w, entry); err != nil {
			return err
		}
		left -= len(entry)
		if left == 0 {
			break
		}
	}
	_, err := io.WriteString(w, tail)
	return err
}

// largeIndexDigest is the digest of LargeIndex's index, hashed once.
var largeIndexDigest = sync.OnceValue(func() string {
	h := sha256.New()
	_ = writeLargeIndex(h)
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
})

// LargeIndexDigest is the digest LargeIndex's tag resolves to.
func LargeIndexDigest() string { return largeIndexDigest() }

// serveArtifactFault answers a request to an artifact fault's repository;
// it reports whether it did (false: not one of them).
func (r *Registry) serveArtifactFault(w http.ResponseWriter, req *http.Request, fault string) bool {
	switch fault {
	case ArtifactsHang, UntypedReferrers, HugeError, LargeIndex:
	case ManyAttestations:
		r.serveManyAttestations(w, req)
		return true
	default:
		return false
	}
	path := req.URL.Path
	rest := strings.TrimPrefix(path, "/v2/"+fault+"/app/")
	referrers := strings.HasPrefix(rest, "referrers/")
	switch {
	case fault == ArtifactsHang && !strings.HasPrefix(rest, "manifests/v1") && !strings.HasPrefix(rest, "manifests/sha256:"):
		select {
		case <-req.Context().Done():
		case <-r.hangs:
		}
		return true
	case referrers && fault == LargeIndex:
		w.Header().Set("Content-Type", "application/vnd.oci.image.index.v1+json")
		_, _ = io.WriteString(w, `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}`)
		return true
	case referrers && fault == UntypedReferrers:
		w.Header().Set("Content-Type", "application/vnd.oci.image.index.v1+json")
		_, _ = w.Write(untypedIndex())
		return true
	case referrers && fault == HugeError:
		w.Header().Set("Content-Type", "application/vnd.oci.image.index.v1+json")
		_, _ = w.Write(hugeIndex())
		return true
	case fault == LargeIndex && strings.HasPrefix(rest, "manifests/") && (!strings.HasPrefix(rest, "manifests/sha256") || rest == "manifests/"+largeIndexDigest()):
		// Every tag (but cosign's sha256-* tags) and the index's digest.
		w.Header().Set("Content-Type", "application/vnd.oci.image.index.v1+json")
		w.Header().Set("Docker-Content-Digest", largeIndexDigest())
		if req.Method == http.MethodHead {
			w.Header().Set("Content-Length", strconv.Itoa(LargeIndexBytes))
			return true
		}
		// No Content-Length: the reader must stop by itself.
		w.Header().Set("Transfer-Encoding", "chunked")
		_ = writeLargeIndex(w)
		return true
	case strings.HasPrefix(rest, "manifests/sha256:") && (fault == UntypedReferrers || fault == HugeError):
		d := strings.TrimPrefix(rest, "manifests/")
		b, ok := untyped()[d]
		if !ok {
			break // the image's own digest: served honestly below
		}
		if fault == HugeError {
			msg := "access to referrer " + d + " denied: " + strings.Repeat("this registry explains at length. ", HugeErrorBytes/34)
			writeRegistryError(w, http.StatusForbidden, "DENIED", msg)
			return true
		}
		w.Header().Set("Content-Type", "application/vnd.oci.image.manifest.v1+json")
		w.Header().Set("Docker-Content-Digest", d)
		w.Header().Set("Content-Length", strconv.Itoa(len(b)))
		if req.Method != http.MethodHead {
			_, _ = w.Write(b)
		}
		return true
	}
	// Everything else, honestly, from the Healthy repository.
	req.URL.Path = "/v2/" + Healthy + "/" + strings.TrimPrefix(path, "/v2/"+fault+"/")
	r.backend.ServeHTTP(w, req)
	return true
}

// writeRegistryError answers with status and a registry error body.
func writeRegistryError(w http.ResponseWriter, status int, code, msg string) {
	body, _ := json.Marshal(map[string][]map[string]string{"errors": {{"code": code, "message": msg}}})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
