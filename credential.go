package scimd

import (
	"context"
	"slices"
	"time"
)

// BasicCredential is a username and password for HTTP Basic authentication
// (Okta's "Basic Auth" option). The username is unique among a tenant's
// credentials that are not revoked; the tenant itself comes from the
// request (its Host or path), not from the credential.
type BasicCredential struct {
	ID       string // random identifier, shown by "scimd basic list"
	Tenant   string
	Username string
	Hash     string // argon2id PHC string of the password (see auth.HashPassword)
	Created  time.Time
	LastUsed time.Time // zero: never used
	Revoked  bool
}

// OAuth 2.0 grant types an OAuthClient may be allowed (RFC 6749).
const (
	GrantAuthorizationCode = "authorization_code"
	GrantRefreshToken      = "refresh_token"
	GrantClientCredentials = "client_credentials"
)

// OAuthClient is a confidential OAuth 2.0 client registered with a tenant's
// authorization server: Okta (authorization code) or Entra ID (client
// credentials). Only a hash of its secret is stored.
type OAuthClient struct {
	ID           string // client_id; public
	Tenant       string
	Name         string   // shown on the consent page ("Okta")
	SecretHash   []byte   // SHA-256 of the client secret
	RedirectURIs []string // compared exactly, byte for byte
	Grants       []string // Grant* constants
	OktaApp      string   // Okta OIN appName the default redirect URIs were made for, or ""
	Created      time.Time
	Revoked      bool
}

// HasGrant reports whether the client may use grant type g.
func (c *OAuthClient) HasGrant(g string) bool { return slices.Contains(c.Grants, g) }

// HasRedirectURI reports whether uri is one of the client's redirect URIs,
// by exact string comparison (RFC 6749 §3.1.2.3, no normalisation).
func (c *OAuthClient) HasRedirectURI(uri string) bool { return slices.Contains(c.RedirectURIs, uri) }

// OAuthCode is an authorization code issued by the authorization endpoint.
// Only a hash of its secret part is stored. A code is single-use: Used is
// set the first time it is presented at the token endpoint.
type OAuthCode struct {
	ID              string // key id, part of the code string
	Tenant          string
	ClientID        string
	Hash            []byte // SHA-256 of the secret part
	RedirectURI     string // the redirect_uri of the authorization request
	Scope           string // granted scope
	Challenge       string // PKCE code_challenge, "" when none was sent
	ChallengeMethod string // "S256" or "plain", "" when no challenge
	Family          string // grant id: every token issued from this code carries it
	Created         time.Time
	Expires         time.Time
	Used            bool
}

// Kinds of OAuthToken.
const (
	OAuthAccessToken  = "access"
	OAuthRefreshToken = "refresh"
)

// OAuthToken is an access or refresh token issued by the token endpoint.
// Only a hash of its secret part is stored. Tokens issued from one
// authorization code, and every refresh token rotated from them, share a
// Family, so a replayed refresh token can revoke all of them at once.
type OAuthToken struct {
	ID       string // key id, part of the token string
	Tenant   string
	ClientID string
	Kind     string // OAuthAccessToken or OAuthRefreshToken
	Hash     []byte // SHA-256 of the secret part
	Family   string
	Scope    string
	Created  time.Time
	Expires  time.Time
	LastUsed time.Time // zero: never used
	Rotated  bool      // refresh tokens: exchanged already (a second use is a replay)
	Revoked  bool
}

// OAuthConnectCode is a one-time code that "scimd oauth connect-code"
// prints, with which a tenant admin may sign in to the consent page once.
// Only its hash is stored.
type OAuthConnectCode struct {
	ID      string
	Tenant  string
	Hash    []byte // SHA-256 of the normalised code
	Created time.Time
	Expires time.Time
	Used    bool
}

// BasicCredentialStore keeps Basic credentials.
//
// Errors: NotFound for a missing credential; Conflict when a tenant already
// has an unrevoked credential with the same username.
type BasicCredentialStore interface {
	CreateBasicCredential(ctx context.Context, c *BasicCredential) error
	// BasicCredentialByUsername returns the tenant's unrevoked credential
	// with the username (compared exactly), or NotFound.
	BasicCredentialByUsername(ctx context.Context, tenant, username string) (*BasicCredential, error)
	// BasicCredentials lists the tenant's credentials, revoked ones
	// included, oldest first.
	BasicCredentials(ctx context.Context, tenant string) ([]*BasicCredential, error)
	RevokeBasicCredential(ctx context.Context, tenant, id string) error
	// TouchBasicCredential records a use (best effort, may be coarse).
	TouchBasicCredential(ctx context.Context, id string, at time.Time) error
}

