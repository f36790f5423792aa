package provenance

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/imgtrust/kubectl-imgtrust/internal/testregistry"
	"github.com/imgtrust/kubectl-imgtrust/pkg/registry"
)

// testRegistry is the in-process test registry with one repository.
type testRegistry struct {
	*testregistry.Registry
	t    *testing.T
	repo name.Repository
	// attested stands in for what the signatures stage found.
	attested []Attested
}

func newTestRegistry(t *testing.T) *testRegistry {
	t.Helper()
	reg := testregistry.New(t)
	return &testRegistry{Registry: reg, t: t, repo: reg.Repo(t, "app")}
}

// requests is how many requests the registry saw in the last read, pings
// excluded.
func (tr *testRegistry) requests() int { return len(tr.Hits()) }

// deny answers 403 to the paths containing pathContains.
func (tr *testRegistry) deny(pathContains string) {
	tr.Set(func(h *testregistry.Hooks) { h.Fault = testregistry.Refuse(http.StatusForbidden, pathContains) })
}

func (tr *testRegistry) read(platform *v1.Platform, digest string) Provenance {
	tr.t.Helper()
	r, err := registry.New(registry.Options{Insecure: []string{tr.repo.RegistryStr()}})
	if err != nil {
		tr.t.Fatal(err)
	}
	tr.Reset()
	return Read(context.Background(), r.Artifacts(registry.Anonymous), tr.repo, digest, platform, tr.attested)
}

// image is a random image with labels, config created time and manifest
// annotations.
func image(t *testing.T, labels, annotations map[string]string, created time.Time) v1.Image {
	t.Helper()
	img := testregistry.RandomImage(t, 1)
	cf, _ := img.ConfigFile()
	cf = cf.DeepCopy()
	cf.Config.Labels = labels
	cf.Created = v1.Time{Time: created}
	img, err := mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	img = mutate.MediaType(img, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	if annotations != nil {
		img = mutate.Annotations(img, annotations).(v1.Image)
	}
	return img
}

func (tr *testRegistry) push(img v1.Image, tag string) string {
	tr.t.Helper()
	return tr.Push(tr.t, "app:"+tag, img).String()
}

// buildkitIndex builds an index as `docker buildx build --provenance`
// pushes it: one entry per platform and, for each, an attestation
// manifest (platform unknown/unknown) whose layer is a SLSA statement.
func buildkitIndex(t *testing.T, annotations map[string]string, statements map[string]string, platforms ...string) v1.ImageIndex {
	t.Helper()
	var idx v1.ImageIndex = mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for _, p := range platforms {
		pl, _ := v1.ParsePlatform(p)
		img := image(t, nil, nil, time.Time{})
		d, _ := img.Digest()
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: pl}})
		stmt, ok := statements[p]
		if !ok {
			continue
		}
		layer := static.NewLayer([]byte(stmt), types.MediaType(mtInToto))
		att, err := mutate.Append(mutate.MediaType(empty.Image, types.OCIManifestSchema1), mutate.Addendum{
			Layer: layer, MediaType: types.MediaType(mtInToto),
			Annotations: map[string]string{annotationPredicateType: PredicateSLSAv1},
		})
		if err != nil {
			t.Fatal(err)
		}
		att = mutate.ConfigMediaType(att, types.OCIConfigJSON)
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: att, Descriptor: v1.Descriptor{
			Platform:    &v1.Platform{OS: "unknown", Architecture: "unknown"},
			Annotations: map[string]string{annotationReferenceType: referenceTypeAttestation, annotationReferenceDigest: d.String()},
		}})
	}
	if annotations != nil {
		idx = mutate.Annotations(idx, annotations).(v1.ImageIndex)
	}
	return idx
}

func slsaV1(uri, commit, builder, finished string) string {
	b, _ := json.Marshal(map[string]any{
		"_type":         "https://in-toto.io/Statement/v0.1",
		"predicateType": PredicateSLSAv1,
		"subject":       []any{map[string]any{"name": "pkg:docker/app", "digest": map[string]string{"sha256": "00"}}},
		"predicate": map[string]any{
			"buildDefinition": map[string]any{
				"buildType": "https://mobyproject.org/buildkit@v1",
				"externalParameters": map[string]any{
					"configSource": map[string]any{"uri": uri, "digest": map[string]string{"sha1": commit}, "path": "Dockerfile"},
				},
				"resolvedDependencies": []any{
					map[string]any{"uri": "pkg:docker/alpine@3.20", "digest": map[string]string{"sha256": "11"}},
				},
			},
			"runDetails": map[string]any{
				"builder":  map[string]any{"id": builder},
				"metadata": map[string]any{"startedOn": "2026-01-02T03:00:00Z", "finishedOn": finished},
			},
		},
	})
	return string(b)
}

