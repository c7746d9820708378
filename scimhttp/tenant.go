package scimhttp

import (
	"context"
	"fmt"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/scimd/scimd"
	"github.com/scimd/scimd/internal/proxy"
)

// TenantPathPrefix introduces a tenant name in a path-routed request:
// /t/{tenant}/scim/v2/Users reaches tenant {tenant}'s /scim/v2/Users.
const TenantPathPrefix = "/t/"

// Route is what a request addresses before anyone has authenticated it:
// the tenant named by its host or path, and the parts of its public URL.
type Route struct {
	// Tenant is the tenant the request's host or path names, or nil when
	// neither does (then the credential's tenant applies).
	Tenant *scimd.Tenant
	// ByHost reports that the host named Tenant.
	ByHost bool
	// Prefix is "/t/{tenant}" when the path named Tenant, else "".
	Prefix string
	// Path is the request path with Prefix removed.
	Path string
	// Scheme ("http" or "https") and Host (with port, if any) are those the
	// client used: from the connection, or from X-Forwarded-Proto and
	// X-Forwarded-Host when the peer is a trusted proxy.
	Scheme string
	Host   string
	// ClientIP is the client's address (see proxy.Trusted.ClientIP).
	ClientIP string
}

// BaseURL returns the URL at which the request's tenant is served, without
// the SCIM base path and without a trailing slash: scheme, host and, for a
// path-routed request, the /t/{tenant} prefix.
func (rt *Route) BaseURL() string {
	return rt.Scheme + "://" + safeHost(rt.Host) + rt.Prefix
}

// safeHost returns host, or "localhost" if host is empty or holds a
// character that could change the meaning of a URL built from it.
func safeHost(host string) string {
	if host == "" || strings.ContainsAny(host, "/ \\\"<>?#@") {
		return "localhost"
	}
	return host
}

// Resolver finds the tenant a request addresses, by its Host or by the
// path prefix /t/{tenant}, believing X-Forwarded-* headers only from
// trusted proxies. The SCIM Handler uses one; other handlers served beside
// it (an OAuth authorization server, for instance) use Handler.Resolver so
// that they route requests exactly as the SCIM endpoints do.
type Resolver struct {
	tenants scimd.TenantStore
	proxy   *proxy.Trusted
}

// NewResolver returns a Resolver looking tenants up in tenants (nil: no
// request names a tenant) and trusting the proxies at trustedProxies (CIDR
// prefixes or addresses; none: no one).
func NewResolver(tenants scimd.TenantStore, trustedProxies []string) (*Resolver, error) {
	p, err := proxy.ParseCIDRs(trustedProxies)
	if err != nil {
		return nil, fmt.Errorf("scimhttp: trusted proxies: %w", err)
	}
	return &Resolver{tenants: tenants, proxy: p}, nil
}

// Failures of Resolve. Both are 401s with the detail every failed
// authentication gets, so that a client learns nothing of which tenants
// exist or are disabled.
var (
	errUnknownTenant  = unauthorized()
	errTenantDisabled = unauthorized()
)

func unauthorized() *scimd.Error {
	return scimd.Errorf(http.StatusUnauthorized, "", "Authentication failed: a valid credential for this tenant is required")
}

// Resolve returns the Route of r. A tenant named by the path that does not
// exist, a disabled tenant, and a host and a path that name different
// tenants are 401 *scimd.Error values; other errors are the store's.
//
// The host names a tenant when it is one of the tenant's Hosts (compared
// case-insensitively, port ignored); the path names one when it begins with
// /t/{name}. A host that is no tenant's is not an error: the request then
// names no tenant, unless its path does.
func (rs *Resolver) Resolve(r *http.Request) (*Route, error) {
	rt := new(Route)
	err := rs.resolve(r, rt)
	return rt, err
}

