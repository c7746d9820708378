package oauth

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/scimd/scimd"
	"github.com/scimd/scimd/auth"
)

// Access authenticates SCIM requests carrying an access token issued by a
// Handler ("Authorization: Bearer scimd_at_…"). The token is looked up and
// checked on every request, so revocation, rotation replays and disabled
// tenants take effect at once.
type Access struct {
	Store   scimd.OAuthStore
	Tenants scimd.TenantStore
	// ResolveTenant, if set, returns the tenant the request is addressed
	// to; a token of another tenant is then refused. Nil: the token's
	// tenant is returned.
	ResolveTenant func(r *http.Request) (string, error)
	Logger        *slog.Logger
	Now           func() time.Time

	mu      sync.Mutex
	touched map[string]time.Time
}

// Claims reports whether the request carries a Bearer token that looks
// like an access token of this package.
func (a *Access) Claims(r *http.Request) bool {
	_, ok := bearerAccessToken(r)
	return ok
}

func bearerAccessToken(r *http.Request) (string, bool) {
	scheme, tok, ok := strings.Cut(strings.TrimSpace(r.Header.Get("Authorization")), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	tok = strings.TrimSpace(tok)
	return tok, strings.HasPrefix(tok, AccessTokenPrefix)
}

// Authenticate returns the tenant of the request's access token, or the
// 401 *scimd.Error of auth.Unauthorized.
func (a *Access) Authenticate(r *http.Request) (string, error) {
	tok, ok := bearerAccessToken(r)
	if !ok {
		return "", auth.Unauthorized()
	}
	tenant, err := a.Verify(r.Context(), tok)
	if err != nil {
		return "", err
	}
	if a.ResolveTenant != nil {
		want, err := a.ResolveTenant(r)
		if err != nil {
			return "", err
		}
		if want != tenant {
			return "", auth.Unauthorized()
		}
	}
	return tenant, nil
}

// Verify checks an access token string and returns its tenant.
func (a *Access) Verify(ctx context.Context, tok string) (string, error) {
	id, sum, ok := splitOpaque(AccessTokenPrefix, tok)
	if !ok {
		return "", auth.Unauthorized()
	}
	rec, err := a.Store.OAuthToken(ctx, id)
	if err != nil {
		if scimd.StatusOf(err) == http.StatusNotFound {
			equal(sum, sum)
			return "", auth.Unauthorized()
		}
		return "", fmt.Errorf("look up access token: %w", err)
	}
	now := a.now()
	if !equal(sum, rec.Hash) || rec.Kind != scimd.OAuthAccessToken || rec.Revoked || !now.Before(rec.Expires) {
		return "", auth.Unauthorized()
	}
	t, err := a.Tenants.Tenant(ctx, rec.Tenant)
	if err != nil {
		if scimd.StatusOf(err) == http.StatusNotFound {
			return "", auth.Unauthorized()
		}
		return "", fmt.Errorf("look up tenant: %w", err)
	}
	if t.Disabled {
		return "", auth.Unauthorized()
	}
	a.touch(ctx, rec.ID, now)
	return rec.Tenant, nil
}

// touch records a token's use at most once a minute per token.
func (a *Access) touch(ctx context.Context, id string, now time.Time) {
	a.mu.Lock()
	if a.touched == nil {
		a.touched = map[string]time.Time{}
	}
	if last, ok := a.touched[id]; ok && now.Sub(last) < time.Minute {
		a.mu.Unlock()
		return
	}
	if len(a.touched) > 100000 {
		clear(a.touched) // access tokens are short-lived; forget them all
	}
	a.touched[id] = now
	a.mu.Unlock()
	if err := a.Store.TouchOAuthToken(ctx, id, now); err != nil && a.Logger != nil {
		a.Logger.Warn("record access token use", "token_id", id, "err", err)
	}
}

func (a *Access) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}