// OAuthStore keeps the state of the per-tenant OAuth 2.0 authorization
// server. Every method that takes a tenant acts only on that tenant's
// records: a record of another tenant is NotFound.
//
// Errors: NotFound for a missing record; Conflict for a duplicate id, and
// from RotateOAuthRefreshToken when the token was already rotated or
// revoked.
type OAuthStore interface {
	CreateOAuthClient(ctx context.Context, c *OAuthClient) error
	// OAuthClient returns a client of the tenant, revoked or not.
	OAuthClient(ctx context.Context, tenant, id string) (*OAuthClient, error)
	// OAuthClients lists the tenant's clients, oldest first.
	OAuthClients(ctx context.Context, tenant string) ([]*OAuthClient, error)
	// RevokeOAuthClient revokes the client and every token issued to it.
	RevokeOAuthClient(ctx context.Context, tenant, id string) error

	CreateOAuthCode(ctx context.Context, c *OAuthCode) error
	// OAuthCode returns a code by key id, whatever its tenant or state.
	OAuthCode(ctx context.Context, id string) (*OAuthCode, error)
	// RedeemOAuthCode marks the tenant's code used and returns it as it
	// was before, so Used reports whether this is a second use. When it
	// was unused, issue is called with it inside the same transaction and
	// the tokens it returns are stored there too: a concurrent second
	// redemption sees the code used only once those tokens exist, so a
	// family revocation it triggers reaches them. issue may return no
	// tokens (the code is then simply spent); an error from issue rolls
	// everything back and is returned. issue may be called more than once
	// (a backend may retry the transaction) and must not block.
	RedeemOAuthCode(ctx context.Context, tenant, id string, issue func(*OAuthCode) ([]*OAuthToken, error)) (*OAuthCode, error)

	// CreateOAuthTokens stores tokens in one transaction.
	CreateOAuthTokens(ctx context.Context, ts ...*OAuthToken) error
	// OAuthToken returns a token by key id, whatever its tenant or state.
	OAuthToken(ctx context.Context, id string) (*OAuthToken, error)
	// RotateOAuthRefreshToken marks the tenant's refresh token id rotated
	// and stores the tokens issued in its place, in one transaction. It
	// fails with Conflict, storing nothing, when the token is already
	// rotated or revoked (of two concurrent calls at most one succeeds).
	RotateOAuthRefreshToken(ctx context.Context, tenant, id string, issued ...*OAuthToken) error
	// RevokeOAuthToken revokes one token of the tenant.
	RevokeOAuthToken(ctx context.Context, tenant, id string) error
	// RevokeOAuthFamily revokes every token of a family and marks its
	// code used. Revoking an empty family is not an error.
	RevokeOAuthFamily(ctx context.Context, tenant, family string) error
	// TouchOAuthToken records a use (best effort, may be coarse).
	TouchOAuthToken(ctx context.Context, id string, at time.Time) error

	// SetOAuthAdminPassword sets the argon2id hash of the tenant admin's
	// password for the consent page.
	SetOAuthAdminPassword(ctx context.Context, tenant, hash string) error
	// OAuthAdminPassword returns the hash, or NotFound when none is set.
	OAuthAdminPassword(ctx context.Context, tenant string) (string, error)

	CreateOAuthConnectCode(ctx context.Context, c *OAuthConnectCode) error
	// OAuthConnectCodes returns the tenant's connect codes that are unused
	// and not expired at now.
	OAuthConnectCodes(ctx context.Context, tenant string, now time.Time) ([]*OAuthConnectCode, error)
	// UseOAuthConnectCode marks a connect code used. It fails with
	// NotFound when the code is missing or already used.
	UseOAuthConnectCode(ctx context.Context, tenant, id string) error
}

// CredentialStore keeps every credential other than bearer tokens.
type CredentialStore interface {
	BasicCredentialStore
	OAuthStore
}