func TestAnnotationsOnAManifest(t *testing.T) {
	tr := newTestRegistry(t)
	d := tr.push(image(t, nil, map[string]string{
		"org.opencontainers.image.source":      "https://github.com/acme/web",
		"org.opencontainers.image.revision":    "0123456789abcdef0123456789abcdef01234567",
		"org.opencontainers.image.created":     "2026-03-04T05:06:07Z",
		"org.opencontainers.image.version":     "1.2.3",
		"org.opencontainers.image.base.name":   "docker.io/library/alpine:3.20",
		"org.opencontainers.image.base.digest": "sha256:" + strings.Repeat("ab", 32),
	}, time.Date(2026, 3, 4, 5, 0, 0, 0, time.UTC)), "1.2.3")
	p := tr.read(nil, d)
	want := Provenance{
		Digest: d, Source: "https://github.com/acme/web", Revision: "0123456789abcdef0123456789abcdef01234567",
		Created: "2026-03-04T05:06:07Z", Version: "1.2.3", BaseName: "docker.io/library/alpine:3.20",
		BaseDigest: "sha256:" + strings.Repeat("ab", 32), From: FromAnnotation, Sources: []string{FromAnnotation},
		CreatedFrom: FromAnnotation, Requests: 2,
	}
	if !equal(p, want) {
		t.Fatalf("got  %+v\nwant %+v", p, want)
	}
	if got := tr.requests(); got != p.Requests {
		t.Errorf("the registry saw %d requests, the result says %d", got, p.Requests)
	}
}

func equal(a, b Provenance) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

func TestLabelSchemaLabelsOnly(t *testing.T) {
	tr := newTestRegistry(t)
	d := tr.push(image(t, map[string]string{
		"org.label-schema.vcs-url":    "https://gitlab.com/acme/api.git",
		"org.label-schema.vcs-ref":    "abc1234",
		"org.label-schema.build-date": "2025-01-01T00:00:00Z",
		"org.label-schema.version":    "2.0.0",
	}, nil, time.Time{}), "2.0.0")
	p := tr.read(nil, d)
	if p.Source != "https://gitlab.com/acme/api.git" || p.Revision != "abc1234" || p.Version != "2.0.0" || p.From != FromLabel || p.CreatedFrom != FromLabel || p.Error != "" {
		t.Fatalf("got %+v", p)
	}
}

func TestNothingIsNotAnError(t *testing.T) {
	tr := newTestRegistry(t)
	d := tr.push(image(t, nil, nil, time.Unix(0, 0)), "plain")
	p := tr.read(nil, d)
	if p.Known() || p.Error != "" || p.From != "" || len(p.Sources) != 0 {
		t.Fatalf("got %+v", p)
	}
	// A reproducible build's created time (the epoch) is no age.
	if p.Created == "" || p.CreatedFrom != FromConfig {
		t.Fatalf("the config's created time is kept as it is: %+v", p)
	}
	if _, ok := p.CreatedTime(); ok {
		t.Errorf("1970-01-01 must not count as a build time")
	}
}

