package sign

import (
	"encoding/json"

	"github.com/google/go-containerregistry/pkg/name"
	sgsign "github.com/sigstore/sigstore-go/pkg/sign"
	"google.golang.org/protobuf/encoding/protojson"
)

// What cosign v3 writes by default: a sigstore bundle v0.3 whose DSSE
// envelope holds an in-toto statement with cosign's signing predicate.
const (
	MediaTypeBundle      = "application/vnd.dev.sigstore.bundle.v0.3+json"
	PredicateCosignSign  = "https://sigstore.dev/cosign/sign/v1"
	payloadTypeInToto    = "application/vnd.in-toto+json"
	statementType        = "https://in-toto.io/Statement/v1"
	annotationPredicate  = "dev.sigstore.bundle.predicateType"
	annotationContent    = "dev.sigstore.bundle.content"
	bundleContentDSSE    = "dsse-envelope"
	mediaTypeOCIEmpty    = "application/vnd.oci.empty.v1+json"
	annotationOCICreated = "org.opencontainers.image.created"
)

// statement is an in-toto statement of one subject.
type statement struct {
	Type          string    `json:"_type"`
	Subject       []subject `json:"subject"`
	PredicateType string    `json:"predicateType"`
	Predicate     any       `json:"predicate"`
}

type subject struct {
	Name   string            `json:"name"`
	Digest map[string]string `json:"digest"`
}

// Statement is the in-toto statement a bundle signature of d signs:
// subject d, predicate type cosign's signing one.
func Statement(d name.Digest) ([]byte, error) {
	return StatementOf(d, PredicateCosignSign, map[string]any{})
}

// StatementOf is an in-toto statement of subject d with a predicate.
func StatementOf(d name.Digest, predicateType string, predicate any) ([]byte, error) {
	h, err := hashOf(d)
	if err != nil {
		return nil, err
	}
	return json.Marshal(statement{statementType, []subject{{Name: d.Context().Name(), Digest: map[string]string{h.Algorithm: h.Hex}}}, predicateType, predicate})
}

// Bundle signs d's statement with k into a sigstore bundle v0.3 (JSON),
// keyed: the public key's hint as verification material, no certificate,
// no transparency log entry, no timestamp.
func Bundle(k *Key, d name.Digest) ([]byte, error) {
	stmt, err := Statement(d)
	if err != nil {
		return nil, err
	}
	return BundleOf(k, stmt)
}

// BundleOf signs an in-toto statement with k into a bundle, as Bundle.
func BundleOf(k *Key, stmt []byte) ([]byte, error) {
	b, err := sgsign.Bundle(&sgsign.DSSEData{Data: stmt, PayloadType: payloadTypeInToto}, keypair{k}, sgsign.BundleOptions{})
	if err != nil {
		return nil, err
	}
	return protojson.Marshal(b)
}
