package provenance

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/imgtrust/kubectl-imgtrust/pkg/registry"
)

// Where a provenance value was read.
const (
	FromAnnotation = "annotation"
	FromLabel      = "label"
	FromSLSA       = "slsa-attestation"
	FromCosign     = "cosign-attestation"
	// FromConfig is the image config's own "created" time, used for age
	// only when no annotation, label or attestation gives one.
	FromConfig = "config"
)

// MaxRequests bounds the registry requests spent on one digest: the
// manifest or index, a platform manifest, its config, an attestation
// manifest and its statement.
const MaxRequests = 5

// Provenance is what the registry says of one digest's origin. Its JSON is
// part of the AuditReport contract.
type Provenance struct {
	Digest string `json:"digest,omitempty"`
	// Platform is the index entry whose config and attestation were read.
	Platform   string `json:"platform,omitempty"`
	Source     string `json:"source,omitempty"`
	Revision   string `json:"revision,omitempty"`
	Created    string `json:"created,omitempty"`
	Version    string `json:"version,omitempty"`
	BaseName   string `json:"baseName,omitempty"`
	BaseDigest string `json:"baseDigest,omitempty"`
	BuilderID  string `json:"builderID,omitempty"`
	// From is where source and revision were read; Sources lists every
	// place that had a value.
	From    string   `json:"from,omitempty"`
	Sources []string `json:"sources,omitempty"`
	// CreatedFrom is where Created was read.
	CreatedFrom string `json:"createdFrom,omitempty"`
	// Verified: the values come from an attestation a given key or keyless
	// identity verified; AttestedBy names it (the attestation's signedBy:
	// a key ID, or a certificate's "SUBJECT (ISSUER)").
	Verified   bool   `json:"verified"`
	AttestedBy string `json:"attestedBy,omitempty"`
	// CheckedBy is what imgtrust's checks attestation says was checked
	// before it signed the digest (kubectl imgtrust sign).
	CheckedBy *CheckedBy `json:"checkedBy,omitempty"`
	// Mismatch names two places that disagree on source or revision.
	Mismatch string `json:"mismatch,omitempty"`
	// Requests is what reading it cost (each a registry request).
	Requests int    `json:"requests"`
	Note     string `json:"note,omitempty"`
	// Error says why a read failed; what was read before it stays.
	Error string `json:"error,omitempty"`
	// ReadsSkipped counts the reads of the digest's artifacts not sent
	// because the image's --max-artifact-requests were spent (as a
	// signature result's): Error then says what was cut.
	ReadsSkipped int `json:"readsSkipped,omitempty"`
	// capped: MaxRequests stopped a read.
	capped bool
}

// Complete reports whether every read answered and none was capped: only
// then may the result be kept between runs.
func (p *Provenance) Complete() bool { return p.Error == "" && !p.capped && p.ReadsSkipped == 0 }

// Known reports whether any place named a source or revision.
func (p *Provenance) Known() bool { return p.Source != "" || p.Revision != "" }

// CreatedTime is Created parsed; ok is false when it is missing, does
// not parse, or is a reproducible build's placeholder (before 1980).
func (p *Provenance) CreatedTime() (time.Time, bool) {
	t, err := time.Parse(time.RFC3339Nano, p.Created)
	if err != nil || t.Year() < 1980 {
		return time.Time{}, false
	}
	return t, true
}

// reading is what one place said.
type reading struct {
	from     string
	values   fields
	verified bool
	by       string // who signed a verified attestation
}

type fields struct {
	source, revision, created, version, baseName, baseDigest, builderID string
}

// OCI and label-schema keys, as annotations and as config labels.
var (
	ociKeys = fields{
		source: "org.opencontainers.image.source", revision: "org.opencontainers.image.revision",
		created: "org.opencontainers.image.created", version: "org.opencontainers.image.version",
		baseName: "org.opencontainers.image.base.name", baseDigest: "org.opencontainers.image.base.digest",
	}
	labelSchemaKeys = fields{
		source: "org.label-schema.vcs-url", revision: "org.label-schema.vcs-ref",
		created: "org.label-schema.build-date", version: "org.label-schema.version",
	}
)

// fromMap reads the keys from annotations or labels; OCI keys win over
// label-schema ones.
func fromMap(m map[string]string) fields {
	get := func(k ...string) string {
		for _, key := range k {
			if v := strings.TrimSpace(m[key]); v != "" {
				return v
			}
		}
		return ""
	}
	return fields{
		source:     get(ociKeys.source, labelSchemaKeys.source),
		revision:   get(ociKeys.revision, labelSchemaKeys.revision),
		created:    get(ociKeys.created, labelSchemaKeys.created),
		version:    get(ociKeys.version, labelSchemaKeys.version),
		baseName:   get(ociKeys.baseName),
		baseDigest: get(ociKeys.baseDigest),
	}
}

func (f fields) empty() bool { return f == fields{} }

