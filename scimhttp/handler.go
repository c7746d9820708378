// Package scimhttp serves the SCIM 2.0 protocol (RFC 7644) over net/http.
//
// A Handler is an ordinary http.Handler that a Go application can mount in
// its own server. It routes /Users, /Groups (every resource type of the
// schema registry), /.search and the discovery endpoints under a base path,
// authenticates every request (there is no anonymous access, discovery
// included), and talks to a scimd.Store with the tenant the Authenticator
// resolved.
//
// With Config.Tenants set, a request may name its tenant by host or by the
// path prefix /t/{tenant} (see Resolver); a credential of another tenant is
// refused. Config also sets rate limits per tenant and per credential, a
// failed-authentication throttle per client address and a cap on requests
// in flight, all answered with 429 and an integer Retry-After.
//
// Mount the Handler so that it sees the request path unmodified, for example
// as the server's root handler or with mux.Handle("/scim/v2/", h). Note that
// an outer http.ServeMux answers paths containing "//" with a redirect before
// the Handler sees them; the Handler itself tolerates doubled slashes
// ("/scim/v2//Users", which JumpCloud sends when its base URL ends with "/"),
// so mount it where no cleaning happens if such clients matter.
package scimhttp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/scimd/scimd"
	"github.com/scimd/scimd/filter"
	"github.com/scimd/scimd/internal/ratelimit"
	"github.com/scimd/scimd/schema"
)

// Defaults of the Config fields left zero.
const (
	DefaultBasePath                  = "/scim/v2"
	DefaultMaxBodyBytes              = 1 << 20
	DefaultPageSize                  = 100
	DefaultMaxPageSize               = 1000
	DefaultMaxGroupMembersInResponse = 1000
)

// Authenticator resolves a request to the tenant it may act on.
//
// An error that is (or wraps) a *scimd.Error is answered with that error's
// status and detail; a 401 additionally carries
// `WWW-Authenticate: Bearer realm="scimd"`. Any other error is logged and
// answered with a generic 500.
type Authenticator interface {
	Authenticate(r *http.Request) (tenant string, err error)
}

// PrincipalAuthenticator is an optional interface of an Authenticator that
// also names the credential it accepted. When Auth implements it, the
// Handler calls AuthenticatePrincipal instead of Authenticate, limits the
// request rate per credential by Principal.Credential, and logs the
// credential id. Errors are as for Authenticate. Other Authenticators'
// credentials are told apart by a hash of the Authorization header.
type PrincipalAuthenticator interface {
	AuthenticatePrincipal(r *http.Request) (scimd.Principal, error)
}

// AuthenticatorFunc adapts a function to the Authenticator interface.
type AuthenticatorFunc func(r *http.Request) (string, error)

// Authenticate calls f(r).
func (f AuthenticatorFunc) Authenticate(r *http.Request) (string, error) { return f(r) }

