package registry

import "github.com/google/go-containerregistry/pkg/authn"

// Credential is one credential the resolver may try for an image, in the
// kubelet's order. It never prints its secret parts: Source and ID are safe
// to show and log.
type Credential struct {
	// Source says where the credential came from, for humans:
	// "pod-secret NS/NAME", "service-account-secret NS/NAME",
	// "local-docker-config" or "anonymous".
	Source string
	// ID identifies the credential's content without revealing it (e.g. a
	// truncated SHA-256 of the auth config), so that one run sends one
	// request per (reference, credential) even when two secrets hold the
	// same credential.
	ID string
	// Auth answers the registry's challenge. authn.Anonymous for none.
	Auth authn.Authenticator
}

// Anonymous is the last credential the kubelet tries: none at all.
var Anonymous = Credential{Source: "anonymous", ID: "anonymous", Auth: authn.Anonymous}
