package pullsecret

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"net/url"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	dockerref "github.com/distribution/reference"
	"github.com/google/go-containerregistry/pkg/authn"
)

// TestDifferentialKubeletKeyring compares Lookup and Credentials with a
// small model written from the kubelet's rules (pkg/credentialprovider
// BasicDockerKeyring.Add and Lookup, URLsMatch, isDefaultRegistryMatch) on
// random secrets and images.
func TestDifferentialKubeletKeyring(t *testing.T) {
	keys := []string{
		"reg.example.com", "reg.example.com/team", "reg.example.com/team/", "https://reg.example.com/v2/",
		"http://reg.example.com/v1/team", "reg.example.com:5000", "reg.example.com:5000/team", "*.example.com",
		"*.*.example.com", "reg.*.com", "docker.io", "docker.io/acme", "docker.io/library", "index.docker.io",
		"https://index.docker.io/v1/", "index.docker.io/v2/", "index.docker.io/library", "registry-1.docker.io",
		"*.io", "localhost", "localhost:5000", "REGISTRY", "registry", "MyHost:5000", "quay.io", "quay.io/coreos",
		"[::1]:5000", ":5000", "", "reg example.com", "*", "HTTPS://reg.example.com", "https://:5000/v2/",
	}
	images := []string{
		"nginx", "library/nginx", "docker.io/library/nginx:1", "index.docker.io/acme/web", "acme/web",
		"reg.example.com/team/app", "reg.example.com/teamwork/app", "reg.example.com:5000/team/app",
		"a.example.com/app", "a.b.example.com/app", "localhost/app", "localhost:5000/app", "REGISTRY/app",
		"MyHost:5000/app", "registry-1.docker.io/library/nginx", "quay.io/coreos/etcd", "[::1]:5000/app",
		"reg.example.com/team/app@sha256:" + sha,
	}
	bodies := []func(u, p string) map[string]string{
		func(u, p string) map[string]string { return map[string]string{"auth": b64(u + ":" + p)} },
		func(u, p string) map[string]string { return map[string]string{"username": u, "password": p} },
		func(u, p string) map[string]string { return map[string]string{} },
		func(u, p string) map[string]string { return map[string]string{"identitytoken": p} },
		func(u, p string) map[string]string { return map[string]string{"password": p} },
	}

	rng := rand.New(rand.NewPCG(20260721, 1))
	const cases = 4000
	compared, narrowed := 0, 0
	for i := range cases {
		var secrets []modelSecret
		var sources []Source
		for s := range 1 + rng.IntN(3) {
			auths := map[string]map[string]string{}
			for range 1 + rng.IntN(4) {
				u, p := fmt.Sprintf("u%d", rng.IntN(6)), fmt.Sprintf("p%d", rng.IntN(4))
				auths[keys[rng.IntN(len(keys))]] = bodies[rng.IntN(len(bodies))](u, p)
			}
			b, _ := json.Marshal(map[string]any{"auths": auths})
			secret := configJSON(fmt.Sprintf("s%d", s), string(b))
			secrets = append(secrets, modelSecret{fmt.Sprintf("pod-secret ns/s%d", s), auths})
			if p, err := Parse(secret); err == nil {
				sources = append(sources, Source{Kind: KindPodSecret, Secret: p})
			}
		}
		image := images[rng.IntN(len(images))]
		want, viaFallback := modelLookup(secrets, image)
		if viaFallback && !strings.HasPrefix(kubeletName(image), "docker.io/") {
			// Deliberate difference (doc.go): no index.docker.io fallback
			// for single-label hosts such as "localhost" or "REGISTRY".
			want, narrowed = []modelCred{}, narrowed+1
		}
		k := NewKeyring(sources...)
		ms, err := k.Lookup(image)
		if err != nil {
			t.Fatalf("case %d: Lookup(%q): %v", i, image, err)
		}
		var got []modelCred
		for _, m := range ms {
			got = append(got, modelCredOf(t, m.Source, m.Credential.Auth))
		}
		if !slices.Equal(nonNil(got), effective(want)) {
			t.Fatalf("case %d: secrets %v, image %q:\nLookup = %v\nmodel  = %v", i, secrets, image, got, effective(want))
		}

		creds, err := k.Credentials(image, nil)
		if err != nil {
			t.Fatalf("case %d: Credentials(%q): %v", i, image, err)
		}
		var gotCreds []modelCred
		for _, c := range withoutAnonymousFallback(creds) {
			gotCreds = append(gotCreds, modelCredOf(t, c.Source, c.Auth))
		}
		if wantCreds := dedupe(effective(want)); !slices.Equal(nonNil(gotCreds), wantCreds) {
			t.Fatalf("case %d: secrets %v, image %q:\nCredentials = %v\nmodel       = %v", i, secrets, image, gotCreds, wantCreds)
		}
		compared++
	}
	t.Logf("%d random cases compared, %d with the model's localhost-style fallback narrowed", compared, narrowed)
}

