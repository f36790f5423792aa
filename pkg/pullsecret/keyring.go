package pullsecret

import (
	"fmt"
	"net"
	"net/url"
	"path"
	"slices"
	"strings"

	dockerref "github.com/distribution/reference"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	corev1 "k8s.io/api/core/v1"

	"github.com/imgtrust/kubectl-imgtrust/pkg/registry"
)

// Source kinds and the local source name, as they appear in
// registry.Credential.Source ("pod-secret NS/NAME").
const (
	KindPodSecret            = "pod-secret"
	KindServiceAccountSecret = "service-account-secret"
	SourceLocalDockerConfig  = "local-docker-config"
)

// dockerHubFallbackKey is the index key the kubelet falls back to for
// Docker Hub images when no key matched.
const dockerHubFallbackKey = "index.docker.io"

// dockerHubHost is Docker Hub in the kubelet's normalised names.
const dockerHubHost = "docker.io"

// Source is one pull secret given to a keyring and why the pod has it.
type Source struct {
	// Kind is KindPodSecret (the default when empty) or
	// KindServiceAccountSecret.
	Kind   string
	Secret *Secret
}

func (s Source) label() string {
	kind := s.Kind
	if kind == "" {
		kind = KindPodSecret
	}
	return kind + " " + s.Secret.Namespace + "/" + s.Secret.Name
}

// TemplateSources returns the sources the kubelet ends up with for a pod
// created from a template: the ServiceAccount admission plugin copies the
// service account's imagePullSecrets into the pod only when the pod names
// none. get returns the parsed secret of that name in the pod's namespace,
// or nil when it is missing or invalid (the kubelet skips those).
func TemplateSources(podRefs, serviceAccountRefs []corev1.LocalObjectReference, get func(name string) *Secret) []Source {
	kind, refs := KindPodSecret, podRefs
	if len(podRefs) == 0 {
		kind, refs = KindServiceAccountSecret, serviceAccountRefs
	}
	var out []Source
	for _, r := range refs {
		if s := get(r.Name); s != nil {
			out = append(out, Source{Kind: kind, Secret: s})
		}
	}
	return out
}

// Match is one credential a keyring holds for an image.
type Match struct {
	// Source is "pod-secret NS/NAME" or "service-account-secret NS/NAME".
	Source string
	// Key is the matching entry's key as written in the secret.
	Key      string
	Username string
	// DockerHubFallback is true when the entry matched only through the
	// kubelet's "index.docker.io" fallback for Docker Hub images.
	DockerHubFallback bool
	// Empty is true for an entry without a username: the kubelet tries it
	// as an empty credential, which pulls anonymously (see Entry.Empty).
	Empty      bool
	Credential registry.Credential
}

func (m Match) String() string {
	s := fmt.Sprintf("%s key %q user %q credential %s", m.Source, m.Key, m.Username, m.Credential.ID)
	if m.Empty {
		s += " (empty: pulls anonymously)"
	}
	if m.DockerHubFallback {
		s += " (docker hub fallback)"
	}
	return s
}

func (m Match) GoString() string {
	return fmt.Sprintf("pullsecret.Match{Source:%q, Key:%q, Username:%q, DockerHubFallback:%t, Empty:%t, Credential:registry.Credential{Source:%q, ID:%q, Auth:%s}}",
		m.Source, m.Key, m.Username, m.DockerHubFallback, m.Empty, m.Credential.Source, m.Credential.ID, redacted)
}

// Format implements fmt.Formatter so that no verb prints the credential.
func (m Match) Format(f fmt.State, verb rune) { format(f, verb, m.String(), m.GoString()) }

// Keyring matches images to pull-secret credentials in the kubelet's order.
// It is immutable and safe for concurrent use.
type Keyring struct {
	patterns []pattern         // one per index key, reverse lexical order
	creds    map[string][]held // index key → entries in source order
}

type held struct {
	source string
	entry  Entry
}

