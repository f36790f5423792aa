package registry

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/imgtrust/kubectl-imgtrust/pkg/version"
)

// VerifyResult is what a registry said about one credential.
type VerifyResult string

const (
	// VerifyOK: the registry (or its token service) accepted the credential,
	// or needs none.
	VerifyOK VerifyResult = "ok"
	// VerifyRejected: 401/403, or a token that grants no pull.
	VerifyRejected VerifyResult = "rejected"
	// VerifyUnreachable: no verdict (network, TLS, timeout, odd answers).
	VerifyUnreachable VerifyResult = "unreachable"
)

// Verification is the verdict on one credential at one registry. Message is
// safe to print: it never holds a password, token or auth value.
type Verification struct {
	Result  VerifyResult `json:"result"`
	Message string       `json:"message,omitempty"`
}

// Verifier checks credentials against registries without pulling: a ping
// (anonymous GET /v2/), then either the token exchange for a pull scope
// (Bearer registries) or one authenticated GET /v2/ (Basic registries).
// No manifest or blob is ever requested, nothing is retried, and each
// (registry, credential) is checked at most once per Verifier, because
// registries lock accounts after repeated failures.
type Verifier struct {
	base      http.RoundTripper
	insecure  hostSet
	timeout   time.Duration
	userAgent string

	mu   sync.Mutex
	done map[string]*verifyOnce
}

type verifyOnce struct {
	once sync.Once
	v    Verification
}

// NewVerifier uses o's CAFile, Insecure, Timeout, UserAgent and Transport;
// the concurrency and retry options do not apply.
func NewVerifier(o Options) (*Verifier, error) {
	insecure, err := newHostSet(o.Insecure)
	if err != nil {
		return nil, err
	}
	base, err := newBaseTransport(o.Transport, o.CAFile, insecure, 2)
	if err != nil {
		return nil, err
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.UserAgent == "" {
		o.UserAgent = version.UserAgent()
	}
	return &Verifier{base: base, insecure: insecure, timeout: o.Timeout, userAgent: o.UserAgent, done: map[string]*verifyOnce{}}, nil
}

// Verify checks cred against registry (host[:port]), asking the token
// service for pull access to repository (e.g. "team/app"). A second call
// with the same registry and credential ID returns the first verdict
// without sending anything (anonymous checks are kept per repository).
func (v *Verifier) Verify(ctx context.Context, registry, repository string, cred Credential) Verification {
	key := registry + "\x00" + credKey(cred)
	if cred.Auth == nil || cred.Auth == authn.Anonymous {
		// Anonymous access risks no lockout and differs per repository.
		key += "\x00" + repository
	}
	v.mu.Lock()
	o, ok := v.done[key]
	if !ok {
		o = &verifyOnce{}
		v.done[key] = o
	}
	v.mu.Unlock()
	o.once.Do(func() { o.v = v.verify(ctx, registry, repository, cred) })
	return o.v
}

func (v *Verifier) verify(ctx context.Context, registry, repository string, cred Credential) Verification {
	ctx, cancel := context.WithTimeout(ctx, v.timeout)
	defer cancel()
	auth := cred.Auth
	if auth == nil {
		auth = authn.Anonymous
	}
	repo, err := Repository(registry, repository, v.insecure.has(registry, "https"))
	if err != nil {
		return Verification{Result: VerifyUnreachable, Message: fmt.Sprintf("%s/%s is not a valid repository name", registry, repository)}
	}
	cl := classifier{registry: repo.RegistryStr(), ref: repo.Name(), attempts: 1, secrets: secretsOf(ctx, auth), ctx: ctx}
	base := transport.NewUserAgent(v.base, v.userAgent)

	challenge, err := transport.Ping(ctx, repo.Registry, base)
	if err != nil {
		return unreachable(cl.classify(err))
	}
	anonymous := auth == authn.Anonymous
	switch strings.ToLower(challenge.Scheme) {
	case "":
		return Verification{Result: VerifyOK, Message: fmt.Sprintf("%s serves without authentication", repo.RegistryStr())}
	case "bearer":
		return v.tokenExchange(ctx, repo, auth, base, challenge, cl)
	}
	if anonymous {
		return Verification{Result: VerifyRejected, Message: fmt.Sprintf("%s requires %s authentication", repo.RegistryStr(), challenge.Scheme)}
	}
	return v.basicGet(ctx, repo, auth, base, challenge, cl)
}

// tokenExchange asks the token service for a pull token; the inspector
// reads the granted scope on the way, since a token service may answer
// 200 with a token that grants nothing (Docker Hub does so for anonymous
// requests to private repositories).
func (v *Verifier) tokenExchange(ctx context.Context, repo name.Repository, auth authn.Authenticator, base http.RoundTripper, challenge *transport.Challenge, cl classifier) Verification {
	insp := &tokenInspector{next: base, realm: stripQuery(challenge.Parameters["realm"]), repository: repo.RepositoryStr()}
	_, err := transport.NewWithContext(ctx, repo.Registry, auth, insp, []string{repo.Scope(transport.PullScope)})
	if err != nil {
		cl.realm = insp.realm
		return classified(cl.classify(err))
	}
	if insp.denied() {
		return Verification{Result: VerifyRejected, Message: fmt.Sprintf("the token service of %s granted no pull access to %s", repo.RegistryStr(), repo.RepositoryStr())}
	}
	if auth == authn.Anonymous {
		return Verification{Result: VerifyOK, Message: fmt.Sprintf("the token service of %s grants anonymous pull tokens for %s", repo.RegistryStr(), repo.RepositoryStr())}
	}
	return Verification{Result: VerifyOK, Message: fmt.Sprintf("the token service of %s accepted the credential", repo.RegistryStr())}
}

// basicGet sends one authenticated GET /v2/ to a registry that asked for
// Basic (or another non-bearer) authentication.
func (v *Verifier) basicGet(ctx context.Context, repo name.Repository, auth authn.Authenticator, base http.RoundTripper, challenge *transport.Challenge, cl classifier) Verification {
	t, err := transport.NewWithContext(ctx, repo.Registry, auth, base, []string{repo.Scope(transport.PullScope)})
	if err != nil {
		return classified(cl.classify(err))
	}
	scheme := "https"
	if challenge.Insecure {
		scheme = "http"
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, scheme+"://"+repo.RegistryStr()+"/v2/", nil)
	if err != nil {
		return unreachable(cl.classify(err))
	}
	resp, err := t.RoundTrip(req)
	if err != nil {
		return unreachable(cl.classify(err))
	}
	defer drain(resp)
	if err := transport.CheckError(resp, http.StatusOK); err != nil {
		return classified(cl.classify(err))
	}
	return Verification{Result: VerifyOK, Message: fmt.Sprintf("%s accepted the credential", repo.RegistryStr())}
}

// classified maps a failure to a verdict: refusals are rejections,
// everything else leaves the credential's worth unknown.
func classified(e *Error) Verification {
	if e.refused() {
		return Verification{Result: VerifyRejected, Message: e.Message}
	}
	return unreachable(e)
}

func unreachable(e *Error) Verification {
	return Verification{Result: VerifyUnreachable, Message: e.Message}
}