type modelSecret struct {
	source string
	auths  map[string]map[string]string
}

// modelCred is what the kubelet would send, and from which secret.
type modelCred struct{ source, user, pass string }

// modelLookup is BasicDockerKeyring: keys indexed as Add does, sorted in
// reverse, matched as URLsMatchStr does, index.docker.io as the fallback.
// It reports whether the fallback produced the result.
func modelLookup(secrets []modelSecret, image string) ([]modelCred, bool) {
	creds := map[string][]modelCred{}
	var index []string
	for _, s := range secrets {
		raw := make([]string, 0, len(s.auths))
		for k := range s.auths {
			raw = append(raw, k)
		}
		sort.Strings(raw) // the kubelet's map order is random; ours is sorted
		for _, key := range raw {
			e := s.auths[key]
			user, pass := e["username"], e["password"]
			if a, ok := e["auth"]; ok {
				user, pass = decodeModelAuth(a)
			}
			u := key
			if !strings.HasPrefix(u, "https://") && !strings.HasPrefix(u, "http://") {
				u = "https://" + u
			}
			parsed, err := url.Parse(u)
			if err != nil {
				continue
			}
			p := parsed.Path
			if strings.HasPrefix(p, "/v2/") || strings.HasPrefix(p, "/v1/") {
				p = p[3:]
			}
			idx := parsed.Host
			if p != "" && p != "/" {
				idx += p
			}
			creds[idx] = append(creds[idx], modelCred{s.source, user, pass})
			index = append(index, idx)
		}
	}
	slices.Sort(index)
	index = slices.Compact(index)
	slices.Reverse(index)

	name := kubeletName(image)
	out := []modelCred{}
	for _, k := range index {
		if modelURLsMatch(k, name) {
			out = append(out, creds[k]...)
		}
	}
	if len(out) > 0 {
		return out, false
	}
	first, _, hasSlash := strings.Cut(name, "/")
	isDefault := first != "" && (!hasSlash || first == "docker.io" || first == "index.docker.io" || !strings.ContainsAny(first, ".:"))
	if fb, ok := creds["index.docker.io"]; ok && isDefault {
		return fb, true
	}
	return out, false
}

func modelURLsMatch(glob, target string) bool {
	g, err1 := url.Parse("https://" + glob)
	tu, err2 := url.Parse("https://" + target)
	if err1 != nil || err2 != nil {
		return false
	}
	split := func(u *url.URL) ([]string, string) {
		h, p, err := net.SplitHostPort(u.Host)
		if err != nil {
			h, p = u.Host, ""
		}
		return strings.Split(h, "."), p
	}
	gl, gp := split(g)
	tl, tp := split(tu)
	if gp != tp || len(gl) != len(tl) || !strings.HasPrefix(tu.Path, g.Path) {
		return false
	}
	for i := range gl {
		if ok, err := filepath.Match(gl[i], tl[i]); err != nil || !ok {
			return false
		}
	}
	return true
}

// kubeletName is the name the kubelet hands its keyring
// (parsers.ParseImageName's repoToPull).
func kubeletName(image string) string {
	named, err := dockerref.ParseNormalizedNamed(image)
	if err != nil {
		panic(err)
	}
	return named.Name()
}

func decodeModelAuth(a string) (string, string) {
	b, err := decodeAuth(a)
	if err != nil {
		panic(err)
	}
	u, p, _ := strings.Cut(string(b), ":")
	return u, p
}

// effective is what the runtime sends: no username means no credential.
func effective(cs []modelCred) []modelCred {
	out := []modelCred{}
	for _, c := range cs {
		if c.user == "" {
			c.pass = ""
		}
		out = append(out, c)
	}
	return out
}

// dedupe keeps the first of equal credentials, as Credentials does.
func dedupe(cs []modelCred) []modelCred {
	out := []modelCred{}
	seen := map[[2]string]bool{}
	for _, c := range cs {
		if k := [2]string{c.user, c.pass}; !seen[k] {
			seen[k] = true
			out = append(out, c)
		}
	}
	return out
}

func nonNil(cs []modelCred) []modelCred {
	if cs == nil {
		return []modelCred{}
	}
	return cs
}

func modelCredOf(t *testing.T, source string, auth authn.Authenticator) modelCred {
	t.Helper()
	c, err := auth.Authorization()
	if err != nil {
		t.Fatal(err)
	}
	return modelCred{source, c.Username, c.Password}
}