// NewKeyring merges the sources' entries into one keyring, as the kubelet
// merges a pod's pull secrets. Sources with a nil Secret are skipped; each
// match keeps the source it came from.
func NewKeyring(sources ...Source) *Keyring {
	k := &Keyring{creds: map[string][]held{}}
	for _, src := range sources {
		if src.Secret == nil {
			continue
		}
		label := src.label()
		entries := slices.Clone(src.Secret.Entries)
		slices.SortStableFunc(entries, func(a, b Entry) int { return strings.Compare(a.Key, b.Key) })
		for _, e := range entries {
			k.creds[e.Registry] = append(k.creds[e.Registry], held{source: label, entry: e})
		}
	}
	keys := make([]string, 0, len(k.creds))
	for key := range k.creds {
		keys = append(keys, key)
	}
	slices.Sort(keys)
	slices.Reverse(keys)
	for _, key := range keys {
		k.patterns = append(k.patterns, compile(key))
	}
	return k
}

// Lookup returns every credential whose key matches image, in the order the
// kubelet tries them. Image is parsed as the kubelet parses it
// (distribution/reference); an error means the kubelet rejects it too.
func (k *Keyring) Lookup(image string) ([]Match, error) {
	named, err := dockerref.ParseNormalizedNamed(image)
	if err != nil {
		return nil, fmt.Errorf("parsing image %q: %w", image, err)
	}
	return k.lookupName(named.Name()), nil
}

// LookupRepository is Lookup for an already parsed repository.
func (k *Keyring) LookupRepository(repo name.Repository) []Match {
	host := repo.RegistryStr()
	if host == name.DefaultRegistry {
		host = dockerHubHost
	}
	return k.lookupName(host + "/" + repo.RepositoryStr())
}

// lookupName matches the kubelet's normalised name ("docker.io/library/nginx",
// "REGISTRY/app"), which is what the kubelet hands its keyring.
func (k *Keyring) lookupName(kubeletName string) []Match {
	if k == nil {
		return nil
	}
	t := newTarget(kubeletName)
	var out []Match
	for i := range k.patterns {
		if k.patterns[i].match(t) {
			for _, h := range k.creds[k.patterns[i].key] {
				out = append(out, h.match(false))
			}
		}
	}
	if len(out) == 0 && t.dockerHub {
		for _, h := range k.creds[dockerHubFallbackKey] {
			out = append(out, h.match(true))
		}
	}
	return out
}

func (h held) match(fallback bool) Match {
	return Match{
		Source:            h.source,
		Key:               h.entry.Key,
		Username:          h.entry.Username,
		DockerHubFallback: fallback,
		Empty:             h.entry.Empty,
		Credential:        registry.Credential{Source: h.source, ID: h.entry.ID, Auth: h.entry.authenticator()},
	}
}

// Credentials returns the credentials the kubelet would try for image, in
// its order: the keyring's matches, then the local docker config's
// credential for the image's registry (if local is not nil; it stands in
// for the node's own), and registry.Anonymous only when nothing matched:
// the kubelet pulls anonymously only then, and once a credential matched a
// pull fails when every matched one is refused. Credentials with the same
// ID appear once; an empty entry (Entry.Empty, ID "anonymous") is an
// anonymous attempt in its own place.
//
// When the local docker config cannot be read the list is complete without
// it and the error says why.
func (k *Keyring) Credentials(image string, local *LocalConfig) ([]registry.Credential, error) {
	named, err := dockerref.ParseNormalizedNamed(image)
	if err != nil {
		return nil, fmt.Errorf("parsing image %q: %w", image, err)
	}
	var out []registry.Credential
	seen := map[string]bool{}
	add := func(c registry.Credential) {
		if !seen[c.ID] {
			seen[c.ID] = true
			out = append(out, c)
		}
	}
	for _, m := range k.lookupName(named.Name()) {
		add(m.Credential)
	}
	var localErr error
	if local != nil {
		host := dockerref.Domain(named)
		if host == dockerHubHost {
			host = name.DefaultRegistry
		}
		reg, err := name.NewRegistry(host)
		var c registry.Credential
		var ok bool
		if err == nil {
			c, ok, err = local.Credential(reg)
		}
		switch {
		case err != nil:
			localErr = fmt.Errorf("reading the local docker config for %s: %w", host, err)
		case ok:
			add(c)
		}
	}
	if len(out) == 0 {
		add(registry.Anonymous)
	}
	return out, localErr
}

func (k *Keyring) String() string {
	if k == nil {
		return "pullsecret.Keyring(nil)"
	}
	n := 0
	for _, hs := range k.creds {
		n += len(hs)
	}
	return fmt.Sprintf("pullsecret.Keyring(%d keys, %d credentials)", len(k.patterns), n)
}

