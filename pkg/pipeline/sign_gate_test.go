package pipeline

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/imgtrust/kubectl-imgtrust/pkg/registry"
	"github.com/imgtrust/kubectl-imgtrust/pkg/sign"
)

func TestCheckRequire(t *testing.T) {
	for _, tc := range []struct {
		names []string
		want  string // "" for no error
	}{
		{[]string{"verified-upstream", "provenance"}, ""},
		{[]string{"no-critical"}, "--require no-critical needs --vulnerabilities support, not yet available"},
		{[]string{"provenance", "signed"}, `--require "signed" is not a gate: use verified-upstream, provenance (and --max-age DURATION for age)`},
	} {
		err := CheckRequire(tc.names)
		if got := ""; err != nil {
			got = err.Error()
			if got != tc.want {
				t.Errorf("%v: %q, want %q", tc.names, got, tc.want)
			}
		} else if tc.want != "" {
			t.Errorf("%v: no error, want %q", tc.names, tc.want)
		}
	}
}

// pushImage writes an image built at created (zero: no time), with the
// OCI source annotation when source is set, and returns its digest.
func pushImage(t *testing.T, repo name.Repository, tag string, created time.Time, source string) name.Digest {
	t.Helper()
	img, _ := random.Image(16, 1)
	cf, _ := img.ConfigFile()
	cf = cf.DeepCopy()
	cf.Created = v1.Time{Time: created}
	img, err := mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	if source != "" {
		img = mutate.Annotations(img, map[string]string{"org.opencontainers.image.source": source}).(v1.Image)
	}
	if err := remote.Write(repo.Tag(tag), img); err != nil {
		t.Fatal(err)
	}
	h, _ := img.Digest()
	return repo.Digest(h.String())
}

// The provenance and age gates read what audit --provenance reads: a digest
// without a source or too old is refused naming the gate, one with both
// is signed; a build time that is unknown refuses (never signs on an unknown).
func TestSignRunProvenanceAndAgeGates(t *testing.T) {
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	ctx := context.Background()
	s, d0, _ := newSignRun(t, SignBundle)
	repo := d0.Context()
	now := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	s.gates = (&SignGates{Require: []string{GateProvenance}, MaxAge: 30 * 24 * time.Hour, Now: now}).list(s.signer.resolver)

	fresh := pushImage(t, repo, "fresh", now.Add(-48*time.Hour), "https://github.com/acme/web")
	old := pushImage(t, repo, "old", now.Add(-90*24*time.Hour), "https://github.com/acme/web")
	bare := pushImage(t, repo, "bare", now.Add(-time.Hour), "")
	undated := pushImage(t, repo, "undated", time.Time{}, "https://github.com/acme/web")

	for _, tc := range []struct {
		d      name.Digest
		status SignStatus
		msg    string
	}{
		{bare, SignRefused, "--require provenance: it names no source repository or revision"},
		{old, SignRefused, "--max-age: it was built 2026-03-03 (90d ago, from its config), more than --max-age 30d: not signed"},
		{undated, SignRefused, "--max-age: its build time is unknown"},
		{fresh, SignSigned, "a sigstore bundle"},
	} {
		o := s.signOne(ctx, signTarget{repo: repo.Name(), digest: tc.d.DigestStr()})
		if o.Status != tc.status || !strings.Contains(o.Message, tc.msg) {
			t.Errorf("%s: %s %q, want %s %q", tc.d.DigestStr(), o.Status, o.Message, tc.status, tc.msg)
		}
	}
	// A gate refusal wrote nothing: the refused digest is still unsigned.
	s.done = map[string]SignOutcome{}
	s.gates = nil
	if o := s.signOne(ctx, signTarget{repo: repo.Name(), digest: bare.DigestStr()}); o.Status != SignSigned {
		t.Errorf("bare, without gates: %+v, want signed (nothing was written before)", o)
	}
}

