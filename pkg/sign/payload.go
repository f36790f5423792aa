package sign

import (
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/sigstore/sigstore/pkg/signature/payload"
)

// Payload is cosign's simple-signing payload for d, byte for byte as
// cosign writes it: critical.identity.docker-reference is the repository,
// critical.image.docker-manifest-digest the digest, no optional fields.
func Payload(d name.Digest) ([]byte, error) {
	if d.DigestStr() == "" {
		return nil, fmt.Errorf("%s names no digest: only digests are signed", d)
	}
	return payload.Cosign{Image: d}.MarshalJSON()
}
