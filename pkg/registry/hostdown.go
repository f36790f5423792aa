package registry

// Registries that are down: a host whose ping failed below HTTP, or
// whose token service we refuse, fails every later lookup at once.

import (
	"errors"
	"net/url"
)

// markDown remembers why host failed as a whole, so that hostDown answers
// its later lookups without waiting out the same failure again.
func (r *Resolver) markDown(host string, e *Error) {
	r.mu.Lock()
	r.down[host] = e
	r.mu.Unlock()
}

// hostDown returns a copy of the failure markDown recorded for host, nil
// when it is not down.
func (r *Resolver) hostDown(host string) *Error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if e, ok := r.down[host]; ok {
		copied := *e
		return &copied
	}
	return nil
}

// hostLevel reports whether a failure concerns the registry as a whole:
// its ping (GET /v2/) failed below HTTP, or its auth challenge named a
// token service we refuse.
func hostLevel(e *Error, err error) bool {
	switch e.Reason {
	case ReasonInsecureTokenRealm:
		return true
	case ReasonTLS, ReasonNetwork, ReasonTimeout:
		var uerr *url.Error
		if errors.As(err, &uerr) {
			u, perr := url.Parse(uerr.URL)
			return perr == nil && u.Path == "/v2/"
		}
	}
	return false
}