// A provenance read that fails is a failure naming the registry, never a
// refusal saying the digest has no provenance or an unknown age.
func TestSignGatesLookupFailed(t *testing.T) {
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	s, d, _ := newSignRun(t, SignBundle)
	gone, _ := name.NewRepository("127.0.0.1:1/web", name.Insecure)
	in := &gateInput{d: gone.Digest(d.DigestStr())}
	g := &SignGates{Require: []string{GateProvenance}, MaxAge: time.Hour}
	checks, v, gate := runGates(context.Background(), g.list(s.signer.resolver), in)
	if v == nil || v.status != SignFailed || gate != GateProvenance || !strings.Contains(v.msg, "cannot read its provenance") || len(checks) != 0 {
		t.Fatalf("unreachable registry: %v %+v %q, want failed provenance", checks, v, gate)
	}
	if v := g.age(context.Background(), s.signer.resolver, in); v.ok || v.status != SignFailed || !strings.Contains(v.msg, "cannot read its build time") {
		t.Errorf("age with the same failed read: %+v, want failed", v)
	}
}

// Each signature comes with one checks attestation of our key, in its
// format family, naming the checks passed; a second run adds none, and a
// run that finds the attestation of a run whose signature failed signs
// without a second one.
func TestSignRunChecksAttestation(t *testing.T) {
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	ctx := context.Background()
	for _, format := range []SignFormat{SignBundle, SignLegacy} {
		s, d0, _ := newSignRun(t, format)
		repo := d0.Context()
		now := time.Now()
		s.gates = (&SignGates{Require: []string{GateProvenance}, MaxAge: 24 * time.Hour}).list(s.signer.resolver)
		ours := func(d name.Digest) []sign.Checks {
			res := s.signer.checker.Check(ctx, s.signer.resolver.Artifacts(registry.Anonymous), repo, d.DigestStr())
			var out []sign.Checks
			for _, a := range res.Attestations {
				var st struct {
					Predicate sign.Checks `json:"predicate"`
				}
				if a.Verified && a.PredicateType == sign.PredicateChecks && json.Unmarshal(a.Statement, &st) == nil {
					out = append(out, st.Predicate)
				}
			}
			return out
		}
		d := pushImage(t, repo, "a", now.Add(-time.Hour), "https://github.com/acme/web")
		target := signTarget{repo: repo.Name(), digest: d.DigestStr()}
		for i, want := range []SignStatus{SignSigned, SignAlreadySigned} {
			s.done = map[string]SignOutcome{}
			if o := s.signOne(ctx, target); o.Status != want {
				t.Fatalf("%s run %d: %+v, want %s", format, i, o, want)
			}
			got := ours(d)
			if len(got) != 1 || len(got[0].Checks) != 2 || got[0].Checks[0].Name != GateProvenance || got[0].Checks[1].Name != GateMaxAge ||
				!strings.Contains(got[0].Checks[0].Detail, "github.com/acme/web") || got[0].Tool.Name != "kubectl-imgtrust" {
				t.Errorf("%s run %d: checks attestations %+v, want one naming provenance and max-age", format, i, got)
			}
		}
		// An attestation left by a run whose signature write failed.
		d2 := pushImage(t, repo, "b", now.Add(-time.Hour), "https://github.com/acme/web")
		if st, msg := s.signer.writeChecks(ctx, d2, nil, now, nil, "test"); st != "" {
			t.Fatal(msg)
		}
		if o := s.signOne(ctx, signTarget{repo: repo.Name(), digest: d2.DigestStr()}); o.Status != SignSigned || len(ours(d2)) != 1 {
			t.Errorf("%s, attested before: %+v, %d attestations, want signed with one", format, o, len(ours(d2)))
		}
	}
}

// The checks attestation names the trust-policy file by its content's
// sha256; an unreadable one is bad input naming the flag.
func TestPolicyRef(t *testing.T) {
	file := filepath.Join(t.TempDir(), "trust.yaml")
	if err := os.WriteFile(file, []byte("hello\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ref, err := policyRef(file)
	// sha256 of "hello\n", as sha256sum prints it.
	if err != nil || ref.Name != "trust.yaml" || ref.Digest["sha256"] != "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03" {
		t.Errorf("policyRef: %+v %v", ref, err)
	}
	if _, err := policyRef(file + ".missing"); err == nil || !strings.HasPrefix(err.Error(), "--trust-policy "+file+".missing cannot be read") {
		t.Errorf("a missing file: %v", err)
	}
}