// resolve is Resolve into rt, which the Handler keeps in its request state.
func (rs *Resolver) resolve(r *http.Request, rt *Route) error {
	*rt = Route{Path: r.URL.Path, Scheme: "http", Host: r.Host, ClientIP: r.RemoteAddr}
	if rs == nil {
		if r.TLS != nil {
			rt.Scheme = "https"
		}
		return nil
	}
	rt.Scheme, rt.Host, rt.ClientIP = rs.proxy.Scheme(r), rs.proxy.Host(r), rs.proxy.ClientIP(r)
	if rs.tenants == nil {
		return nil
	}
	ctx := r.Context()
	var byPath *scimd.Tenant
	if name, rest, ok := SplitTenantPath(r.URL.Path); ok {
		t, err := rs.tenants.TenantByName(ctx, name)
		if statusOf(err) == http.StatusNotFound {
			return errUnknownTenant
		}
		if err != nil {
			return fmt.Errorf("resolve tenant by path: %w", err)
		}
		byPath, rt.Prefix, rt.Path = t, TenantPathPrefix+name, rest
	}
	byHost, err := rs.tenants.TenantByHost(ctx, rt.Host)
	switch {
	case statusOf(err) == http.StatusNotFound:
		byHost = nil
	case err != nil:
		return fmt.Errorf("resolve tenant by host: %w", err)
	}
	switch {
	case byHost != nil && byPath != nil && byHost.ID != byPath.ID:
		return errUnknownTenant
	case byHost != nil:
		rt.Tenant, rt.ByHost = byHost, true
	default:
		rt.Tenant = byPath
	}
	if rt.Tenant != nil && rt.Tenant.Disabled {
		return errTenantDisabled
	}
	return nil
}

// TenantID returns the id of the tenant r addresses, or fallback when r
// names no tenant by host or path. Inside a Handler (for instance from an
// Authenticator) it uses the Route already resolved; elsewhere it resolves
// r. Its errors are those of Resolve. It suits hooks such as
// auth.Basic.ResolveTenant and oauth.Config.ResolveTenant, with fallback
// scimd.DefaultTenant for single-tenant deployments.
func (rs *Resolver) TenantID(r *http.Request, fallback string) (string, error) {
	rt := RouteFrom(r.Context())
	if rt == nil {
		var err error
		if rt, err = rs.Resolve(r); err != nil {
			return "", err
		}
	}
	if rt.Tenant == nil {
		return fallback, nil
	}
	return rt.Tenant.ID, nil
}

// SplitTenantPath splits a path of the form /t/{name}/rest into name and
// /rest ("/" when nothing follows the name). ok is false when the path does
// not start with TenantPathPrefix or the name is empty.
func SplitTenantPath(path string) (name, rest string, ok bool) {
	after, found := strings.CutPrefix(path, TenantPathPrefix)
	if !found {
		return "", "", false
	}
	name, rest, _ = strings.Cut(after, "/")
	if name == "" {
		return "", "", false
	}
	return name, "/" + rest, true
}

// failureKey returns the key under which failed authentications from the
// request's client are counted: its address (an IPv6 address by its /64
// network, since one client commonly holds a whole /64) and the tenant the
// request names. Counting per tenant keeps one misconfigured IdP org from
// throttling the other orgs that reach scimd from the same IdP addresses.
func failureKey(rt *Route) string {
	ip := rt.ClientIP
	if a, err := netip.ParseAddr(ip); err == nil && a.Is6() && !a.Is4In6() {
		if p, err := a.Prefix(64); err == nil {
			ip = p.String()
		}
	}
	if rt.Tenant != nil {
		return ip + "|" + rt.Tenant.ID
	}
	return ip + "|"
}

// RouteFrom returns the Route of the request whose context is ctx, or nil
// outside a Handler.
func RouteFrom(ctx context.Context) *Route {
	if st := stateFrom(ctx); st != nil && st.routed {
		return &st.route
	}
	return nil
}

// PrincipalFrom returns who the request whose context is ctx was
// authenticated as. Credential and Kind are empty when the Authenticator
// is not a PrincipalAuthenticator.
func PrincipalFrom(ctx context.Context) scimd.Principal {
	if st := stateFrom(ctx); st != nil && st.authed {
		return st.principal
	}
	return scimd.Principal{}
}

// TenantCache is a scimd.TenantStore that remembers, for TTL, the answers
// of Tenant, TenantByName and TenantByHost — found or not found — so that
// routing and checking the tenant of every request costs no store lookup.
// Writes go to the store and drop the whole cache.
//
// A tenant disabled, deleted or given another host by another process (the
// scimd CLI, another instance) is seen within TTL. In this process a change
// takes effect at once: through the TenantCache itself, or through any
// handle of a store that implements auth.ChangeCounter (an AuthChanges()
// uint64 method; scimd's SQLite and PostgreSQL stores do), whose count the
// cache compares with the one it saw when it stored an entry.
//
// Cached tenants are shared: callers must not modify them.
type TenantCache struct {
	scimd.TenantStore
	ttl  time.Duration
	size int

	flushs atomic.Uint64 // writes through the cache; read on every lookup without the lock

	mu     sync.Mutex
	byID   map[string]tenantEntry
	byName map[string]tenantEntry
	byHost map[string]tenantEntry
}