// merge puts readings together: each field from the first place that has
// it, in the order given (cheapest first).
func merge(p *Provenance, rs []reading) {
	take := func(dst *string, v string) bool {
		if *dst == "" && v != "" {
			*dst = v
			return true
		}
		return false
	}
	for _, r := range rs {
		if r.values.empty() {
			continue
		}
		if r.from != FromConfig {
			if !slices.Contains(p.Sources, r.from) {
				p.Sources = append(p.Sources, r.from)
			}
		}
		if p.From == "" && (r.values.source != "" || r.values.revision != "") {
			p.From, p.Verified = r.from, r.verified
			if r.verified {
				p.AttestedBy = r.by
			}
		}
		take(&p.Source, r.values.source)
		take(&p.Revision, r.values.revision)
		if take(&p.Created, r.values.created) {
			p.CreatedFrom = r.from
		}
		take(&p.Version, r.values.version)
		take(&p.BaseName, r.values.baseName)
		take(&p.BaseDigest, r.values.baseDigest)
		take(&p.BuilderID, r.values.builderID)
	}
	p.Mismatch = mismatch(rs)
}

// mismatch names the first two places that disagree on source or revision.
func mismatch(rs []reading) string {
	for i := range rs {
		for j := i + 1; j < len(rs); j++ {
			a, b := rs[i], rs[j]
			if a.from == b.from {
				continue
			}
			if a.values.source != "" && b.values.source != "" && !sameSource(a.values.source, b.values.source) {
				return fmt.Sprintf("source %q (%s) vs %q (%s)", a.values.source, a.from, b.values.source, b.from)
			}
			if a.values.revision != "" && b.values.revision != "" && !sameRevision(a.values.revision, b.values.revision) {
				return fmt.Sprintf("revision %q (%s) vs %q (%s)", a.values.revision, a.from, b.values.revision, b.from)
			}
		}
	}
	return ""
}

// sameSource compares repository URLs as builders write them:
// "git+https://github.com/a/b.git@refs/heads/main", "https://github.com/a/b#main"
// and "github.com/a/b" name the same repository.
func sameSource(a, b string) bool { return normalSource(a) == normalSource(b) }

func normalSource(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	s = strings.TrimPrefix(s, "git+")
	if i := strings.Index(s, "://"); i >= 0 {
		s = s[i+3:]
	}
	if i := strings.IndexAny(s, "#?"); i >= 0 {
		s = s[:i]
	}
	if i := strings.LastIndex(s, "@"); i > strings.Index(s, "/") && strings.Contains(s[:i], "/") {
		s = s[:i] // a ref after the path, not a user before the host
	}
	if at := strings.Index(s, "@"); at >= 0 && at < strings.Index(s+"/", "/") {
		s = s[at+1:] // git@github.com:a/b
	}
	s = strings.Replace(s, ":", "/", 1)
	s = strings.TrimSuffix(strings.TrimSuffix(s, "/"), ".git")
	return s
}

// sameRevision treats an abbreviated commit as the same as its full form.
func sameRevision(a, b string) bool {
	a, b = strings.ToLower(strings.TrimSpace(a)), strings.ToLower(strings.TrimSpace(b))
	if len(a) > len(b) {
		a, b = b, a
	}
	return len(a) >= 7 && strings.HasPrefix(b, a) || a == b
}

// Attested is an in-toto statement of the digest that the signatures
// stage found as a cosign attestation; Verified when a given key or
// keyless identity verified it, SignedBy who signed it.
type Attested struct {
	Statement []byte
	Verified  bool
	SignedBy  string
}

// Read reads the provenance of digest in repo with one credential, and
// merges what attested says. platform picks an index's entry; nil picks
// the only one, if there is just one. It never returns an error: failures
// are in the result.
func Read(ctx context.Context, arts *registry.Artifacts, repo name.Repository, digest string, platform *v1.Platform, attested []Attested) Provenance {
	r := &read{ctx: ctx, arts: arts, repo: repo, p: Provenance{Digest: digest}}
	skipped := arts.Skipped()
	r.run(platform)
	r.p.ReadsSkipped = arts.Skipped() - skipped
	r.p.CheckedBy = checkedBy(attested)
	var verified []reading
	for _, a := range attested {
		f, ok := parseStatement(a.Statement)
		if !ok {
			continue
		}
		rd := reading{from: FromCosign, values: f, verified: a.Verified, by: a.SignedBy}
		if a.Verified {
			verified = append(verified, rd)
		} else {
			r.readings = append(r.readings, rd)
		}
	}
	// What a given key vouches for comes first.
	merge(&r.p, append(verified, r.readings...))
	if r.p.Mismatch != "" {
		r.p.Verified, r.p.AttestedBy = false, "" // a signed statement contradicted is no proof
	}
	return r.p
}

type read struct {
	ctx      context.Context
	arts     *registry.Artifacts
	repo     name.Repository
	p        Provenance
	readings []reading
	notes    []string
}

