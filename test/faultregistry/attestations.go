package faultregistry

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// ManyAttestations lists ManyAttestationCount referrers of the image
// through the referrers API, each a sigstore bundle by its artifactType
// but without the annotations a listing may repeat (many registries drop
// them): only its manifest tells that it attests a kind nobody asked for
// (ManyAttestationsPredicate), so telling them apart costs a manifest GET
// each, up to the image's budget of reads.
const (
	ManyAttestations          = "many-attestations"
	ManyAttestationCount      = 5000
	ManyAttestationsPredicate = "https://example.com/build-step/v1"
)

const mtBundle = "application/vnd.dev.sigstore.bundle.v0.3+json"

// attestationManifests are ManyAttestations' manifests by digest, made once.
var attestationManifests = sync.OnceValue(func() map[string][]byte {
	m := make(map[string][]byte, ManyAttestationCount)
	for i := range ManyAttestationCount {
		layer := sha256.Sum256([]byte(strconv.Itoa(i)))
		b := fmt.Appendf(nil, `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","artifactType":%q,"config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},"layers":[{"mediaType":%q,"digest":"sha256:%s","size":1000}],"annotations":{"dev.sigstore.bundle.predicateType":%q,"n":"%d"}}`,
			mtBundle, mtBundle, hex.EncodeToString(layer[:]), ManyAttestationsPredicate, i)
		sum := sha256.Sum256(b)
		m["sha256:"+hex.EncodeToString(sum[:])] = b
	}
	return m
})

// attestationsIndex lists them all, typed, without annotations.
var attestationsIndex = sync.OnceValue(func() []byte {
	type desc struct {
		MediaType    string `json:"mediaType"`
		ArtifactType string `json:"artifactType"`
		Digest       string `json:"digest"`
		Size         int    `json:"size"`
	}
	descs := []desc{}
	for d, b := range attestationManifests() {
		descs = append(descs, desc{"application/vnd.oci.image.manifest.v1+json", mtBundle, d, len(b)})
	}
	sort.Slice(descs, func(i, j int) bool { return descs[i].Digest < descs[j].Digest })
	b, _ := json.Marshal(map[string]any{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": descs})
	return b
})

// serveManyAttestations answers ManyAttestations' referrers and their
// manifests; everything else comes from Healthy, honestly.
func (r *Registry) serveManyAttestations(w http.ResponseWriter, req *http.Request) {
	path := req.URL.Path
	rest := strings.TrimPrefix(path, "/v2/"+ManyAttestations+"/app/")
	if strings.HasPrefix(rest, "referrers/") {
		w.Header().Set("Content-Type", "application/vnd.oci.image.index.v1+json")
		_, _ = w.Write(attestationsIndex())
		return
	}
	if d, ok := strings.CutPrefix(rest, "manifests/"); ok {
		if b, ok := attestationManifests()[d]; ok {
			w.Header().Set("Content-Type", "application/vnd.oci.image.manifest.v1+json")
			w.Header().Set("Docker-Content-Digest", d)
			w.Header().Set("Content-Length", strconv.Itoa(len(b)))
			if req.Method != http.MethodHead {
				_, _ = w.Write(b)
			}
			return
		}
	}
	req.URL.Path = "/v2/" + Healthy + "/" + strings.TrimPrefix(path, "/v2/"+ManyAttestations+"/")
	r.backend.ServeHTTP(w, req)
}
