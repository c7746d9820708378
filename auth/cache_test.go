package auth_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/scimd/scimd"
	"github.com/scimd/scimd/auth"
)

// countingTokens counts Token lookups and hides the store's ChangeCounter
// (as a store in another process would: its changes are not seen).
type countingTokens struct {
	scimd.TokenStore
	n int
}

func (c *countingTokens) Token(ctx context.Context, id string) (*scimd.Token, error) {
	c.n++
	return c.TokenStore.Token(ctx, id)
}

type plainTenants struct{ scimd.TenantStore }

func TestBearerCache(t *testing.T) {
	ctx := context.Background()
	db := openDB(t)
	now := time.Now().UTC()
	clock := now
	tok, rec := auth.NewToken("t1", "okta", time.Time{}, now)
	if err := db.CreateToken(ctx, rec); err != nil {
		t.Fatal(err)
	}
	short, srec := auth.NewToken("t1", "short", now.Add(2*time.Second), now)
	if err := db.CreateToken(ctx, srec); err != nil {
		t.Fatal(err)
	}
	status := func(b *auth.Bearer, tok string) int {
		t.Helper()
		_, err := b.Authenticate(request("Bearer " + tok))
		if err == nil {
			return http.StatusOK
		}
		return scimd.StatusOf(err)
	}

	t.Run("OtherProcess", func(t *testing.T) {
		toks := &countingTokens{TokenStore: db}
		b := &auth.Bearer{Tokens: toks, Tenants: plainTenants{db}, Now: func() time.Time { return clock }, CacheTTL: 5 * time.Second}
		clock = now
		for range 3 {
			if st := status(b, tok); st != http.StatusOK {
				t.Fatalf("status %d", st)
			}
		}
		if toks.n != 1 {
			t.Errorf("%d token lookups for 3 requests, want 1", toks.n)
		}
		if st := status(b, tok+"x"); st != http.StatusUnauthorized {
			t.Errorf("wrong secret: %d", st)
		}
		// A cached entry never outlives the token.
		if st := status(b, short); st != http.StatusOK {
			t.Fatalf("short: %d", st)
		}
		clock = now.Add(2 * time.Second)
		if st := status(b, short); st != http.StatusUnauthorized {
			t.Errorf("expired token while cached: %d", st)
		}
		// Revoked where the cache cannot see it: accepted until the TTL.
		if err := db.RevokeToken(ctx, "t1", rec.ID); err != nil {
			t.Fatal(err)
		}
		if st := status(b, tok); st != http.StatusOK {
			t.Errorf("within the TTL: %d, want 200 (cached)", st)
		}
		clock = now.Add(5 * time.Second)
		if st := status(b, tok); st != http.StatusUnauthorized {
			t.Errorf("after the TTL: %d, want 401", st)
		}
	})

	t.Run("SameProcess", func(t *testing.T) {
		tok, rec := auth.NewToken("t2", "entra", time.Time{}, now)
		if err := db.CreateToken(ctx, rec); err != nil {
			t.Fatal(err)
		}
		b := &auth.Bearer{Tokens: db, Tenants: db, Now: func() time.Time { return now }, CacheTTL: time.Hour}
		if st := status(b, tok); st != http.StatusOK {
			t.Fatalf("status %d", st)
		}
		if _, err := db.UpdateTenant(ctx, "t2", func(tn *scimd.Tenant) error { tn.Disabled = true; return nil }); err != nil {
			t.Fatal(err)
		}
		if st := status(b, tok); st != http.StatusUnauthorized {
			t.Errorf("disabled tenant: %d, want 401 at once", st)
		}
		if _, err := db.UpdateTenant(ctx, "t2", func(tn *scimd.Tenant) error { tn.Disabled = false; return nil }); err != nil {
			t.Fatal(err)
		}
		if st := status(b, tok); st != http.StatusOK {
			t.Fatalf("enabled again: %d", st)
		}
		if err := db.RevokeToken(ctx, "t2", rec.ID); err != nil {
			t.Fatal(err)
		}
		if st := status(b, tok); st != http.StatusUnauthorized {
			t.Errorf("revoked: %d, want 401 at once", st)
		}
	})
}