func TestBuildKitIndexWithSLSAProvenance(t *testing.T) {
	tr := newTestRegistry(t)
	stmt := slsaV1("https://github.com/acme/web.git#refs/heads/main", "fedcba9876543210fedcba9876543210fedcba98", "https://github.com/docker/buildx@v0.20", "2026-05-06T07:08:09Z")
	idx := buildkitIndex(t, map[string]string{"org.opencontainers.image.source": "https://github.com/acme/web"},
		map[string]string{"linux/amd64": stmt, "linux/arm64": stmt}, "linux/amd64", "linux/arm64")
	if err := remote.WriteIndex(tr.repo.Tag("1.3.0"), idx); err != nil {
		t.Fatal(err)
	}
	d, _ := idx.Digest()
	arm := &v1.Platform{OS: "linux", Architecture: "arm64"}
	p := tr.read(arm, d.String())
	if p.Source != "https://github.com/acme/web" || p.Revision != "fedcba9876543210fedcba9876543210fedcba98" ||
		p.BuilderID != "https://github.com/docker/buildx@v0.20" || p.Platform != "linux/arm64" {
		t.Fatalf("got %+v", p)
	}
	if p.From != FromAnnotation || strings.Join(p.Sources, ",") != "annotation,slsa-attestation" || p.Mismatch != "" {
		t.Errorf("sources: %+v", p)
	}
	if p.Created != "2026-05-06T07:08:09Z" || p.CreatedFrom != FromSLSA {
		t.Errorf("created from the attestation's finishedOn: %+v", p)
	}
	if p.Requests != MaxRequests || tr.requests() != MaxRequests {
		t.Errorf("requests: result %d, registry %d, want %d (index, platform manifest, config, attestation, statement)", p.Requests, tr.requests(), MaxRequests)
	}
	if !p.Complete() {
		t.Errorf("every read answered within the budget, yet not complete: %+v", p)
	}

	// Two platforms and no way to choose: the index alone is read.
	p = tr.read(nil, d.String())
	if p.Platform != "" || p.Requests != 1 || !strings.Contains(p.Note, "pass --platform") || p.Source != "https://github.com/acme/web" {
		t.Errorf("no platform: %+v", p)
	}
	// A platform the index does not have is named.
	p = tr.read(&v1.Platform{OS: "linux", Architecture: "s390x"}, d.String())
	if !strings.Contains(p.Note, "no linux/s390x manifest (it has linux/amd64, linux/arm64)") {
		t.Errorf("missing platform: %+v", p)
	}
}

func TestMismatchBetweenAnnotationAndAttestation(t *testing.T) {
	tr := newTestRegistry(t)
	stmt := slsaV1("https://github.com/acme/web", "1111111111111111111111111111111111111111", "b", "2026-05-06T07:08:09Z")
	idx := buildkitIndex(t, map[string]string{"org.opencontainers.image.revision": "2222222"}, map[string]string{"linux/amd64": stmt}, "linux/amd64")
	if err := remote.WriteIndex(tr.repo.Tag("x"), idx); err != nil {
		t.Fatal(err)
	}
	d, _ := idx.Digest()
	p := tr.read(nil, d.String()) // the only platform is chosen
	if p.Mismatch != `revision "2222222" (annotation) vs "1111111111111111111111111111111111111111" (slsa-attestation)` {
		t.Fatalf("mismatch: %q (%+v)", p.Mismatch, p)
	}
}

func TestAFailedReadIsAnErrorNotAMissingValue(t *testing.T) {
	tr := newTestRegistry(t)
	d := tr.push(image(t, map[string]string{"org.opencontainers.image.source": "https://github.com/acme/x"}, nil, time.Time{}), "v1")
	tr.deny("/blobs/")
	p := tr.read(nil, d)
	if p.Error == "" || !strings.Contains(p.Error, "denied") || p.Known() {
		t.Fatalf("got %+v", p)
	}
	if p.Complete() {
		t.Error("a failed read is complete: it would be kept between runs")
	}
	tr.deny("/manifests/")
	if p = tr.read(nil, d); p.Error == "" || p.Requests != 1 {
		t.Fatalf("got %+v", p)
	}
}

func TestSameSource(t *testing.T) {
	same := [][2]string{
		{"https://github.com/acme/web", "git+https://github.com/acme/web.git@refs/heads/main"},
		{"https://github.com/Acme/Web.git#main", "github.com/acme/web"},
		{"git@github.com:acme/web.git", "https://github.com/acme/web/"},
		{"https://github.com/acme/web?ref=v1", "https://github.com/acme/web"},
	}
	for _, c := range same {
		if !sameSource(c[0], c[1]) {
			t.Errorf("%q and %q name one repository (%q, %q)", c[0], c[1], normalSource(c[0]), normalSource(c[1]))
		}
	}
	if sameSource("https://github.com/acme/web", "https://github.com/acme/api") {
		t.Error("different repositories")
	}
	if !sameRevision("abc1234", "ABC1234def") || sameRevision("abc", "abcdef") || sameRevision("abc1234", "abc1235") {
		t.Error("revisions: an abbreviation of at least 7 matches its full form, nothing else")
	}
}

