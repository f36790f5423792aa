package pullsecret

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"

	"github.com/imgtrust/kubectl-imgtrust/pkg/registry"
)

const redacted = "[redacted]"

// emptyCredentialID is the ID of an entry without a username: it sends
// nothing, exactly as the anonymous attempt does.
var emptyCredentialID = registry.Anonymous.ID

// authenticator is the authn.Authenticator of every credential this package
// hands out. It redacts itself in fmt and JSON, so a registry.Credential can
// be printed or marshalled safely. The config is held in a closure because
// fmt prints struct fields by reflection where methods are not called (an
// unexported field, or a bad verb such as %s on a pointer), and reflection
// shows a func only as an address.
type authenticator struct {
	config func() authn.AuthConfig
}

func newAuthenticator(cfg authn.AuthConfig) *authenticator {
	return &authenticator{config: func() authn.AuthConfig { return cfg }}
}

// Authorization implements authn.Authenticator.
func (a *authenticator) Authorization() (*authn.AuthConfig, error) {
	cfg := a.config()
	return &cfg, nil
}

func (authenticator) String() string   { return redacted }
func (authenticator) GoString() string { return "pullsecret.authenticator{" + redacted + "}" }
func (a authenticator) Format(f fmt.State, verb rune) {
	format(f, verb, a.String(), a.GoString())
}
func (authenticator) MarshalJSON() ([]byte, error) { return []byte(strconv.Quote(redacted)), nil }

// format writes s for every verb, GoString for %#v and a quoted s for %q, so
// that no verb falls back to printing fields by reflection.
func format(f fmt.State, verb rune, s, gs string) {
	switch {
	case verb == 'v' && f.Flag('#'):
		_, _ = io.WriteString(f, gs)
	case verb == 'q':
		_, _ = io.WriteString(f, strconv.Quote(s))
	default:
		_, _ = io.WriteString(f, s)
	}
}

// idKey keys credential IDs for this process only, so an ID cannot be
// checked against guessed passwords.
var idKey = func() []byte {
	k := make([]byte, 32)
	_, _ = rand.Read(k) // never fails since Go 1.24
	return k
}()

// credentialID identifies a credential's content: equal for equal
// credentials within one process, 16 hex digits.
func credentialID(cfg authn.AuthConfig) string {
	c := canonical(cfg)
	mac := hmac.New(sha256.New, idKey)
	for _, f := range []string{c.Username, c.Password, c.IdentityToken, c.RegistryToken} {
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(len(f)))
		mac.Write(n[:])
		mac.Write([]byte(f))
	}
	return hex.EncodeToString(mac.Sum(nil))[:16]
}

// canonical reduces an auth config to what is sent: "auth" is decoded when
// no username/password is set.
func canonical(cfg authn.AuthConfig) authn.AuthConfig {
	if cfg.Auth != "" && cfg.Username == "" && cfg.Password == "" {
		if b, err := decodeAuth(cfg.Auth); err == nil {
			if u, p, ok := strings.Cut(string(b), ":"); ok {
				cfg.Username, cfg.Password = u, p
			}
		}
	}
	cfg.Auth = ""
	return cfg
}

// LocalConfig looks up the credential of the local docker config (an
// authn.Keychain, normally authn.DefaultKeychain) once per registry. It
// stands in for the node's own credentials, which the kubelet tries after
// the pod's pull secrets. Safe for concurrent use.
type LocalConfig struct {
	keychain authn.Keychain

	mu    sync.Mutex
	cache map[string]localResult
}

type localResult struct {
	cred registry.Credential
	ok   bool
	err  error
}

// NewLocalConfig returns a LocalConfig reading keychain; nil means
// authn.DefaultKeychain.
func NewLocalConfig(keychain authn.Keychain) *LocalConfig {
	if keychain == nil {
		keychain = authn.DefaultKeychain
	}
	return &LocalConfig{keychain: keychain, cache: map[string]localResult{}}
}

// Credential returns the local credential for reg, with Source
// "local-docker-config"; ok is false when the keychain has none (anonymous).
func (l *LocalConfig) Credential(reg name.Registry) (cred registry.Credential, ok bool, err error) {
	if l == nil {
		return registry.Credential{}, false, nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	key := reg.RegistryStr()
	if r, hit := l.cache[key]; hit {
		return r.cred, r.ok, r.err
	}
	r := l.resolve(reg)
	l.cache[key] = r
	return r.cred, r.ok, r.err
}

func (l *LocalConfig) resolve(reg name.Registry) localResult {
	auth, err := l.keychain.Resolve(reg)
	if err != nil {
		return localResult{err: err}
	}
	if auth == nil || auth == authn.Anonymous {
		return localResult{}
	}
	cfg, err := auth.Authorization()
	if err != nil {
		return localResult{err: err}
	}
	if cfg == nil || canonical(*cfg) == (authn.AuthConfig{}) {
		return localResult{}
	}
	return localResult{
		cred: registry.Credential{Source: SourceLocalDockerConfig, ID: credentialID(*cfg), Auth: newAuthenticator(*cfg)},
		ok:   true,
	}
}

func (l *LocalConfig) String() string   { return "pullsecret.LocalConfig" }
func (l *LocalConfig) GoString() string { return "&pullsecret.LocalConfig{" + redacted + "}" }

// Format implements fmt.Formatter so that no verb prints the cache.
func (l *LocalConfig) Format(f fmt.State, verb rune) { format(f, verb, l.String(), l.GoString()) }
