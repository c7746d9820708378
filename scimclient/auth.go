package scimclient

import (
	"net/http"
	"net/url"
)

// Auth adds credentials to a request. Apply is called on every attempt, so
// an implementation may refresh tokens.
//
// If an Auth also has a method SensitiveHeaders() []string, the named
// headers are redacted in Exchange and Request records.
type Auth interface {
	Apply(*http.Request)
}

// AuthFunc adapts a function to Auth.
type AuthFunc func(*http.Request)

// Apply calls f(r).
func (f AuthFunc) Apply(r *http.Request) { f(r) }

// Bearer returns an Auth sending "Authorization: Bearer token".
func Bearer(token string) Auth { return headerAuth{"Authorization", "Bearer " + token} }

// Basic returns an Auth sending HTTP Basic credentials.
func Basic(user, password string) Auth { return basicAuth{user, password} }

// Header returns an Auth setting header name to value, e.g. an API key
// header or a fixed "Authorization" value as Okta allows. The header's value
// is redacted in records.
func Header(name, value string) Auth { return headerAuth{name, value} }

type headerAuth struct{ name, value string }

func (a headerAuth) Apply(r *http.Request)      { r.Header.Set(a.name, a.value) }
func (a headerAuth) SensitiveHeaders() []string { return []string{a.name} }

type basicAuth struct{ user, password string }

func (a basicAuth) Apply(r *http.Request) { r.SetBasicAuth(a.user, a.password) }

// redactedValue replaces secret header values in records.
const redactedValue = "[REDACTED]"

// redact returns a copy of h with sensitive values replaced. For
// Authorization-like headers the scheme word is kept ("Bearer [REDACTED]").
func (c *Client) redact(h http.Header) http.Header {
	out := h.Clone()
	names := []string{"Authorization", "Proxy-Authorization", "Cookie", "Set-Cookie"}
	names = append(names, c.Sensitive...)
	if s, ok := c.Auth.(interface{ SensitiveHeaders() []string }); ok {
		names = append(names, s.SensitiveHeaders()...)
	}
	for _, n := range names {
		k := http.CanonicalHeaderKey(n)
		vs, ok := out[k]
		if !ok {
			continue
		}
		red := make([]string, len(vs))
		for i, v := range vs {
			red[i] = redactedValue
			if k == "Authorization" || k == "Proxy-Authorization" {
				if scheme, _, found := cutSpace(v); found {
					red[i] = scheme + " " + redactedValue
				}
			}
		}
		out[k] = red
	}
	return out
}

func cutSpace(s string) (string, string, bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == ' ' {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}

// redactURL renders u with any userinfo password masked.
func redactURL(u *url.URL) string { return u.Redacted() }