func TestParseStatementV02AndGitHub(t *testing.T) {
	v02 := `{"predicateType":"https://slsa.dev/provenance/v0.2","predicate":{"builder":{"id":"https://github.com/docker/buildx"},
	  "invocation":{"configSource":{"uri":"https://github.com/acme/old","digest":{"sha1":"aaaaaaaa"}}},
	  "metadata":{"buildFinishedOn":"2024-01-01T00:00:00Z"}}}`
	f, ok := parseStatement([]byte(v02))
	if !ok || f.source != "https://github.com/acme/old" || f.revision != "aaaaaaaa" || f.builderID != "https://github.com/docker/buildx" || f.created != "2024-01-01T00:00:00Z" {
		t.Errorf("v0.2: %+v", f)
	}
	gh := `{"predicateType":"https://slsa.dev/provenance/v1","predicate":{"buildDefinition":{
	  "externalParameters":{"workflow":{"ref":"refs/heads/main","repository":"https://github.com/acme/gh","path":".github/workflows/b.yml"}},
	  "resolvedDependencies":[{"uri":"git+https://github.com/acme/gh@refs/heads/main","digest":{"gitCommit":"bbbbbbbbbb"}}]},
	  "runDetails":{"builder":{"id":"https://github.com/actions/runner/github-hosted"}}}}`
	f, ok = parseStatement([]byte(gh))
	if !ok || f.source != "https://github.com/acme/gh" || f.revision != "bbbbbbbbbb" || f.builderID != "https://github.com/actions/runner/github-hosted" {
		t.Errorf("GitHub: %+v", f)
	}
	if _, ok := parseStatement([]byte(`{"predicateType":"https://spdx.dev/Document"}`)); ok {
		t.Error("an SBOM is not provenance")
	}
}

func TestVerifiedCosignAttestationComesFirst(t *testing.T) {
	tr := newTestRegistry(t)
	d := tr.push(image(t, nil, map[string]string{"org.opencontainers.image.source": "https://github.com/acme/web"}, time.Time{}), "v1")
	stmt := slsaV1("git+https://github.com/acme/web@refs/heads/main", "cccccccccccccccccccccccccccccccccccccccc", "https://github.com/actions/runner", "2026-07-01T00:00:00Z")
	const who = "https://github.com/acme/web/.github/workflows/release.yaml@refs/heads/main (https://token.actions.githubusercontent.com)"
	tr.attested = []Attested{{Statement: []byte(stmt), Verified: true, SignedBy: who}}
	p := tr.read(nil, d)
	if !p.Verified || p.AttestedBy != who || p.From != FromCosign || p.Revision != "cccccccccccccccccccccccccccccccccccccccc" || p.Source != "git+https://github.com/acme/web@refs/heads/main" || p.Mismatch != "" {
		t.Fatalf("verified: %+v", p)
	}
	if strings.Join(p.Sources, ",") != "cosign-attestation,annotation" {
		t.Errorf("sources %v", p.Sources)
	}
	// Unverified, it counts after the cheaper places and proves nothing.
	tr.attested = []Attested{{Statement: []byte(stmt), SignedBy: who}}
	if p = tr.read(nil, d); p.Verified || p.AttestedBy != "" || p.From != FromAnnotation || p.Revision == "" {
		t.Errorf("unverified: %+v", p)
	}
	// A verified statement contradicted by the annotation is not proof.
	other := slsaV1("https://github.com/evil/web", "dddddddddddddddddddddddddddddddddddddddd", "b", "2026-07-01T00:00:00Z")
	tr.attested = []Attested{{Statement: []byte(other), Verified: true, SignedBy: who}}
	if p = tr.read(nil, d); p.Verified || p.AttestedBy != "" || p.Mismatch == "" {
		t.Errorf("contradicted: %+v", p)
	}
}

// A read the image's request budget refused is counted, as a signature
// result counts it, and the result says it failed (never a missing value).
func TestReadsSkippedByTheBudgetAreCounted(t *testing.T) {
	tr := newTestRegistry(t)
	d := tr.push(image(t, map[string]string{"org.opencontainers.image.source": "https://github.com/acme/x"}, nil, time.Time{}), "v1")
	r, err := registry.New(registry.Options{Insecure: []string{tr.repo.RegistryStr()}, MaxArtifactRequests: 1})
	if err != nil {
		t.Fatal(err)
	}
	tr.Reset()
	p := Read(context.Background(), r.Artifacts(registry.Anonymous).ForDigest(tr.repo.Digest(d)), tr.repo, d, nil, nil)
	if p.ReadsSkipped != 1 || !strings.Contains(p.Error, "--max-artifact-requests") || p.Known() {
		t.Errorf("got %+v, want the config's read skipped (1), the error naming the flag, nothing known", p)
	}
	if b, _ := json.Marshal(p); !strings.Contains(string(b), `"readsSkipped":1`) {
		t.Errorf("JSON %s has no readsSkipped", b)
	}
	// With reads to spare, nothing is skipped.
	if p := tr.read(nil, d); p.ReadsSkipped != 0 || p.Error != "" {
		t.Errorf("got %+v, want nothing skipped", p)
	}
}
