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
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/imgtrust/kubectl-imgtrust/pkg/imageref"
	"github.com/imgtrust/kubectl-imgtrust/pkg/registry"
	"github.com/imgtrust/kubectl-imgtrust/pkg/sign"
	"github.com/imgtrust/kubectl-imgtrust/pkg/vulns"
	"github.com/imgtrust/kubectl-imgtrust/pkg/workload"
)

func TestCheckRequire(t *testing.T) {
	for _, tc := range []struct {
		names []string
		want  string // "" for no error
	}{
		{[]string{"verified-upstream", "provenance"}, ""},
		{[]string{"no-critical", "provenance"}, ""},
		{[]string{"max-severity"}, "--require max-severity is not a gate name: give the severity as audit does, --max-severity critical|high|medium|low"},
		{[]string{"provenance", "signed"}, `--require "signed" is not a gate: use verified-upstream, provenance, no-critical (and --max-age DURATION for age, --max-severity SEVERITY for vulnerabilities)`},
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
	// The cluster's ClusterImagePolicies are no file to read.
	if ref, err := policyRef(ClusterTrustPolicy); ref != nil || err != nil {
		t.Errorf("--trust-policy=cluster: %+v %v, want no file named and no error", ref, err)
	}
	if _, err := policyRef(file + ".missing"); err == nil || !strings.HasPrefix(err.Error(), "--trust-policy "+file+".missing cannot be read") {
		t.Errorf("a missing file: %v", err)
	}
}

// The vulnerability gate reads what audit --vulnerabilities reads: a
// digest whose own report lists a critical is refused naming the report,
// a clean one is signed, and --max-severity high refuses a high; a digest
// with only another digest's scan, or none, is refused (never signed on an
// unknown); the scan of an index listing the digest counts, as in audit;
// reports that could not be read fail.
func TestSignVulnerabilityGate(t *testing.T) {
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	ctx := context.Background()
	s, d0, _ := newSignRun(t, SignBundle)
	repo := d0.Context()
	now := time.Now()
	crit := pushImage(t, repo, "crit", now, "")
	clean := pushImage(t, repo, "clean", now, "")
	high := pushImage(t, repo, "high", now, "")
	unscanned := pushImage(t, repo, "unscanned", now, "")
	platform := pushImage(t, repo, "platform", now, "")
	// An index listing platform, scanned by its own digest.
	img, err := remote.Image(platform)
	if err != nil {
		t.Fatal(err)
	}
	idx := mutate.AppendManifests(empty.Index, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "arm64"}}})
	if err := remote.WriteIndex(repo.Tag("multi"), idx); err != nil {
		t.Fatal(err)
	}
	ih, _ := idx.Digest()
	other := "sha256:" + strings.Repeat("e", 64)

	report := func(name, owner, digest string, c vulns.Counts) vulns.Report {
		return vulns.Report{Kind: "VulnerabilityReport", Namespace: "ns", Name: name, OwnerKind: "StatefulSet", OwnerName: owner, OwnerNamespace: "ns",
			Container: "app", Repository: repo.Name(), Digest: digest, ScannedAt: now.Add(-time.Hour), Counts: c}
	}
	masking := func(ns, name, owner, digest string) vulns.Report {
		r := report(name, owner, digest, vulns.Counts{})
		r.Namespace, r.OwnerNamespace, r.ScannedAt = ns, ns, now
		return r
	}
	index := &vulns.Index{Served: true, Reports: []vulns.Report{
		report("statefulset-crit-app", "crit", crit.DigestStr(), vulns.Counts{Critical: 1, High: 3}),
		report("statefulset-clean-app", "clean", clean.DigestStr(), vulns.Counts{Medium: 2}),
		report("statefulset-high-app", "high", high.DigestStr(), vulns.Counts{High: 1}),
		report("statefulset-moved-app", "moved", other, vulns.Counts{}),
		report("statefulset-multi-app", "multi", ih.String(), vulns.Counts{Low: 1}),
		// Newer, clean reports of the same digests filed elsewhere: by a
		// user who may write reports in another namespace, and under
		// another workload. They never speak for the target.
		masking("evil", "statefulset-mask-app", "mask", crit.DigestStr()),
		masking("ns", "statefulset-decoy-app", "decoy", crit.DigestStr()),
		masking("evil", "statefulset-mask2-app", "mask2", unscanned.DigestStr()),
	}}
	target := func(owner string, d name.Digest) signTarget {
		return signTarget{obj: workload.Object{Kind: "StatefulSet", Namespace: "ns", Name: owner}, container: "app", repo: repo.Name(), digest: d.DigestStr()}
	}
	run := func(g *SignGates, ix *vulns.Index, owner string, d name.Digest) SignOutcome {
		t.Helper()
		s.done = map[string]SignOutcome{}
		v, _, err := newSignVulns(ctx, Cluster{Scope: workload.Scope{Filenames: []string{"x"}}}, nil, g, s.signer.resolver, s.signer.key.Public)
		if err != nil {
			t.Fatal(err)
		}
		v.stage = &vulnStage{index: ix}
		s.vulns = v
		return s.signOne(ctx, target(owner, d))
	}
	noCritical := &SignGates{Require: []string{GateNoCritical}}
	for _, tc := range []struct {
		g      *SignGates
		ix     *vulns.Index
		owner  string
		d      name.Digest
		status SignStatus
		msg    string
	}{
		{noCritical, index, "crit", crit, SignRefused, "--require no-critical: VulnerabilityReport ns/statefulset-crit-app (scanned "},
		{noCritical, index, "crit", crit, SignRefused, "lists 1 critical, 3 high, 0 medium, 0 low, 0 unknown: 1 at or above critical: not signed; move to a release that fixes them (kubectl get vulnerabilityreport statefulset-crit-app -n ns -o yaml lists each)"},
		{&SignGates{MaxSeverity: "high"}, index, "high", high, SignRefused, "--max-severity: VulnerabilityReport ns/statefulset-high-app"},
		{&SignGates{MaxSeverity: "high"}, index, "moved", unscanned, SignRefused, "--max-severity: the only scan found (VulnerabilityReport ns/statefulset-moved-app, scanned "},
		{noCritical, index, "none", unscanned, SignRefused, "--require no-critical: no vulnerability scan of this digest was found"},
		{noCritical, vulns.Failed("vulnerabilityreports.aquasecurity.github.io is forbidden"), "clean", clean, SignFailed, "--require no-critical: cannot read its vulnerability scans (vulnerabilityreports.aquasecurity.github.io is forbidden)"},
		{noCritical, index, "clean", clean, SignSigned, "a sigstore bundle"},
		{&SignGates{Require: []string{GateNoCritical}, MaxSeverity: "low"}, index, "multi", platform, SignRefused, "VulnerabilityReport ns/statefulset-multi-app of the index " + imageref.ShortDigest(ih.String()) + " listing it"},
		{noCritical, index, "multi", platform, SignSigned, "a sigstore bundle"},
	} {
		o := run(tc.g, tc.ix, tc.owner, tc.d)
		if o.Status != tc.status || !strings.Contains(o.Message, tc.msg) {
			t.Errorf("%s %s: %s %q, want %s %q", tc.owner, tc.d.DigestStr(), o.Status, o.Message, tc.status, tc.msg)
		}
	}
	// The checks attestation names what was passed.
	res := s.signer.checker.Check(ctx, s.signer.resolver.Artifacts(registry.Anonymous), repo, clean.DigestStr())
	found := false
	for _, a := range res.Attestations {
		var st struct {
			Predicate sign.Checks `json:"predicate"`
		}
		if a.Verified && a.PredicateType == sign.PredicateChecks && json.Unmarshal(a.Statement, &st) == nil && len(st.Predicate.Checks) == 1 {
			c := st.Predicate.Checks[0]
			found = c.Name == GateNoCritical && strings.Contains(c.Detail, "VulnerabilityReport ns/statefulset-clean-app") && strings.Contains(c.Detail, "0 critical, 0 high, 2 medium, 0 low, 0 unknown, none at or above critical")
		}
	}
	if !found {
		t.Errorf("the checks attestation of clean does not record no-critical passed: %+v", res.Attestations)
	}
	// With -f the reports are not read: only an attestation could pass.
	s.done = map[string]SignOutcome{}
	v, _, _ := newSignVulns(ctx, Cluster{Scope: workload.Scope{Filenames: []string{"x"}}}, nil, noCritical, s.signer.resolver, s.signer.key.Public)
	s.vulns = v
	if o := s.signOne(ctx, target("clean", high)); o.Status != SignRefused || !strings.Contains(o.Message, "vulnerability reports are not read with -f") {
		t.Errorf("-f: %+v, want refused saying the reports are not read", o)
	}
}
