package registry

// Per-credential state of a Resolver: its identity key, its
// go-containerregistry Puller and the secret strings to scrub from
// messages, each built once per run.

import (
	"context"

	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// CredentialKey identifies a credential's content for deduplication: its
// ID, else its Source.
func CredentialKey(c Credential) string { return credKey(c) }

// credKey identifies a credential for deduplication: its ID, else its
// Source (callers should set ID).
func credKey(c Credential) string {
	if c.ID != "" {
		return "id:" + c.ID
	}
	return "source:" + c.Source
}

// puller returns the credential's remote.Puller, which reuses the ping and
// the token exchange per repository across lookups.
func (r *Resolver) puller(c Credential) (*remote.Puller, error) {
	key := credKey(c)
	r.mu.Lock()
	defer r.mu.Unlock()
	if p, ok := r.pullers[key]; ok {
		return p, nil
	}
	auth := c.Auth
	if auth == nil {
		auth = Anonymous.Auth
	}
	p, err := remote.NewPuller(append([]remote.Option{remote.WithAuth(auth)}, r.remote...)...)
	if err != nil {
		return nil, err
	}
	r.pullers[key] = p
	return p, nil
}

func (r *Resolver) secretsOf(ctx context.Context, c Credential) []string {
	key := credKey(c)
	r.mu.Lock()
	s, ok := r.secrets[key]
	r.mu.Unlock()
	if ok {
		return s
	}
	s = secretsOf(ctx, c.Auth)
	r.mu.Lock()
	r.secrets[key] = s
	r.mu.Unlock()
	return s
}
