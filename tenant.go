package scimd

import (
	"context"
	"time"
)

// Tenant is one IdP org served by scimd. Every resource belongs to exactly
// one tenant.
type Tenant struct {
	ID       string // stable identifier, used in every store call
	Name     string // unique, human-chosen (e.g. "acme")
	Disabled bool
	Created  time.Time
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
// Errors: NotFound for a missing tenant, Conflict for a duplicate name.
type TenantStore interface {
	CreateTenant(ctx context.Context, t *Tenant) error
	Tenant(ctx context.Context, id string) (*Tenant, error)
	TenantByName(ctx context.Context, name string) (*Tenant, error)
	Tenants(ctx context.Context) ([]*Tenant, error)
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
