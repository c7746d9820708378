package storetest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/scimd/scimd"
)

// CredentialBackend is a store that keeps tenants and the Basic and OAuth
// credentials of RunCredentials.
type CredentialBackend interface {
	scimd.TenantStore
	scimd.CredentialStore
}

// RunCredentials is the shared suite for scimd.CredentialStore: Basic
// credentials, OAuth clients, codes, tokens (rotation, replay, revocation)
// and connect codes, tenant scoping included. open returns a fresh store
// whose clock is now; the suite creates tenants "t1" and "t2" itself.
func RunCredentials(t *testing.T, open func(t *testing.T, now func() time.Time) CredentialBackend) {
	ctx := context.Background()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	db := open(t, func() time.Time { return now })
	for _, id := range []string{"t1", "t2"} {
		if err := db.CreateTenant(ctx, &scimd.Tenant{ID: id, Name: id, Created: now}); err != nil {
			t.Fatal(err)
		}
	}
	var s scimd.CredentialStore = db
	wantStatus := func(what string, err error, status int) {
		t.Helper()
		if scimd.StatusOf(err) != status {
			t.Fatalf("%s: %v, want status %d", what, err, status)
		}
	}

	t.Run("Basic", func(t *testing.T) {
		c := &scimd.BasicCredential{ID: "b1", Tenant: "t1", Username: "okta", Hash: "$argon2id$x"}
		if err := s.CreateBasicCredential(ctx, c); err != nil {
			t.Fatal(err)
		}
		if c.Created.IsZero() {
			t.Error("Created not set")
		}
		wantStatus("duplicate username", s.CreateBasicCredential(ctx, &scimd.BasicCredential{ID: "b2", Tenant: "t1", Username: "okta", Hash: "h"}), 409)
		if err := s.CreateBasicCredential(ctx, &scimd.BasicCredential{ID: "b3", Tenant: "t2", Username: "okta", Hash: "h"}); err != nil {
			t.Fatal("same username, other tenant:", err)
		}
		got, err := s.BasicCredentialByUsername(ctx, "t1", "okta")
		if err != nil || got.ID != "b1" || got.Hash != "$argon2id$x" {
			t.Fatalf("%v %+v", err, got)
		}
		wantStatus("revoke across tenants", s.RevokeBasicCredential(ctx, "t2", "b1"), 404)
		if err := s.RevokeBasicCredential(ctx, "t1", "b1"); err != nil {
			t.Fatal(err)
		}
		_, err = s.BasicCredentialByUsername(ctx, "t1", "okta")
		wantStatus("revoked", err, 404)
		if err := s.CreateBasicCredential(ctx, &scimd.BasicCredential{ID: "b4", Tenant: "t1", Username: "okta", Hash: "h"}); err != nil {
			t.Fatal("username after revocation:", err)
		}
		if err := s.TouchBasicCredential(ctx, "b4", now); err != nil {
			t.Fatal(err)
		}
		list, err := s.BasicCredentials(ctx, "t1")
		if err != nil || len(list) != 2 || !list[0].Revoked || !list[1].LastUsed.Equal(now) {
			t.Fatalf("%v %+v", err, list)
		}
	})

	t.Run("Clients", func(t *testing.T) {
		c := &scimd.OAuthClient{ID: "c1", Tenant: "t1", Name: "Okta", SecretHash: []byte{1, 2},
			RedirectURIs: []string{"https://a/cb", "https://b/cb"}, Grants: []string{scimd.GrantAuthorizationCode}, OktaApp: "acme"}
		if err := s.CreateOAuthClient(ctx, c); err != nil {
			t.Fatal(err)
		}
		wantStatus("duplicate", s.CreateOAuthClient(ctx, c), 409)
		got, err := s.OAuthClient(ctx, "t1", "c1")
		if err != nil || !slices.Equal(got.RedirectURIs, c.RedirectURIs) || !got.HasGrant(scimd.GrantAuthorizationCode) ||
			got.OktaApp != "acme" || string(got.SecretHash) != "\x01\x02" {
			t.Fatalf("%v %+v", err, got)
		}
		_, err = s.OAuthClient(ctx, "t2", "c1")
		wantStatus("client of another tenant", err, 404)
		list, err := s.OAuthClients(ctx, "t2")
		if err != nil || len(list) != 0 {
			t.Fatalf("t2 clients: %v %v", err, list)
		}
	})

	t.Run("Codes", func(t *testing.T) {
		code := &scimd.OAuthCode{ID: "k1", Tenant: "t1", ClientID: "c1", Hash: []byte{9}, RedirectURI: "https://a/cb",
			Scope: "scim", Challenge: "ch", ChallengeMethod: "S256", Family: "f1", Created: now, Expires: now.Add(time.Minute)}
		if err := s.CreateOAuthCode(ctx, code); err != nil {
			t.Fatal(err)
		}
		_, err := s.RedeemOAuthCode(ctx, "t2", "k1", nil)
		wantStatus("redeem across tenants", err, 404)
		// An error from issue rolls back: the code stays unused.
		_, err = s.RedeemOAuthCode(ctx, "t1", "k1", func(*scimd.OAuthCode) ([]*scimd.OAuthToken, error) {
			return nil, errors.New("boom")
		})
		if err == nil || err.Error() != "boom" {
			t.Fatalf("issue error: %v", err)
		}
		// Of many concurrent redemptions exactly one is the first, and
		// its tokens exist by the time any other returns.
		var wg sync.WaitGroup
		var mu sync.Mutex
		first := 0
		for i := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				id := fmt.Sprintf("code-at-%d", i)
				prev, err := s.RedeemOAuthCode(ctx, "t1", "k1", func(c *scimd.OAuthCode) ([]*scimd.OAuthToken, error) {
					return []*scimd.OAuthToken{{ID: id, Tenant: "t1", ClientID: c.ClientID, Kind: scimd.OAuthAccessToken,
						Hash: []byte{1}, Family: c.Family, Scope: c.Scope, Created: now, Expires: now.Add(time.Hour)}}, nil
				})
				if err != nil {
					t.Error(err)
					return
				}
				if !prev.Used {
					mu.Lock()
					first++
					mu.Unlock()
				} else if err := s.RevokeOAuthFamily(ctx, "t1", prev.Family); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		if first != 1 {
			t.Fatalf("%d first uses", first)
		}
		n := 0
		for i := range 8 {
			if tok, err := s.OAuthToken(ctx, fmt.Sprintf("code-at-%d", i)); err == nil {
				n++
				if !tok.Revoked || tok.Family != "f1" {
					t.Fatalf("token of a replayed code: %+v", tok)
				}
			}
		}
		if n != 1 {
			t.Fatalf("%d tokens issued", n)
		}
		got, err := s.OAuthCode(ctx, "k1")
		if err != nil || !got.Used || got.Challenge != "ch" || !got.Expires.Equal(now.Add(time.Minute)) {
			t.Fatalf("%v %+v", err, got)
		}
		// issue may spend a code without issuing anything.
		code2 := *code
		code2.ID, code2.Family, code2.Used = "k2", "f2", false
		if err := s.CreateOAuthCode(ctx, &code2); err != nil {
			t.Fatal(err)
		}
		if _, err := s.RedeemOAuthCode(ctx, "t1", "k2", func(*scimd.OAuthCode) ([]*scimd.OAuthToken, error) { return nil, nil }); err != nil {
			t.Fatal(err)
		}
		if prev, err := s.RedeemOAuthCode(ctx, "t1", "k2", nil); err != nil || !prev.Used {
			t.Fatalf("spent code: %v %+v", err, prev)
		}
	})

	t.Run("Tokens", func(t *testing.T) {
		tok := func(id, kind, family string) *scimd.OAuthToken {
			return &scimd.OAuthToken{ID: id, Tenant: "t1", ClientID: "c1", Kind: kind, Hash: []byte(id), Family: family,
				Scope: "scim", Created: now, Expires: now.Add(time.Hour)}
		}
		if err := s.CreateOAuthTokens(ctx, tok("a1", scimd.OAuthAccessToken, "f1"), tok("r1", scimd.OAuthRefreshToken, "f1"),
			tok("a9", scimd.OAuthAccessToken, "f9")); err != nil {
			t.Fatal(err)
		}
		wantStatus("rotate across tenants", s.RotateOAuthRefreshToken(ctx, "t2", "r1"), 409)
		wantStatus("rotate an access token", s.RotateOAuthRefreshToken(ctx, "t1", "a1"), 409)
		var wg sync.WaitGroup
		var mu sync.Mutex
		ok := 0
		for i := range 6 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				id := string(rune('m' + i))
				err := s.RotateOAuthRefreshToken(ctx, "t1", "r1", tok("a-"+id, scimd.OAuthAccessToken, "f1"), tok("r-"+id, scimd.OAuthRefreshToken, "f1"))
				if err == nil {
					mu.Lock()
					ok++
					mu.Unlock()
				} else if scimd.StatusOf(err) != http.StatusConflict {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		if ok != 1 {
			t.Fatalf("%d successful rotations", ok)
		}
		r1, err := s.OAuthToken(ctx, "r1")
		if err != nil || !r1.Rotated || r1.Revoked {
			t.Fatalf("%v %+v", err, r1)
		}
		if err := s.RevokeOAuthFamily(ctx, "t2", "f1"); err != nil {
			t.Fatal(err)
		}
		if a1, _ := s.OAuthToken(ctx, "a1"); a1.Revoked {
			t.Fatal("family revoked through another tenant")
		}
		if err := s.RevokeOAuthFamily(ctx, "t1", "f1"); err != nil {
			t.Fatal(err)
		}
		for _, id := range []string{"a1", "r1"} {
			if tk, _ := s.OAuthToken(ctx, id); !tk.Revoked {
				t.Fatalf("%s not revoked with its family", id)
			}
		}
		if code, _ := s.OAuthCode(ctx, "k1"); !code.Used {
			t.Fatal("family's code not spent")
		}
		if a9, _ := s.OAuthToken(ctx, "a9"); a9.Revoked {
			t.Fatal("other family revoked")
		}
		wantStatus("revoke across tenants", s.RevokeOAuthToken(ctx, "t2", "a9"), 404)
		if err := s.RevokeOAuthClient(ctx, "t1", "c1"); err != nil {
			t.Fatal(err)
		}
		if a9, _ := s.OAuthToken(ctx, "a9"); !a9.Revoked {
			t.Fatal("client revocation left a token")
		}
		if c, _ := s.OAuthClient(ctx, "t1", "c1"); !c.Revoked {
			t.Fatal("client not revoked")
		}
	})

	t.Run("Admin and connect codes", func(t *testing.T) {
		_, err := s.OAuthAdminPassword(ctx, "t1")
		wantStatus("no password", err, 404)
		for _, h := range []string{"h1", "h2"} {
			if err := s.SetOAuthAdminPassword(ctx, "t1", h); err != nil {
				t.Fatal(err)
			}
		}
		if h, err := s.OAuthAdminPassword(ctx, "t1"); err != nil || h != "h2" {
			t.Fatalf("%v %q", err, h)
		}
		_, err = s.OAuthAdminPassword(ctx, "t2")
		wantStatus("other tenant's password", err, 404)

		for _, c := range []*scimd.OAuthConnectCode{
			{ID: "cc1", Tenant: "t1", Hash: []byte{1}, Created: now, Expires: now.Add(15 * time.Minute)},
			{ID: "cc2", Tenant: "t1", Hash: []byte{2}, Created: now, Expires: now.Add(time.Minute)},
			{ID: "cc3", Tenant: "t2", Hash: []byte{3}, Created: now, Expires: now.Add(15 * time.Minute)},
		} {
			if err := s.CreateOAuthConnectCode(ctx, c); err != nil {
				t.Fatal(err)
			}
		}
		live, err := s.OAuthConnectCodes(ctx, "t1", now.Add(2*time.Minute))
		if err != nil || len(live) != 1 || live[0].ID != "cc1" {
			t.Fatalf("%v %+v", err, live)
		}
		wantStatus("use across tenants", s.UseOAuthConnectCode(ctx, "t2", "cc1"), 404)
		if err := s.UseOAuthConnectCode(ctx, "t1", "cc1"); err != nil {
			t.Fatal(err)
		}
		wantStatus("second use", s.UseOAuthConnectCode(ctx, "t1", "cc1"), 404)
	})
}
