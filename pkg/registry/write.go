package registry

import (
	"context"
	"slices"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// WriteOptions are go-containerregistry options to read and write small
// artifacts (signatures) in a repository with auth, the user's push
// credential, through the resolver's connection: its TLS settings,
// retries and request counting.
func (r *Resolver) WriteOptions(ctx context.Context, auth authn.Authenticator) []remote.Option {
	if auth == nil {
		auth = authn.Anonymous
	}
	return append(slices.Clone(r.remote), remote.WithAuth(auth), remote.WithContext(ctx))
}

// WriteError classifies a failed read or write of ref made with
// WriteOptions, as every other failure: a Reason and a message safe to
// print.
func (r *Resolver) WriteError(ctx context.Context, ref name.Reference, err error) *Error {
	cl := classifier{registry: ref.Context().RegistryStr(), ref: ref.Name(), attempts: r.opts.Retries, ctx: ctx, lookup: ctx}
	return cl.classify(err)
}