// spend counts a request; false when the budget is spent.
func (r *read) spend(what string) bool {
	if r.p.Requests == MaxRequests {
		r.p.capped = true
		r.notes = append(r.notes, fmt.Sprintf("%s not read (at most %d requests per digest)", what, MaxRequests))
		return false
	}
	r.p.Requests++
	return true
}

func (r *read) failed(e *registry.Error) {
	if r.p.Error == "" {
		r.p.Error = e.Error()
	}
}

func (r *read) manifest(d string) ([]byte, bool) {
	m, e := r.arts.Manifest(r.ctx, r.repo.Digest(d))
	if e != nil {
		r.failed(e)
		return nil, false
	}
	return m.Manifest, true
}

func (r *read) run(platform *v1.Platform) {
	defer func() { r.p.Note = strings.Join(r.notes, "; ") }()
	if !r.spend("the manifest") {
		return
	}
	raw, ok := r.manifest(r.p.Digest)
	if !ok {
		return
	}
	var probe struct {
		MediaType string          `json:"mediaType"`
		Manifests json.RawMessage `json:"manifests"`
	}
	if err := json.Unmarshal(raw, &probe); err != nil {
		r.p.Error = fmt.Sprintf("the manifest of %s does not parse", r.p.Digest)
		return
	}
	imageManifest := raw
	imageDigest := r.p.Digest
	var attestation *v1.Descriptor
	if probe.Manifests != nil {
		idx, err := v1.ParseIndexManifest(bytes.NewReader(raw))
		if err != nil {
			r.p.Error = fmt.Sprintf("the index %s does not parse", r.p.Digest)
			return
		}
		r.readings = append(r.readings, reading{from: FromAnnotation, values: fromMap(idx.Annotations)})
		entry, why := choose(idx, platform)
		if entry == nil {
			r.notes = append(r.notes, why)
			return
		}
		r.p.Platform = entry.Platform.String()
		attestation = attestationFor(idx, entry.Digest.String())
		if !r.spend("the platform manifest") {
			return
		}
		if imageManifest, ok = r.manifest(entry.Digest.String()); !ok {
			return
		}
		imageDigest = entry.Digest.String()
	}
	mf, err := v1.ParseManifest(bytes.NewReader(imageManifest))
	if err != nil {
		r.p.Error = fmt.Sprintf("the manifest %s does not parse", imageDigest)
		return
	}
	annotations := reading{from: FromAnnotation, values: fromMap(mf.Annotations)}
	if len(r.readings) > 0 {
		// The index's annotations come first; the platform's fill gaps.
		r.readings[0].values = fillGaps(r.readings[0].values, annotations.values)
	} else {
		r.readings = append(r.readings, annotations)
	}
	if r.spend("the image config") {
		r.config(mf.Config.Digest)
	}
	if attestation != nil && r.p.Error == "" && r.spend("the BuildKit provenance attestation") {
		r.buildkitAttestation(*attestation)
	}
}

func fillGaps(a, b fields) fields {
	for _, pair := range []struct {
		dst *string
		src string
	}{
		{&a.source, b.source}, {&a.revision, b.revision}, {&a.created, b.created},
		{&a.version, b.version}, {&a.baseName, b.baseName}, {&a.baseDigest, b.baseDigest},
	} {
		if *pair.dst == "" {
			*pair.dst = pair.src
		}
	}
	return a
}

// config reads the labels and the created time of the image config.
func (r *read) config(d v1.Hash) {
	raw, e := r.arts.Blob(r.ctx, r.repo, d)
	if e != nil {
		r.failed(e)
		return
	}
	cf, err := v1.ParseConfigFile(bytes.NewReader(raw))
	if err != nil {
		r.p.Error = fmt.Sprintf("the image config %s does not parse", d)
		return
	}
	r.readings = append(r.readings, reading{from: FromLabel, values: fromMap(cf.Config.Labels)})
	if !cf.Created.IsZero() {
		// Kept last: a label or attestation says better when it was built.
		r.readings = append(r.readings, reading{from: FromConfig, values: fields{created: cf.Created.UTC().Format(time.RFC3339)}})
	}
}

// choose picks the index entry for platform, or the only image entry.
func choose(idx *v1.IndexManifest, platform *v1.Platform) (*v1.Descriptor, string) {
	var images []*v1.Descriptor
	for i := range idx.Manifests {
		m := &idx.Manifests[i]
		if m.Platform == nil || m.Platform.OS == "unknown" || m.Annotations[annotationReferenceType] != "" {
			continue // attestations and other attachments
		}
		images = append(images, m)
	}
	if platform != nil {
		var have []string
		for _, m := range images {
			if m.Platform.Satisfies(*platform) {
				return m, ""
			}
			have = append(have, m.Platform.String())
		}
		return nil, fmt.Sprintf("the index has no %s manifest (it has %s): labels and build provenance not read", platform, strings.Join(have, ", "))
	}
	if len(images) == 1 {
		return images[0], ""
	}
	return nil, "the platform is unknown (no pod on a node whose platform could be read): labels and build provenance not read; pass --platform"
}
