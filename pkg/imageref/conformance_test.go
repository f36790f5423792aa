package imageref

import (
	// The kubelet's binary links SHA-512 (TLS does), so sha512 digests are
	// valid there; upstream's reference_test.go imports it for the same reason.
	_ "crypto/sha512"
	"strings"
	"testing"
)

// Conformance with github.com/distribution/reference v0.6.0, the parser the
// kubelet validates and splits image names with. Inputs and expected
// results are upstream's; "hub" marks where upstream tests the raw,
// un-normalised Parse and normalisation moves the name to Docker Hub.

// conf is one upstream case.
type conf struct {
	src string // upstream file and test
	in  string
	err bool
	// Expected split, checked when registry is set. Registry uses
	// distribution's "docker.io", mapped to our "index.docker.io".
	registry, repo, tag, digest string
	skip                        string // why our behaviour deliberately differs
}

const (
	normTest = "normalize_test.go "
	refTest  = "reference_test.go "
	ffff     = "sha256:ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
	dbcc     = "sha256:dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9c"
)

func runConformance(t *testing.T, cases []conf) {
	t.Helper()
	skipped := 0
	for _, c := range cases {
		if c.skip != "" {
			skipped++
		}
		t.Run(c.src+"/"+c.in, func(t *testing.T) {
			if c.skip != "" {
				t.Skip(c.skip)
			}
			got, err := Parse(c.in)
			if c.err {
				if err == nil {
					t.Fatalf("Parse(%q) = %+v, want an error", c.in, got)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse(%q) error: %v", c.in, err)
			}
			if c.registry == "" {
				return
			}
			want := c.registry
			if want == "docker.io" {
				want = "index.docker.io"
			}
			if got.Registry != want || got.Repository != c.repo || got.Tag != c.tag || got.Digest != c.digest {
				t.Errorf("Parse(%q) = %q / %q : %q @ %q, want %q / %q : %q @ %q", c.in,
					got.Registry, got.Repository, got.Tag, got.Digest, want, c.repo, c.tag, c.digest)
			}
		})
	}
	t.Logf("%d upstream cases, %d skipped as deliberate differences", len(cases), skipped)
}

func valid(src string, in ...string) []conf {
	out := make([]conf, len(in))
	for i, s := range in {
		out[i] = conf{src: src, in: s}
	}
	return out
}

func invalid(src string, in ...string) []conf {
	out := make([]conf, len(in))
	for i, s := range in {
		out[i] = conf{src: src, in: s, err: true}
	}
	return out
}

func TestConformanceDistributionValidateNames(t *testing.T) {
	const ref = normTest + "TestValidateReferenceName"
	const remote = normTest + "TestValidateRemoteName"
	var cases []conf
	cases = append(cases, valid(ref,
		"docker/docker", "library/debian", "debian", "localhost/library/debian", "localhost/debian",
		"LOCALDOMAIN/library/debian", "LOCALDOMAIN/debian", "docker.io/docker/docker", "docker.io/library/debian",
		"docker.io/debian", "index.docker.io/docker/docker", "index.docker.io/library/debian", "index.docker.io/debian",
		"127.0.0.1:5000/docker/docker", "127.0.0.1:5000/library/debian", "127.0.0.1:5000/debian", "192.168.0.1",
		"192.168.0.1:80", "192.168.0.1:8/debian", "192.168.0.2:25000/debian",
		"thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev", "[fc00::1]:5000/docker",
		"[fc00::1]:5000/docker/docker", "[fc00:1:2:3:4:5:6:7]:5000/library/debian",
		"docker.io/1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a", "Docker/docker", "DOCKER/docker",
	)...)
	cases = append(cases, invalid(ref,
		"https://github.com/docker/docker", "docker/Docker", "-docker", "-docker/docker", "-docker.io/docker/docker",
		"docker///docker", "docker.io/docker/Docker", "docker.io/docker///docker", "[fc00::1]", "[fc00::1]:5000",
		"fc00::1:5000/debian", "[fe80::1%eth0]:5000/debian", "[2001:db8:3:4::192.0.2.33]:5000/debian",
		"1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a",
	)...)
	cases = append(cases, valid(remote,
		"docker/docker", "thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev", "docker-rules/docker",
		"docker---rules/docker", "doc/docker", "d/docker", "jess/t", "dock__er/docker",
	)...)
	cases = append(cases, invalid(remote,
		"docker/Docker", "docker///docker", "1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a",
		"-docker/docker", "docker-/docker", "-docker-/docker", "____/____", "_docker/_docker", "dock..er/docker",
		"dock_.er/docker", "dock-.er/docker", "docker/",
		"this_is_not_a_valid_namespace_because_its_lenth_is_greater_than_255_this_is_not_a_valid_namespace_because_its_lenth_is_greater_than_255_this_is_not_a_valid_namespace_because_its_lenth_is_greater_than_255_this_is_not_a_valid_namespace_because_its_lenth_is_greater_than_255/docker",
	)...)
	runConformance(t, cases)
}

func TestConformanceDistributionRepositoryInfo(t *testing.T) {
	const src = normTest + "TestParseRepositoryInfo"
	// Each upstream tcase lists up to three spellings of one name.
	type info struct {
		remote, domain string
		spellings      []string
	}
	infos := []info{
		{"fooo", "localhost", []string{"localhost/fooo"}},
		{"fooo/bar", "localhost", []string{"localhost/fooo/bar"}},
		{"fooo", "LOCALDOMAIN", []string{"LOCALDOMAIN/fooo"}},
		{"fooo/bar", "LOCALDOMAIN", []string{"LOCALDOMAIN/fooo/bar"}},
		{"fooo/bar", "docker.io", []string{"fooo/bar", "docker.io/fooo/bar", "index.docker.io/fooo/bar"}},
		{"library/ubuntu", "docker.io", []string{"ubuntu", "docker.io/library/ubuntu", "library/ubuntu"}},
		{"nonlibrary/ubuntu", "docker.io", []string{"nonlibrary/ubuntu", "docker.io/nonlibrary/ubuntu"}},
		{"other/library", "docker.io", []string{"other/library", "docker.io/other/library"}},
		{"private/moonbase", "127.0.0.1:8000", []string{"127.0.0.1:8000/private/moonbase"}},
		{"privatebase", "127.0.0.1:8000", []string{"127.0.0.1:8000/privatebase"}},
		{"private/moonbase", "example.com", []string{"example.com/private/moonbase"}},
		{"privatebase", "example.com", []string{"example.com/privatebase"}},
		{"private/moonbase", "example.com:8000", []string{"example.com:8000/private/moonbase"}},
		{"privatebasee", "example.com:8000", []string{"example.com:8000/privatebasee"}},
		{"library/ubuntu-12.04-base", "docker.io", []string{"ubuntu-12.04-base", "docker.io/library/ubuntu-12.04-base", "index.docker.io/library/ubuntu-12.04-base"}},
		{"library/foo", "docker.io", []string{"foo", "docker.io/library/foo", "docker.io/foo"}},
		{"library/foo/bar", "docker.io", []string{"library/foo/bar", "docker.io/library/foo/bar"}},
		{"store/foo/bar", "docker.io", []string{"store/foo/bar", "docker.io/store/foo/bar"}},
		{"bar", "Foo", []string{"Foo/bar"}},
		{"bar", "FOO", []string{"FOO/bar"}},
	}
	var cases []conf
	for _, i := range infos {
		for _, s := range i.spellings {
			cases = append(cases, conf{src: src, in: s, registry: i.domain, repo: i.remote})
		}
	}
	t.Logf("%d upstream tcases", len(infos))
	runConformance(t, cases)
}

func TestConformanceDistributionSplit(t *testing.T) {
	const split = normTest + "TestNormalizedSplitHostname"
	const domainPath = refTest + "TestDomainAndPath"
	cases := []conf{
		{src: split, in: "test.com/foo", registry: "test.com", repo: "foo"},
		{src: split, in: "test_com/foo", registry: "docker.io", repo: "test_com/foo"},
		{src: split, in: "docker/migrator", registry: "docker.io", repo: "docker/migrator"},
		{src: split, in: "test.com:8080/foo", registry: "test.com:8080", repo: "foo"},
		{src: split, in: "test-com:8080/foo", registry: "test-com:8080", repo: "foo"},
		{src: split, in: "foo", registry: "docker.io", repo: "library/foo"},
		{src: split, in: "xn--n3h.com/foo", registry: "xn--n3h.com", repo: "foo"},
		{src: split, in: "xn--n3h.com:18080/foo", registry: "xn--n3h.com:18080", repo: "foo"},
		{src: split, in: "docker.io/foo", registry: "docker.io", repo: "library/foo"},
		{src: split, in: "docker.io/library/foo", registry: "docker.io", repo: "library/foo"},
		{src: split, in: "docker.io/library/foo/bar", registry: "docker.io", repo: "library/foo/bar"},

		{src: domainPath, in: "test.com/foo", registry: "test.com", repo: "foo"},
		// hub: upstream's un-normalised WithName has domain "".
		{src: domainPath, in: "test_com/foo", registry: "docker.io", repo: "test_com/foo"},
		{src: domainPath, in: "test:8080/foo", registry: "test:8080", repo: "foo"},
		{src: domainPath, in: "test.com:8080/foo", registry: "test.com:8080", repo: "foo"},
		{src: domainPath, in: "test-com:8080/foo", registry: "test-com:8080", repo: "foo"},
		{src: domainPath, in: "xn--n3h.com:18080/foo", registry: "xn--n3h.com:18080", repo: "foo"},
	}
	runConformance(t, cases)
}

func TestConformanceDistributionDockerRef(t *testing.T) {
	const dockerRef = normTest + "TestParseDockerRef"
	const anyRef = normTest + "TestParseAnyReference"
	const tagDigest = normTest + "TestParseReferenceWithTagAndDigest"
	const busy = "sha256:e6693c20186f837fc393390135d8a598a96a833917917789d63766cab6c59582"
	const bb = "sha256:86e0e091d0da6bde2456dbb48306f3956bbeb2eae1b5b9a43045843f69fe4aaa"
	ident := strings.TrimPrefix(dbcc, "sha256:")
	cases := []conf{
		// ParseDockerRef adds "latest" and drops a tag next to a digest;
		// here the tag is as written (TagOrLatest gives "latest").
		{src: dockerRef, in: "busybox", registry: "docker.io", repo: "library/busybox"},
		{src: dockerRef, in: "busybox:latest", registry: "docker.io", repo: "library/busybox", tag: "latest"},
		{src: dockerRef, in: "busybox@" + busy, registry: "docker.io", repo: "library/busybox", digest: busy},
		{src: dockerRef, in: "library/busybox", registry: "docker.io", repo: "library/busybox"},
		{src: dockerRef, in: "docker.io/busybox", registry: "docker.io", repo: "library/busybox"},
		{src: dockerRef, in: "docker.io/library/busybox", registry: "docker.io", repo: "library/busybox"},
		{src: dockerRef, in: "docker.io/busybox:latest", registry: "docker.io", repo: "library/busybox", tag: "latest"},
		{src: dockerRef, in: "library/busybox:latest", registry: "docker.io", repo: "library/busybox", tag: "latest"},
		{src: dockerRef, in: "docker.io/library/busybox:latest", registry: "docker.io", repo: "library/busybox", tag: "latest"},
		{src: dockerRef, in: "gcr.io/library/busybox", registry: "gcr.io", repo: "library/busybox"},
		{src: dockerRef, in: "gcr.io/library/busybox:latest@" + busy, registry: "gcr.io", repo: "library/busybox", tag: "latest", digest: busy},

		{src: anyRef, in: "redis", registry: "docker.io", repo: "library/redis"},
		{src: anyRef, in: "redis:latest", registry: "docker.io", repo: "library/redis", tag: "latest"},
		{src: anyRef, in: "docker.io/library/redis:latest", registry: "docker.io", repo: "library/redis", tag: "latest"},
		{src: anyRef, in: "redis@" + dbcc, registry: "docker.io", repo: "library/redis", digest: dbcc},
		{src: anyRef, in: "docker.io/library/redis@" + dbcc, registry: "docker.io", repo: "library/redis", digest: dbcc},
		{src: anyRef, in: "dmcgowan/myapp", registry: "docker.io", repo: "dmcgowan/myapp"},
		{src: anyRef, in: "dmcgowan/myapp:latest", registry: "docker.io", repo: "dmcgowan/myapp", tag: "latest"},
		{src: anyRef, in: "docker.io/mcgowan/myapp:latest", registry: "docker.io", repo: "mcgowan/myapp", tag: "latest"},
		{src: anyRef, in: "dmcgowan/myapp@" + dbcc, registry: "docker.io", repo: "dmcgowan/myapp", digest: dbcc},
		{src: anyRef, in: "docker.io/dmcgowan/myapp@" + dbcc, registry: "docker.io", repo: "dmcgowan/myapp", digest: dbcc},
		{src: anyRef, in: ident, skip: "a 64-hex identifier is an image ID, not a reference: Parse refuses it, as ParseNormalizedNamed does"},
		{src: anyRef, in: dbcc, skip: "a bare digest is not an image reference (ParseImageID reads it as a config digest)"},
		{src: anyRef, in: ident[:63], registry: "docker.io", repo: "library/" + ident[:63]},
		{src: anyRef, in: "dbcc1", registry: "docker.io", repo: "library/dbcc1"},

		{src: tagDigest, in: "busybox:latest@" + bb, registry: "docker.io", repo: "library/busybox", tag: "latest", digest: bb},
		{src: normTest + "TestInvalidReferenceComponents", in: "-foo", err: true},
	}
	runConformance(t, cases)
}

func TestConformanceDistributionReferenceParse(t *testing.T) {
	const src = refTest + "TestReferenceParse"
	const named = refTest + "TestParseNamed"
	const withName = refTest + "TestWithNameFailure"
	const f512 = "sha512:ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
	a256 := strings.Repeat("a", 256)
	cases := []conf{
		// hub: upstream's raw Parse has no domain here.
		{src: src, in: "test_com", registry: "docker.io", repo: "library/test_com"},
		{src: src, in: "test.com:tag", registry: "docker.io", repo: "library/test.com", tag: "tag"},
		{src: src, in: "test.com:5000", registry: "docker.io", repo: "library/test.com", tag: "5000"},
		{src: src, in: "test.com/repo:tag", registry: "test.com", repo: "repo", tag: "tag"},
		{src: src, in: "test:5000/repo", registry: "test:5000", repo: "repo"},
		{src: src, in: "test:5000/repo:tag", registry: "test:5000", repo: "repo", tag: "tag"},
		{src: src, in: "test:5000/repo@" + ffff, registry: "test:5000", repo: "repo", digest: ffff},
		{src: src, in: "test:5000/repo:tag@" + ffff, registry: "test:5000", repo: "repo", tag: "tag", digest: ffff},
		{src: src, in: "test:5000/repo", registry: "test:5000", repo: "repo"},
		{src: src, in: "", err: true},
		{src: src, in: ":justtag", err: true},
		{src: src, in: "@" + ffff, err: true},
		{src: src, in: "repo@sha256:ffffffffffffffffffffffffffffffffff", err: true},
		{src: src, in: "validname@invaliddigest:" + strings.TrimPrefix(ffff, "sha256:"), err: true},
		{src: src, in: "Uppercase:tag", err: true},
		{src: src, in: "test:5000/Uppercase/lowercase:tag", err: true},
		{src: src, in: "lowercase:Uppercase", registry: "docker.io", repo: "library/lowercase", tag: "Uppercase"},
		{src: src, in: "domain/" + a256 + ":tag", err: true},
		// hub: "a" is no domain once normalised; the path is exactly 255.
		{src: src, in: strings.Repeat("a/", 127) + "a:tag-puts-this-over-max", registry: "docker.io", repo: strings.Repeat("a/", 127) + "a", tag: "tag-puts-this-over-max"},
		{src: src, in: "aa/asdf$$^/aa", err: true},
		{src: src, in: "sub-dom1.foo.com/bar/baz/quux", registry: "sub-dom1.foo.com", repo: "bar/baz/quux"},
		{src: src, in: "sub-dom1.foo.com/bar/baz/quux:some-long-tag", registry: "sub-dom1.foo.com", repo: "bar/baz/quux", tag: "some-long-tag"},
		{src: src, in: "b.gcr.io/test.example.com/my-app:test.example.com", registry: "b.gcr.io", repo: "test.example.com/my-app", tag: "test.example.com"},
		{src: src, in: "xn--n3h.com/myimage:xn--n3h.com", registry: "xn--n3h.com", repo: "myimage", tag: "xn--n3h.com"},
		{src: src, in: "xn--7o8h.com/myimage:xn--7o8h.com@" + f512, registry: "xn--7o8h.com", repo: "myimage", tag: "xn--7o8h.com", digest: f512},
		{src: src, in: "foo_bar.com:8080", registry: "docker.io", repo: "library/foo_bar.com", tag: "8080"},
		// hub: "foo" is no domain once normalised.
		{src: src, in: "foo/foo_bar.com:8080", registry: "docker.io", repo: "foo/foo_bar.com", tag: "8080"},
		{src: src, in: "192.168.1.1", registry: "docker.io", repo: "library/192.168.1.1"},
		{src: src, in: "192.168.1.1:tag", registry: "docker.io", repo: "library/192.168.1.1", tag: "tag"},
		{src: src, in: "192.168.1.1:5000", registry: "docker.io", repo: "library/192.168.1.1", tag: "5000"},
		{src: src, in: "192.168.1.1/repo", registry: "192.168.1.1", repo: "repo"},
		{src: src, in: "192.168.1.1:5000/repo", registry: "192.168.1.1:5000", repo: "repo"},
		{src: src, in: "192.168.1.1:5000/repo:5050", registry: "192.168.1.1:5000", repo: "repo", tag: "5050"},
		{src: src, in: "[2001:db8::1]", err: true},
		{src: src, in: "[2001:db8::1]:5000", err: true},
		{src: src, in: "[2001:db8::1]:tag", err: true},
		{src: src, in: "[2001:db8::1]/repo", registry: "[2001:db8::1]", repo: "repo"},
		{src: src, in: "[2001:db8:1:2:3:4:5:6]/repo:tag", registry: "[2001:db8:1:2:3:4:5:6]", repo: "repo", tag: "tag"},
		{src: src, in: "[2001:db8::1]:5000/repo", registry: "[2001:db8::1]:5000", repo: "repo"},
		{src: src, in: "[2001:db8::1]:5000/repo:tag", registry: "[2001:db8::1]:5000", repo: "repo", tag: "tag"},
		{src: src, in: "[2001:db8::1]:5000/repo@" + ffff, registry: "[2001:db8::1]:5000", repo: "repo", digest: ffff},
		{src: src, in: "[2001:db8::1]:5000/repo:tag@" + ffff, registry: "[2001:db8::1]:5000", repo: "repo", tag: "tag", digest: ffff},
		{src: src, in: "[2001:db8::]:5000/repo", registry: "[2001:db8::]:5000", repo: "repo"},
		{src: src, in: "[::1]:5000/repo", registry: "[::1]:5000", repo: "repo"},
		{src: src, in: "[fe80::1%eth0]:5000/repo", err: true},
		{src: src, in: "[fe80::1%@invalidzone]:5000/repo", err: true},
		{src: src, in: "example.com/" + a256[:255] + ":tag", registry: "example.com", repo: a256[:255], tag: "tag"},

		{src: named, in: "test.com/foo", registry: "test.com", repo: "foo"},
		{src: named, in: "test:8080/foo", registry: "test:8080", repo: "foo"},
		{src: named, in: "test_com/foo", skip: "ParseNamed refuses non-canonical names; Parse normalises them, as the kubelet does"},
		{src: named, in: "test.com", skip: "ParseNamed refuses non-canonical names; Parse normalises them, as the kubelet does"},
		{src: named, in: "foo", skip: "ParseNamed refuses non-canonical names; Parse normalises them, as the kubelet does"},
		{src: named, in: "library/foo", skip: "ParseNamed refuses non-canonical names; Parse normalises them, as the kubelet does"},
		{src: named, in: "docker.io/library/foo", registry: "docker.io", repo: "library/foo"},
		{src: named, in: "docker.io/foo", skip: "ParseNamed refuses non-canonical names; Parse normalises them, as the kubelet does"},

		{src: withName, in: "", err: true},
		{src: withName, in: ":justtag", err: true},
		{src: withName, in: "@" + ffff, err: true},
		{src: withName, in: "validname@invaliddigest:" + strings.TrimPrefix(ffff, "sha256:"), err: true},
		{src: withName, in: "example.com/repo:tag", skip: "WithName takes a name without tag; Parse takes a full reference"},
		{src: withName, in: "example.com/" + a256, err: true},
		{src: withName, in: "aa/asdf$$^/aa", err: true},
	}
	runConformance(t, cases)
}
