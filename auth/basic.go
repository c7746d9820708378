package auth

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/scimd/scimd"
)

// Defaults of Basic's cache settings.
const (
	DefaultBasicCacheTTL  = 5 * time.Minute
	DefaultBasicCacheSize = 4096
)

// NewBasicCredential generates a password for username in tenant. It
// returns the password, to be shown once, and the record to store (holding
// only the argon2id hash). The password is 32 characters of base64url, 192
// random bits.
func NewBasicCredential(tenant, username string, now time.Time) (string, *scimd.BasicCredential, error) {
	if err := ValidateUsername(username); err != nil {
		return "", nil, err
	}
	var id [8]byte
	var secret [24]byte
	mustRead(id[:])
	mustRead(secret[:])
	password := base64.RawURLEncoding.EncodeToString(secret[:])
	hash, err := HashPassword(password)
	if err != nil {
		return "", nil, err
	}
	return password, &scimd.BasicCredential{
		ID:       hex.EncodeToString(id[:]),
		Tenant:   tenant,
		Username: username,
		Hash:     hash,
		Created:  now,
	}, nil
}

// ValidateUsername checks a Basic username: 1 to 128 printable characters,
// no colon (RFC 7617 §2 splits user-id and password at the first colon).
func ValidateUsername(u string) error {
	if u == "" || len(u) > 128 {
		return errors.New("username must have 1 to 128 characters")
	}
	for _, r := range u {
		if r == ':' || !unicode.IsPrint(r) {
			return fmt.Errorf("username %q: colons and non-printable characters are not allowed", u)
		}
	}
	return nil
}

// Basic authenticates requests carrying "Authorization: Basic …" against the
// Basic credentials of the request's tenant. The tenant comes from the
// request (ResolveTenant), since a username is unique only within its
// tenant.
//
// Passwords are stored as argon2id hashes, which cost about 20 ms and 19 MiB
// to check, on purpose. An IdP sends the same credentials with every request,
// so Basic remembers successful verifications for CacheTTL: the cache key is
// the SHA-256 of the credential's id, its stored hash and the presented
// password, so a changed or replaced password never hits an old entry, and
// the cache holds no password. Revocation and disabled tenants still take
// effect on the next request, because the credential and tenant records are
// read every time (cheap indexed lookups). Failures are never cached: every
// wrong password pays the full argon2id cost. The cache is bounded by
// CacheSize entries.
type Basic struct {
	Store   scimd.BasicCredentialStore
	Tenants scimd.TenantStore
	// ResolveTenant returns the id of the tenant the request is for (from
	// its Host or path). Nil means every request is for
	// scimd.DefaultTenant. An error that is a *scimd.Error is returned as
	// is; others are treated as internal errors.
	ResolveTenant func(r *http.Request) (string, error)
	Logger        *slog.Logger
	Now           func() time.Time
	// CacheTTL is how long a successful verification is remembered.
	// Zero means DefaultBasicCacheTTL; negative disables the cache.
	CacheTTL time.Duration
	// CacheSize bounds the number of remembered verifications. Zero
	// means DefaultBasicCacheSize.
	CacheSize int

	mu      sync.Mutex
	cache   map[[sha256.Size]byte]time.Time // verification key → expiry
	touched map[string]time.Time
}

// dummyHash is checked against when a username is unknown, so that a
// missing user costs as much as a wrong password.
var dummyHash = sync.OnceValue(func() string {
	h, _ := HashPassword("scimd-dummy-password")
	return h
})

func basicUnauthorized() *scimd.Error {
	return scimd.Errorf(http.StatusUnauthorized, "", "Authentication failed: valid credentials are required")
}

// Claims reports whether the request uses the Basic scheme.
func (b *Basic) Claims(r *http.Request) bool {
	scheme, _, _ := strings.Cut(strings.TrimSpace(r.Header.Get("Authorization")), " ")
	return strings.EqualFold(scheme, "Basic")
}

// Authenticate returns the request's tenant when the request carries valid
// Basic credentials of that tenant, or a 401 *scimd.Error.
func (b *Basic) Authenticate(r *http.Request) (string, error) {
	username, password, ok := parseBasic(r.Header.Get("Authorization"))
	if !ok {
		return "", basicUnauthorized()
	}
	tenant := scimd.DefaultTenant
	if b.ResolveTenant != nil {
		var err error
		if tenant, err = b.ResolveTenant(r); err != nil {
			return "", err
		}
	}
	return b.Verify(r.Context(), tenant, username, password)
}

