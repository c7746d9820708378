// Package auth authenticates SCIM clients and hashes secrets.
//
// Bearer tokens look like scimd_<16 hex key id>_<43 base64url secret>. The
// key id is stored in clear so a token is found by one indexed lookup; only
// the SHA-256 of the secret is stored, and it is compared in constant time.
// Tokens are 256-bit random values, so a fast hash is the right tool: a slow
// password hash adds nothing against brute force of a random 256-bit value.
// Tokens in another format (an operator-chosen SCIMD_BOOTSTRAP_TOKEN) are
// stored under a key id derived from their hash.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/scimd/scimd"
)

const tokenPrefix = "scimd_"

// NewToken generates a new bearer token for tenant. It returns the token
// string, to be shown once, and the record to store.
func NewToken(tenant, name string, expires time.Time, now time.Time) (string, *scimd.Token) {
	var id [8]byte
	var secret [32]byte
	mustRead(id[:])
	mustRead(secret[:])
	keyID := hex.EncodeToString(id[:])
	sec := base64.RawURLEncoding.EncodeToString(secret[:])
	tok := tokenPrefix + keyID + "_" + sec
	return tok, &scimd.Token{
		ID:      keyID,
		Tenant:  tenant,
		Name:    name,
		Hash:    hashSecret(sec),
		Created: now,
		Expires: expires,
	}
}

// TokenFromValue returns the record for an operator-chosen token value (such
// as SCIMD_BOOTSTRAP_TOKEN). A value in scimd's own format keeps its key id.
func TokenFromValue(tenant, name, value string, now time.Time) (*scimd.Token, error) {
	if len(value) < 16 {
		return nil, fmt.Errorf("token value too short: want at least 16 characters")
	}
	keyID, secret := splitToken(value)
	return &scimd.Token{ID: keyID, Tenant: tenant, Name: name, Hash: hashSecret(secret), Created: now}, nil
}

// splitToken returns the key id and secret of a presented token.
func splitToken(tok string) (keyID, secret string) {
	if rest, ok := strings.CutPrefix(tok, tokenPrefix); ok && len(rest) > 17 && rest[16] == '_' && isHex(rest[:16]) {
		return rest[:16], rest[17:]
	}
	sum := sha256.Sum256([]byte(tok))
	return "x" + hex.EncodeToString(sum[:])[:15], tok
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

func hashSecret(secret string) []byte {
	sum := sha256.Sum256([]byte(secret))
	return sum[:]
}

func mustRead(b []byte) {
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
}

// Bearer authenticates requests carrying "Authorization: Bearer <token>".
type Bearer struct {
	Tokens  scimd.TokenStore
	Tenants scimd.TenantStore
	Logger  *slog.Logger
	Now     func() time.Time

	// CacheTTL, when positive, keeps each successful verification in
	// memory for that long (never past the token's expiry), so that a
	// busy client costs no store lookup per request. A token revoked or a
	// tenant disabled by another process (the scimd CLI, another
	// instance) is then still accepted for up to CacheTTL; in this
	// process the change takes effect at once when the stores implement
	// ChangeCounter (scimd's SQLite and PostgreSQL stores do) or Flush is
	// called. Failures are never cached. Zero: no cache.
	CacheTTL time.Duration
	// CacheSize bounds the cached verifications (default
	// DefaultCacheSize).
	CacheSize int

	mu      sync.Mutex
	touched map[string]time.Time // last recorded use per token, to limit writes
	cache   verifyCache
}

// Unauthorized returns the 401 error every failed authentication gets. The
// detail never says which part failed.
func Unauthorized() *scimd.Error {
	return scimd.Errorf(http.StatusUnauthorized, "", "Authentication failed: a valid bearer token is required")
}

// Authenticate returns the tenant the request's bearer token grants access
// to, or a 401 *scimd.Error.
func (b *Bearer) Authenticate(r *http.Request) (string, error) {
	h := strings.TrimSpace(r.Header.Get("Authorization"))
	scheme, tok, ok := strings.Cut(h, " ")
	switch {
	case ok && strings.EqualFold(scheme, "Bearer"):
		return b.Verify(r.Context(), strings.TrimSpace(tok))
	case !ok && strings.HasPrefix(h, tokenPrefix):
		// Okta's "HTTP Header" authentication sends the header value the
		// admin typed; accept a bare scimd token without the scheme.
		return b.Verify(r.Context(), h)
	default:
		return "", Unauthorized()
	}
}

// Verify checks a token string and returns its tenant.
func (b *Bearer) Verify(ctx context.Context, tok string) (string, error) {
	if tok == "" {
		return "", Unauthorized()
	}
	var (
		key [sha256.Size]byte
		gen uint64
	)
	if b.CacheTTL > 0 {
		key, gen = sha256.Sum256([]byte(tok)), b.changes()
		now := b.now()
		if v, ok := b.cache.get(key, now, gen); ok {
			b.touch(ctx, v.tokenID, now)
			return v.tenant, nil
		}
	}
	keyID, secret := splitToken(tok)
	got := hashSecret(secret)
	rec, err := b.Tokens.Token(ctx, keyID)
	if err != nil {
		if scimd.StatusOf(err) == http.StatusNotFound {
			// Compare anyway so a missing key id costs the same as a wrong secret.
			subtle.ConstantTimeCompare(got, got)
			return "", Unauthorized()
		}
		return "", fmt.Errorf("look up token: %w", err)
	}
	if subtle.ConstantTimeCompare(got, rec.Hash) != 1 {
		return "", Unauthorized()
	}
	now := b.now()
	if rec.Revoked || (!rec.Expires.IsZero() && !now.Before(rec.Expires)) {
		return "", Unauthorized()
	}
	t, err := b.Tenants.Tenant(ctx, rec.Tenant)
	if err != nil {
		if scimd.StatusOf(err) == http.StatusNotFound {
			return "", Unauthorized()
		}
		return "", fmt.Errorf("look up tenant: %w", err)
	}
	if t.Disabled {
		return "", Unauthorized()
	}
	if b.CacheTTL > 0 {
		until := now.Add(b.CacheTTL)
		if !rec.Expires.IsZero() && rec.Expires.Before(until) {
			until = rec.Expires
		}
		size := b.CacheSize
		if size <= 0 {
			size = DefaultCacheSize
		}
		b.cache.put(key, verified{tenant: rec.Tenant, tokenID: rec.ID, until: until, gen: gen}, size, now)
	}
	b.touch(ctx, rec.ID, now)
	return rec.Tenant, nil
}

// touch records a token's use at most once a minute per token.
func (b *Bearer) touch(ctx context.Context, id string, now time.Time) {
	b.mu.Lock()
	if b.touched == nil {
		b.touched = map[string]time.Time{}
	}
	last, ok := b.touched[id]
	if ok && now.Sub(last) < time.Minute {
		b.mu.Unlock()
		return
	}
	b.touched[id] = now
	b.mu.Unlock()
	if err := b.Tokens.TouchToken(ctx, id, now); err != nil && b.Logger != nil {
		b.Logger.Warn("record token use", "token_id", id, "err", err)
	}
}

func (b *Bearer) now() time.Time {
	if b.Now != nil {
		return b.Now()
	}
	return time.Now()
}