func (k *Keyring) GoString() string { return "&" + k.String() }

// Format implements fmt.Formatter so that no verb prints the credentials.
func (k *Keyring) Format(f fmt.State, verb rune) { format(f, verb, k.String(), k.GoString()) }

// target is an image as the kubelet matches it.
type target struct {
	valid     bool
	labels    []string
	port      string
	path      string
	dockerHub bool
}

// newTarget parses the kubelet's name as its URLsMatchStr does: as a
// schemeless URL.
func newTarget(kubeletName string) target {
	t := target{dockerHub: strings.HasPrefix(kubeletName, dockerHubHost+"/")}
	u, err := url.Parse("https://" + kubeletName)
	if err != nil {
		return t
	}
	t.valid = true
	t.labels, t.port = splitHost(u.Host)
	t.path = u.Path
	return t
}

// pattern is an index key compiled for matching.
type pattern struct {
	key    string
	valid  bool
	labels []string
	glob   []bool
	port   string
	path   string
}

func compile(key string) pattern {
	p := pattern{key: key}
	// The kubelet re-parses the index key as a schemeless URL at every
	// lookup; a key that fails to parse never matches.
	u, err := url.Parse("https://" + key)
	if err != nil {
		return p
	}
	p.valid = true
	p.labels, p.port = splitHost(u.Host)
	p.path = u.Path
	p.glob = make([]bool, len(p.labels))
	for i, l := range p.labels {
		p.glob[i] = strings.ContainsAny(l, `*?[\`)
	}
	return p
}

func (p *pattern) match(t target) bool {
	if !p.valid || !t.valid || p.port != t.port || len(p.labels) != len(t.labels) || !strings.HasPrefix(t.path, p.path) {
		return false
	}
	for i, l := range p.labels {
		if !p.glob[i] {
			if l != t.labels[i] {
				return false
			}
			continue
		}
		if ok, err := path.Match(l, t.labels[i]); err != nil || !ok {
			return false
		}
	}
	return true
}

// splitHost splits host[:port] into its dot-separated labels and port.
func splitHost(hostport string) (labels []string, port string) {
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		host, port = hostport, ""
	}
	return strings.Split(host, "."), port
}

func (s Secret) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "pull secret %s/%s (%s): %d entries [", s.Namespace, s.Name, s.Type, len(s.Entries))
	for i, e := range s.Entries {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(e.String())
	}
	b.WriteString("]")
	if len(s.Problems) > 0 {
		fmt.Fprintf(&b, ", %d problems: %s", len(s.Problems), strings.Join(s.Problems, "; "))
	}
	if s.FailsPulls {
		b.WriteString(", rejected by the kubelet")
	}
	return b.String()
}

func (s Secret) GoString() string {
	entries := make([]string, len(s.Entries))
	for i, e := range s.Entries {
		entries[i] = e.GoString()
	}
	return fmt.Sprintf("pullsecret.Secret{Namespace:%q, Name:%q, Type:%q, Entries:[]pullsecret.Entry{%s}, Problems:%#v, FailsPulls:%t}",
		s.Namespace, s.Name, s.Type, strings.Join(entries, ", "), s.Problems, s.FailsPulls)
}

// Format implements fmt.Formatter so that no verb prints the credentials.
func (s Secret) Format(f fmt.State, verb rune) { format(f, verb, s.String(), s.GoString()) }

func (e Entry) String() string {
	if e.Empty {
		return fmt.Sprintf("%s empty credential (pulls anonymously)", e.Key)
	}
	return fmt.Sprintf("%s user %q credential %s", e.Key, e.Username, e.ID)
}

func (e Entry) GoString() string {
	return fmt.Sprintf("pullsecret.Entry{Key:%q, Registry:%q, Username:%q, ID:%q, Empty:%t, auth:%s}", e.Key, e.Registry, e.Username, e.ID, e.Empty, redacted)
}

// authenticator is what the entry sends: nothing for an empty entry.
func (e Entry) authenticator() authn.Authenticator {
	if e.Empty || e.auth == nil {
		return authn.Anonymous
	}
	return e.auth
}

// Format implements fmt.Formatter so that no verb prints the credential.
func (e Entry) Format(f fmt.State, verb rune) { format(f, verb, e.String(), e.GoString()) }
