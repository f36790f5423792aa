package registry

import (
	"encoding/json"

	"github.com/google/go-containerregistry/pkg/v1/types"
)

// IsManifestMediaType reports whether mt (without parameters) is what a
// runtime can pull: an image manifest or index, Docker or OCI, including
// Docker's legacy schema 1.
func IsManifestMediaType(mt string) bool {
	m := types.MediaType(mt)
	return m.IsImage() || m.IsIndex() || m.IsSchema1()
}

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
