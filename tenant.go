package scimd

import (
	"context"
	"net"
	"strings"
	"time"
)

// Tenant is one IdP org served by scimd. Every resource belongs to exactly
// one tenant.
type Tenant struct {
	ID       string // stable identifier, used in every store call
	Name     string // unique, human-chosen (e.g. "acme")
	Disabled bool
	Created  time.Time
	// Hosts are the host names that address the tenant (e.g.
	// "acme.scim.example.com"), in canonical form (see CanonicalHost). A
	// host belongs to at most one tenant.
	Hosts []string
}

// CanonicalHost returns host as tenants store and match it: without a port
// or a trailing dot, lower-cased. IPv6 literals lose their brackets.
func CanonicalHost(host string) string {
	host = strings.TrimSpace(host)
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	} else if strings.HasPrefix(host, "[") && strings.HasSuffix(host, "]") {
		host = host[1 : len(host)-1]
	}
	return strings.ToLower(strings.TrimSuffix(host, "."))
}

// Principal is who a request was authenticated as: a tenant and the
// credential that proved it.
type Principal struct {
	Tenant     string // tenant id
	Credential string // credential id (never a secret), "" if unknown
	Kind       string // credential kind: "bearer", "basic", "oauth", …
}

// Token is a bearer credential. Only a hash of its secret is stored.
type Token struct {
	ID       string    // public key id, part of the token string
	Tenant   string    // the tenant the token grants access to
	Name     string    // label chosen by the admin ("okta-prod")
	Hash     []byte    // SHA-256 of the secret part
	Created  time.Time //
	Expires  time.Time // zero: never
	LastUsed time.Time // zero: never used
	Revoked  bool
}

// TenantStore keeps tenants.
//
// Errors: NotFound for a missing tenant, Conflict for a duplicate name or a
// host that another tenant already has.
type TenantStore interface {
	// CreateTenant stores t, with its Hosts (canonicalised).
	CreateTenant(ctx context.Context, t *Tenant) error
	Tenant(ctx context.Context, id string) (*Tenant, error)
	TenantByName(ctx context.Context, name string) (*Tenant, error)
	// TenantByHost returns the tenant one of whose Hosts is host, compared
	// after CanonicalHost (so case and port do not matter).
	TenantByHost(ctx context.Context, host string) (*Tenant, error)
	// Tenants returns every tenant, by name.
	Tenants(ctx context.Context) ([]*Tenant, error)
	// UpdateTenant runs fn on the tenant with the given id inside a
	// transaction and stores what fn left in Name, Disabled and Hosts
	// (ID and Created cannot change). An error from fn aborts the update
	// and is returned as is. It returns the updated tenant.
	UpdateTenant(ctx context.Context, id string, fn func(*Tenant) error) (*Tenant, error)
	// DeleteTenant deletes the tenant and, in the same transaction, all of
	// its data: resources, memberships, indexes, tokens and every other
	// credential.
	DeleteTenant(ctx context.Context, id string) error
}

// TokenStore keeps bearer tokens.
//
// Errors: NotFound for a missing token.
type TokenStore interface {
	CreateToken(ctx context.Context, t *Token) error
	// Token returns a token by its key id, revoked or not.
	Token(ctx context.Context, id string) (*Token, error)
	Tokens(ctx context.Context, tenant string) ([]*Token, error)
	RevokeToken(ctx context.Context, tenant, id string) error
	// TouchToken records a use of the token (best effort, may be batched).
	TouchToken(ctx context.Context, id string, at time.Time) error
}