// Config configures a Handler. Store and Auth are required; every other
// field has a default.
type Config struct {
	// Store keeps the resources. Required.
	Store scimd.Store
	// Registry lists the resource types and schemas served. Nil means
	// schema.DefaultRegistry().
	Registry *schema.Registry
	// Auth authenticates every request. Required: the handler serves
	// nothing, discovery endpoints included, without a successful
	// Authenticate.
	Auth Authenticator

	// BasePath is the path prefix of every SCIM endpoint. Default
	// "/scim/v2"; "/" serves at the root.
	BasePath string
	// ExternalURL is the absolute URL (scheme, host and optional path
	// prefix, e.g. "https://app.example.com") from which resource
	// locations and other URLs are built, followed by BasePath. Empty means
	// derive scheme and host from the request (its Host header and whether
	// it arrived over TLS).
	ExternalURL string

	// Tenants, when set, turns on tenant routing: a request whose Host is
	// one of a tenant's Hosts, or whose path begins with /t/{name} (see
	// TenantPathPrefix), addresses that tenant, and a credential of any
	// other tenant is refused with 401. A request that names no tenant
	// acts on its credential's tenant. Every request's tenant is also
	// checked to exist and not be Disabled (401). Resource locations and
	// every other URL returned are built from the tenant's own base URL.
	// These lookups run on every request: wrap the store in a TenantCache
	// to answer them from memory.
	Tenants scimd.TenantStore
	// TrustedProxies lists the addresses (CIDR prefixes or single
	// addresses) of reverse proxies whose X-Forwarded-For,
	// X-Forwarded-Proto and X-Forwarded-Host headers are believed; the
	// headers of any other peer are ignored. Empty trusts no one.
	TrustedProxies []string

	// TenantRate limits each tenant to this many requests per second
	// (token bucket of TenantBurst; 0 means 2×TenantRate, at least 1).
	// CredentialRate and CredentialBurst do the same per credential. A
	// request over a limit gets 429 with an integer Retry-After. Zero or
	// negative rates mean no limit.
	TenantRate      float64
	TenantBurst     int
	CredentialRate  float64
	CredentialBurst int

	// AuthFailureLimit failed authentications (401) from one client
	// address within AuthFailureWindow (default one minute) block the
	// address for AuthFailureBackoff (default one minute, doubling for
	// each block that follows soon after the last, up to 16 times): its
	// requests get 429 with Retry-After before any credential is checked.
	// IPv6 clients are counted by /64, and every address separately per
	// tenant the request names. Zero or negative means no throttling.
	AuthFailureLimit   int
	AuthFailureWindow  time.Duration
	AuthFailureBackoff time.Duration

	// MaxInFlight caps the requests served at once; a request beyond it
	// is answered at once with 429 and Retry-After: 1 rather than queued.
	// Zero or negative means no cap.
	MaxInFlight int

	// MaxBodyBytes limits request bodies; larger ones get 413. Default 1 MiB.
	MaxBodyBytes int64
	// FilterLimits bounds the filters the handler parses (length, nesting
	// depth, number of terms); a filter exceeding them gets 400
	// invalidFilter.
	FilterLimits filter.Limits
	// DefaultPageSize is the page size of a list without "count". Default
	// 100.
	DefaultPageSize int
	// MaxPageSize caps "count": a larger count is reduced to it, not
	// rejected. Default 1000. Advertised as filter.maxResults.
	MaxPageSize int
	// MaxGroupMembersInResponse bounds the members returned in the response
	// to a write (POST, PUT, PATCH) of a Group: when the group has more
	// members the response omits "members" altogether, so that adding one
	// member to a huge group neither loads nor serialises the whole
	// membership (clients that need it GET the group). Reads (GET, list,
	// .search) are not limited. Default 1000; negative means write
	// responses never include members.
	MaxGroupMembersInResponse int
	// MaxExactCount, when > 0, bounds the count behind totalResults of a
	// filtered list (scimd.ListQuery.MaxTotal): past that many matches
	// from the page's start, totalResults is a lower bound that still
	// lets a client page to the end, and a page costs O(MaxExactCount)
	// instead of O(matches). 0 (the default here; scimd serve sets
	// 10,000) always counts exactly.
	MaxExactCount int

	// HashPassword turns a plaintext password from a request into the form
	// stored in place of it (the password is returned:never, so the stored
	// form is never rendered). Nil means a PBKDF2-HMAC-SHA256 default;
	// applications should supply argon2id or bcrypt. A hook that returns ""
	// discards passwords: nothing is stored.
	HashPassword func(plaintext string) (string, error)

	// AuthenticationSchemes are advertised in ServiceProviderConfig.
	// Default: the bearer token scheme alone.
	AuthenticationSchemes []AuthenticationScheme

	// DocumentationURI is advertised as ServiceProviderConfig.documentationUri
	// when set.
	DocumentationURI string

	// Logger receives one line per request and the cause of every internal
	// error. Nil means slog.Default().
	Logger *slog.Logger
}

// Handler serves SCIM 2.0 over HTTP. Create it with New; it is safe for
// concurrent use.
type Handler struct {
	cfg    Config
	store  scimd.Store
	reg    *schema.Registry
	log    *slog.Logger
	hash   func(string) (string, error)
	base   string // cleaned BasePath: "" for the root, else "/x/y"
	extURL string // cleaned ExternalURL without trailing slash, or ""
	mux    *http.ServeMux
	types  []*schema.ResourceType

	translate scimd.ErrorTranslator // the store's, or nil

	resolver    *Resolver
	tenantLimit *ratelimit.Limiter  // nil: none
	credLimit   *ratelimit.Limiter  // nil: none
	failures    *ratelimit.Failures // nil: no throttling
	inFlight    chan struct{}       // nil: no cap
}

