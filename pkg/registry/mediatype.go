package registry

import (
	"encoding/json"

	"github.com/google/go-containerregistry/pkg/v1/types"
)

// manifestMediaTypes are the answers a runtime can pull: image manifests
// and indexes, Docker and OCI, including Docker's legacy schema 1.
var manifestMediaTypes = map[string]bool{
	string(types.DockerManifestSchema2):       true,
	string(types.DockerManifestList):          true,
	string(types.OCIManifestSchema1):          true,
	string(types.OCIImageIndex):               true,
	string(types.DockerManifestSchema1):       true,
	string(types.DockerManifestSchema1Signed): true,
}

// IsManifestMediaType reports whether mt (without parameters) is an image
// manifest or index media type.
func IsManifestMediaType(mt string) bool { return manifestMediaTypes[mt] }

// sniffManifest tells a manifest's media type from its content, for answers
// whose Content-Type did not say (see sniffable). It follows the OCI image
// spec's guidance: the mediaType field if present, else the shape.
func sniffManifest(body []byte) (string, bool) {
	var m struct {
		SchemaVersion *int              `json:"schemaVersion"`
		MediaType     string            `json:"mediaType"`
		Manifests     []json.RawMessage `json:"manifests"`
		Layers        []json.RawMessage `json:"layers"`
		Config        json.RawMessage   `json:"config"`
		FSLayers      []json.RawMessage `json:"fsLayers"`
	}
	if err := json.Unmarshal(body, &m); err != nil || m.SchemaVersion == nil {
		return "", false
	}
	switch {
	case m.MediaType != "":
		return m.MediaType, IsManifestMediaType(m.MediaType)
	case *m.SchemaVersion == 1 && m.FSLayers != nil:
		return string(types.DockerManifestSchema1), true
	case *m.SchemaVersion == 2 && m.Manifests != nil:
		return string(types.OCIImageIndex), true
	case *m.SchemaVersion == 2 && m.Config != nil:
		return string(types.OCIManifestSchema1), true
	}
	return "", false
}
