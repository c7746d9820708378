package auth

import (
	"net/http"
	"strings"
)

// Authenticator resolves a request to the tenant it may act on; it is the
// interface of scimhttp.Authenticator.
type Authenticator interface {
	Authenticate(r *http.Request) (tenant string, err error)
}

// Claimer is implemented by authenticators that can tell from the request
// alone, without any lookup, whether it carries their kind of credential
// (usually by the Authorization scheme or a token prefix).
type Claimer interface {
	Claims(r *http.Request) bool
}

// Any returns an Authenticator that hands each request to the first of as
// that claims it (see Claimer); an authenticator that does not implement
// Claimer claims every request. A request nobody claims gets the 401 of
// Unauthorized. List specific authenticators before general ones: an
// oauth.Access (Bearer tokens starting "scimd_at_") before a Bearer (every
// Bearer token).
func Any(as ...Authenticator) Authenticator { return anyAuth(as) }

type anyAuth []Authenticator

func (as anyAuth) Authenticate(r *http.Request) (string, error) {
	for _, a := range as {
		if c, ok := a.(Claimer); ok && !c.Claims(r) {
			continue
		}
		return a.Authenticate(r)
	}
	return "", Unauthorized()
}

// Claims reports whether the request carries a bearer token: the Bearer
// scheme, or a bare scimd token (Okta's "HTTP Header" mode).
func (b *Bearer) Claims(r *http.Request) bool {
	h := strings.TrimSpace(r.Header.Get("Authorization"))
	scheme, _, ok := strings.Cut(h, " ")
	return ok && strings.EqualFold(scheme, "Bearer") || !ok && strings.HasPrefix(h, tokenPrefix)
}
