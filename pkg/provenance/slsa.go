package provenance

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// BuildKit's attestation entries in an index, and in-toto's types.
const (
	annotationReferenceType   = "vnd.docker.reference.type"
	annotationReferenceDigest = "vnd.docker.reference.digest"
	referenceTypeAttestation  = "attestation-manifest"
	mtInToto                  = "application/vnd.in-toto+json"
	annotationPredicateType   = "in-toto.io/predicate-type"
	PredicateSLSAv1           = "https://slsa.dev/provenance/v1"
	PredicateSLSAv02          = "https://slsa.dev/provenance/v0.2"
)

// IsSLSA reports whether an in-toto predicate type is SLSA provenance.
func IsSLSA(predicateType string) bool {
	return predicateType == PredicateSLSAv1 || predicateType == PredicateSLSAv02
}

// attestationFor finds BuildKit's attestation manifest for the platform
// manifest digest in the index.
func attestationFor(idx *v1.IndexManifest, digest string) *v1.Descriptor {
	for i := range idx.Manifests {
		m := &idx.Manifests[i]
		if m.Annotations[annotationReferenceType] == referenceTypeAttestation && m.Annotations[annotationReferenceDigest] == digest {
			return m
		}
	}
	return nil
}

// buildkitAttestation reads the SLSA statement of an attestation manifest.
func (r *read) buildkitAttestation(desc v1.Descriptor) {
	raw, ok := r.manifest(desc.Digest.String())
	if !ok {
		return
	}
	mf, err := v1.ParseManifest(bytes.NewReader(raw))
	if err != nil {
		r.p.Error = fmt.Sprintf("the attestation manifest %s does not parse", desc.Digest)
		return
	}
	for _, l := range mf.Layers {
		pt := l.Annotations[annotationPredicateType]
		if string(l.MediaType) != mtInToto || (pt != "" && !IsSLSA(pt)) {
			continue // SBOMs and other predicates
		}
		if !r.spend("the SLSA provenance statement") {
			return
		}
		blob, e := r.arts.Blob(r.ctx, r.repo, l.Digest)
		if e != nil {
			r.failed(e)
			return
		}
		f, ok := parseStatement(blob)
		if !ok {
			continue
		}
		r.readings = append(r.readings, reading{from: FromSLSA, values: f})
		return
	}
	r.notes = append(r.notes, "the BuildKit attestation holds no SLSA provenance")
}

// statement is the part of an in-toto statement with SLSA provenance
// (v1 and v0.2) that names the source and the builder.
type statement struct {
	PredicateType string `json:"predicateType"`
	Predicate     struct {
		// v1
		BuildDefinition struct {
			ExternalParameters struct {
				ConfigSource source `json:"configSource"`
				// GitHub Actions (actions/attest-build-provenance).
				Workflow struct {
					Repository string `json:"repository"`
				} `json:"workflow"`
			} `json:"externalParameters"`
			ResolvedDependencies []source `json:"resolvedDependencies"`
		} `json:"buildDefinition"`
		RunDetails struct {
			Builder struct {
				ID string `json:"id"`
			} `json:"builder"`
			Metadata struct {
				StartedOn  string `json:"startedOn"`
				FinishedOn string `json:"finishedOn"`
			} `json:"metadata"`
		} `json:"runDetails"`
		// v0.2
		Builder struct {
			ID string `json:"id"`
		} `json:"builder"`
		Invocation struct {
			ConfigSource source `json:"configSource"`
		} `json:"invocation"`
		Metadata struct {
			BuildStartedOn  string `json:"buildStartedOn"`
			BuildFinishedOn string `json:"buildFinishedOn"`
		} `json:"metadata"`
		Materials []source `json:"materials"`
	} `json:"predicate"`
}

type source struct {
	URI    string            `json:"uri"`
	Digest map[string]string `json:"digest"`
}

// revision is a source's commit: git's sha1 (BuildKit) or gitCommit (GitHub).
func (s source) revision() string {
	for _, k := range []string{"gitCommit", "sha1", "sha256"} {
		if v := s.Digest[k]; v != "" {
			return v
		}
	}
	return ""
}

// isGit tells a source repository from the base images among dependencies.
func (s source) isGit() bool {
	return s.URI != "" && !strings.HasPrefix(s.URI, "pkg:") && (s.Digest["gitCommit"] != "" || s.Digest["sha1"] != "" || strings.HasPrefix(s.URI, "git+"))
}

// parseStatement reads source, revision, builder and build time from an
// in-toto statement with SLSA provenance; ok is false for other predicates.
func parseStatement(raw []byte) (fields, bool) {
	var st statement
	if err := json.Unmarshal(raw, &st); err != nil || !IsSLSA(st.PredicateType) {
		return fields{}, false
	}
	p := st.Predicate
	var f fields
	src := p.BuildDefinition.ExternalParameters.ConfigSource
	if p.BuildDefinition.ExternalParameters.Workflow.Repository != "" && src.URI == "" {
		src.URI = p.BuildDefinition.ExternalParameters.Workflow.Repository
	}
	if st.PredicateType == PredicateSLSAv02 {
		src = p.Invocation.ConfigSource
	}
	deps := p.BuildDefinition.ResolvedDependencies
	if st.PredicateType == PredicateSLSAv02 {
		deps = p.Materials
	}
	for _, d := range deps {
		if d.isGit() && (src.URI == "" || sameSource(d.URI, src.URI)) {
			if src.URI == "" {
				src.URI = d.URI
			}
			if src.revision() == "" {
				src.Digest = d.Digest
			}
			break
		}
	}
	f.source, f.revision = src.URI, src.revision()
	f.builderID = firstOf(p.RunDetails.Builder.ID, p.Builder.ID)
	f.created = firstOf(p.RunDetails.Metadata.FinishedOn, p.Metadata.BuildFinishedOn, p.RunDetails.Metadata.StartedOn, p.Metadata.BuildStartedOn)
	return f, true
}

func firstOf(v ...string) string {
	for _, s := range v {
		if s != "" {
			return s
		}
	}
	return ""
}