// New validates cfg, fills in defaults and returns a Handler.
func New(cfg Config) (*Handler, error) {
	if cfg.Store == nil {
		return nil, errors.New("scimhttp: Config.Store is required")
	}
	if cfg.Auth == nil {
		return nil, errors.New("scimhttp: Config.Auth is required (no anonymous access)")
	}
	if cfg.Registry == nil {
		cfg.Registry = schema.DefaultRegistry()
	}
	if cfg.BasePath == "" {
		cfg.BasePath = DefaultBasePath
	}
	base, err := cleanBasePath(cfg.BasePath)
	if err != nil {
		return nil, err
	}
	ext, err := cleanExternalURL(cfg.ExternalURL)
	if err != nil {
		return nil, err
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.MaxPageSize <= 0 {
		cfg.MaxPageSize = DefaultMaxPageSize
	}
	if cfg.DefaultPageSize <= 0 {
		cfg.DefaultPageSize = DefaultPageSize
	}
	if cfg.DefaultPageSize > cfg.MaxPageSize {
		cfg.DefaultPageSize = cfg.MaxPageSize
	}
	if cfg.MaxGroupMembersInResponse == 0 {
		cfg.MaxGroupMembersInResponse = DefaultMaxGroupMembersInResponse
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.HashPassword == nil {
		cfg.HashPassword = defaultHashPassword
	}
	h := &Handler{
		cfg:    cfg,
		store:  cfg.Store,
		reg:    cfg.Registry,
		log:    cfg.Logger,
		hash:   cfg.HashPassword,
		base:   base,
		extURL: ext,
		types:  cfg.Registry.ResourceTypes(),
	}
	h.translate, _ = cfg.Store.(scimd.ErrorTranslator)
	if len(h.types) == 0 {
		return nil, errors.New("scimhttp: the registry serves no resource types")
	}
	for _, rt := range h.types {
		if !strings.HasPrefix(rt.Endpoint, "/") || strings.Count(rt.Endpoint, "/") != 1 || len(rt.Endpoint) < 2 {
			return nil, fmt.Errorf("scimhttp: resource type %q has endpoint %q, want \"/Name\"", rt.Name, rt.Endpoint)
		}
	}
	if err := h.limits(); err != nil {
		return nil, err
	}
	h.routes()
	return h, nil
}

// limits sets up tenant resolution and the rate limits of h.cfg.
func (h *Handler) limits() error {
	cfg := &h.cfg
	rs, err := NewResolver(cfg.Tenants, cfg.TrustedProxies)
	if err != nil {
		return err
	}
	h.resolver = rs
	burst := func(rate float64, b int) int {
		if b > 0 {
			return b
		}
		return max(1, int(2*rate))
	}
	if cfg.TenantRate > 0 {
		h.tenantLimit = ratelimit.New(cfg.TenantRate, burst(cfg.TenantRate, cfg.TenantBurst))
	}
	if cfg.CredentialRate > 0 {
		h.credLimit = ratelimit.New(cfg.CredentialRate, burst(cfg.CredentialRate, cfg.CredentialBurst))
	}
	if cfg.AuthFailureLimit > 0 {
		if cfg.AuthFailureWindow <= 0 {
			cfg.AuthFailureWindow = time.Minute
		}
		if cfg.AuthFailureBackoff <= 0 {
			cfg.AuthFailureBackoff = time.Minute
		}
		h.failures = ratelimit.NewFailures(cfg.AuthFailureLimit, cfg.AuthFailureWindow, cfg.AuthFailureBackoff)
	}
	if cfg.MaxInFlight > 0 {
		h.inFlight = make(chan struct{}, cfg.MaxInFlight)
	}
	return nil
}

// Resolver returns the Resolver the Handler routes requests to tenants
// with, for handlers served beside it.
func (h *Handler) Resolver() *Resolver { return h.resolver }

func cleanBasePath(p string) (string, error) {
	if !strings.HasPrefix(p, "/") {
		return "", fmt.Errorf("scimhttp: BasePath %q must start with /", p)
	}
	if strings.ContainsAny(p, "{}?#") {
		return "", fmt.Errorf("scimhttp: BasePath %q contains a reserved character", p)
	}
	return strings.TrimRight(collapseSlashes(p), "/"), nil
}

func cleanExternalURL(s string) (string, error) {
	if s == "" {
		return "", nil
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("scimhttp: ExternalURL %q must be an absolute http(s) URL without query or fragment", s)
	}
	return strings.TrimRight(s, "/"), nil
}

// TenantFrom returns the tenant the Authenticator resolved for the request
// whose context is ctx, or "" outside a Handler.
func TenantFrom(ctx context.Context) string {
	if st := stateFrom(ctx); st != nil && st.authed {
		return st.principal.Tenant
	}
	return ""
}

// RequestIDFrom returns the request id of the request whose context is ctx
// (the X-Request-Id the client sent, if usable, else a generated one), or "".
func RequestIDFrom(ctx context.Context) string {
	if st := stateFrom(ctx); st != nil {
		return st.id
	}
	return ""
}