type tenantEntry struct {
	t     *scimd.Tenant // nil with err: not found
	err   error
	until time.Time
	gen   uint64
}

// DefaultTenantCacheSize bounds each of a TenantCache's maps.
const DefaultTenantCacheSize = 4096

// NewTenantCache returns a TenantCache over ts keeping answers for ttl.
func NewTenantCache(ts scimd.TenantStore, ttl time.Duration) *TenantCache {
	return &TenantCache{TenantStore: ts, ttl: ttl, size: DefaultTenantCacheSize}
}

// AuthChanges implements auth.ChangeCounter: the store's count plus the
// writes made through the cache.
func (c *TenantCache) AuthChanges() uint64 {
	n := c.flushs.Load()
	if cc, ok := c.TenantStore.(interface{ AuthChanges() uint64 }); ok {
		n += cc.AuthChanges()
	}
	return n
}

// Flush drops every cached answer.
func (c *TenantCache) Flush() {
	c.mu.Lock()
	c.flushs.Add(1)
	c.byID, c.byName, c.byHost = nil, nil, nil
	c.mu.Unlock()
}

// Kinds of TenantCache lookup.
const (
	byID = iota
	byName
	byHost
)

// lookup answers the lookup of kind by key (for byHost, the canonical
// host; host is the host as given), from the cache when it can. It takes
// the kind rather than a loading closure so that a hit allocates nothing.
func (c *TenantCache) lookup(ctx context.Context, kind int, key, host string) (*scimd.Tenant, error) {
	if c.ttl <= 0 {
		return c.load(ctx, kind, key, host)
	}
	gen, now := c.AuthChanges(), time.Now()
	c.mu.Lock()
	m := c.mapOf(kind)
	e, ok := (*m)[key]
	c.mu.Unlock()
	if ok && e.gen == gen && now.Before(e.until) {
		if e.t == nil {
			return nil, e.err
		}
		return e.t, nil
	}
	t, err := c.load(ctx, kind, key, host)
	if err != nil && statusOf(err) != http.StatusNotFound {
		return nil, err
	}
	c.mu.Lock()
	m = c.mapOf(kind)
	if *m == nil || len(*m) >= c.size {
		*m = map[string]tenantEntry{}
	}
	(*m)[key] = tenantEntry{t: t, err: err, until: now.Add(c.ttl), gen: gen}
	c.mu.Unlock()
	return t, err
}

// mapOf returns the map of kind; c.mu must be held.
func (c *TenantCache) mapOf(kind int) *map[string]tenantEntry {
	switch kind {
	case byName:
		return &c.byName
	case byHost:
		return &c.byHost
	}
	return &c.byID
}

// load asks the store.
func (c *TenantCache) load(ctx context.Context, kind int, key, host string) (*scimd.Tenant, error) {
	switch kind {
	case byName:
		return c.TenantStore.TenantByName(ctx, key)
	case byHost:
		return c.TenantStore.TenantByHost(ctx, host)
	}
	return c.TenantStore.Tenant(ctx, key)
}

// Tenant implements scimd.TenantStore, cached.
func (c *TenantCache) Tenant(ctx context.Context, id string) (*scimd.Tenant, error) {
	return c.lookup(ctx, byID, id, "")
}

// TenantByName implements scimd.TenantStore, cached.
func (c *TenantCache) TenantByName(ctx context.Context, name string) (*scimd.Tenant, error) {
	return c.lookup(ctx, byName, name, "")
}

// TenantByHost implements scimd.TenantStore, cached by canonical host.
func (c *TenantCache) TenantByHost(ctx context.Context, host string) (*scimd.Tenant, error) {
	return c.lookup(ctx, byHost, scimd.CanonicalHost(host), host)
}

// CreateTenant implements scimd.TenantStore and drops the cache.
func (c *TenantCache) CreateTenant(ctx context.Context, t *scimd.Tenant) error {
	defer c.Flush()
	return c.TenantStore.CreateTenant(ctx, t)
}

// UpdateTenant implements scimd.TenantStore and drops the cache.
func (c *TenantCache) UpdateTenant(ctx context.Context, id string, fn func(*scimd.Tenant) error) (*scimd.Tenant, error) {
	defer c.Flush()
	return c.TenantStore.UpdateTenant(ctx, id, fn)
}

// DeleteTenant implements scimd.TenantStore and drops the cache.
func (c *TenantCache) DeleteTenant(ctx context.Context, id string) error {
	defer c.Flush()
	return c.TenantStore.DeleteTenant(ctx, id)
}