// parseBasic decodes an RFC 7617 Basic header value.
func parseBasic(h string) (username, password string, ok bool) {
	scheme, payload, found := strings.Cut(strings.TrimSpace(h), " ")
	if !found || !strings.EqualFold(scheme, "Basic") {
		return "", "", false
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(payload))
	if err != nil {
		return "", "", false
	}
	username, password, ok = strings.Cut(string(raw), ":")
	if !ok || username == "" || password == "" {
		return "", "", false
	}
	return username, password, true
}

// Verify checks a username and password of tenant.
func (b *Basic) Verify(ctx context.Context, tenant, username, password string) (string, error) {
	t, err := b.Tenants.Tenant(ctx, tenant)
	if err != nil {
		if scimd.StatusOf(err) == http.StatusNotFound {
			return "", basicUnauthorized()
		}
		return "", fmt.Errorf("look up tenant: %w", err)
	}
	if t.Disabled {
		return "", basicUnauthorized()
	}
	cred, err := b.Store.BasicCredentialByUsername(ctx, tenant, username)
	if err != nil {
		if scimd.StatusOf(err) == http.StatusNotFound {
			_, _ = CheckPassword(dummyHash(), password)
			return "", basicUnauthorized()
		}
		return "", fmt.Errorf("look up basic credential: %w", err)
	}
	if cred.Revoked || cred.Tenant != tenant {
		return "", basicUnauthorized()
	}
	now := b.now()
	key := basicCacheKey(cred, password)
	if !b.cached(key, now) {
		ok, err := CheckPassword(cred.Hash, password)
		if err != nil {
			return "", fmt.Errorf("check basic credential %s: %w", cred.ID, err)
		}
		if !ok {
			return "", basicUnauthorized()
		}
		b.remember(key, now)
	}
	b.touch(ctx, cred.ID, now)
	return tenant, nil
}

func basicCacheKey(c *scimd.BasicCredential, password string) [sha256.Size]byte {
	h := sha256.New()
	h.Write([]byte(c.ID))
	h.Write([]byte{0})
	h.Write([]byte(c.Hash))
	h.Write([]byte{0})
	h.Write([]byte(password))
	var k [sha256.Size]byte
	h.Sum(k[:0])
	return k
}

func (b *Basic) ttl() time.Duration {
	if b.CacheTTL == 0 {
		return DefaultBasicCacheTTL
	}
	return b.CacheTTL
}

func (b *Basic) cached(key [sha256.Size]byte, now time.Time) bool {
	if b.ttl() < 0 {
		return false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	exp, ok := b.cache[key]
	if ok && now.Before(exp) {
		return true
	}
	if ok {
		delete(b.cache, key)
	}
	return false
}

func (b *Basic) remember(key [sha256.Size]byte, now time.Time) {
	ttl := b.ttl()
	if ttl < 0 {
		return
	}
	size := b.CacheSize
	if size <= 0 {
		size = DefaultBasicCacheSize
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.cache == nil {
		b.cache = map[[sha256.Size]byte]time.Time{}
	}
	if len(b.cache) >= size {
		for k, exp := range b.cache {
			if !now.Before(exp) {
				delete(b.cache, k)
			}
		}
		// Still full: drop arbitrary entries (map order); they will
		// simply be verified again.
		for k := range b.cache {
			if len(b.cache) < size {
				break
			}
			delete(b.cache, k)
		}
	}
	b.cache[key] = now.Add(ttl)
}

// touch records a credential's use at most once a minute.
func (b *Basic) touch(ctx context.Context, id string, now time.Time) {
	b.mu.Lock()
	if b.touched == nil {
		b.touched = map[string]time.Time{}
	}
	if last, ok := b.touched[id]; ok && now.Sub(last) < time.Minute {
		b.mu.Unlock()
		return
	}
	if len(b.touched) > 100000 {
		clear(b.touched)
	}
	b.touched[id] = now
	b.mu.Unlock()
	if err := b.Store.TouchBasicCredential(ctx, id, now); err != nil && b.Logger != nil {
		b.Logger.Warn("record basic credential use", "credential_id", id, "err", err)
	}
}

func (b *Basic) now() time.Time {
	if b.Now != nil {
		return b.Now()
	}
	return time.Now()
}
