package auth_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/scimd/scimd"
	"github.com/scimd/scimd/auth"
	"github.com/scimd/scimd/schema"
	"github.com/scimd/scimd/sqlite"
)

func openDB(t testing.TB) *sqlite.DB {
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, ":memory:", schema.DefaultRegistry())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	for _, id := range []string{"t1", "t2"} {
		if err := db.CreateTenant(ctx, &scimd.Tenant{ID: id, Name: id, Created: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	return db
}

func request(header string) *http.Request {
	r, _ := http.NewRequest("GET", "http://127.0.0.1/scim/v2/Users", nil)
	if header != "" {
		r.Header.Set("Authorization", header)
	}
	return r
}

func TestBearer(t *testing.T) {
	ctx := context.Background()
	db := openDB(t)
	now := time.Now().UTC()
	b := &auth.Bearer{Tokens: db, Tenants: db, Now: func() time.Time { return now }}

	good, rec := auth.NewToken("t1", "okta", time.Time{}, now)
	if err := db.CreateToken(ctx, rec); err != nil {
		t.Fatal(err)
	}
	expired, rec := auth.NewToken("t1", "old", now.Add(-time.Second), now.Add(-time.Hour))
	if err := db.CreateToken(ctx, rec); err != nil {
		t.Fatal(err)
	}
	revoked, rec := auth.NewToken("t2", "gone", time.Time{}, now)
	if err := db.CreateToken(ctx, rec); err != nil {
		t.Fatal(err)
	}
	if err := db.RevokeToken(ctx, "t2", rec.ID); err != nil {
		t.Fatal(err)
	}
	custom, err := auth.TokenFromValue("t2", "bootstrap", "an-operator-chosen-token", now)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.CreateToken(ctx, custom); err != nil {
		t.Fatal(err)
	}

	// A stored hash is not the secret.
	if strings.Contains(good, string(rec.Hash)) {
		t.Fatal("hash appears in token")
	}

	tampered := good[:len(good)-2] + "AA"
	if tampered == good {
		tampered = good[:len(good)-2] + "BB"
	}
	for _, tc := range []struct {
		name, header, tenant string
	}{
		{"OK", "Bearer " + good, "t1"},
		{"OKLowerScheme", "bearer " + good, "t1"},
		{"OKCustomValue", "Bearer an-operator-chosen-token", "t2"},
		{"OKBareScimdToken", good, "t1"},
		{"ErrBareOtherToken", "an-operator-chosen-token", ""},
		{"ErrMissing", "", ""},
		{"ErrBasic", "Basic " + good, ""},
		{"ErrEmpty", "Bearer ", ""},
		{"ErrTampered", "Bearer " + tampered, ""},
		{"ErrUnknown", "Bearer scimd_0123456789abcdef_xyz", ""},
		{"ErrExpired", "Bearer " + expired, ""},
		{"ErrRevoked", "Bearer " + revoked, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := b.Authenticate(request(tc.header))
			if tc.tenant == "" {
				if scimd.StatusOf(err) != http.StatusUnauthorized {
					t.Fatalf("err = %v, want 401", err)
				}
				return
			}
			if err != nil || got != tc.tenant {
				t.Fatalf("Authenticate = %q, %v; want %q", got, err, tc.tenant)
			}
		})
	}

	t.Run("LastUsedRecorded", func(t *testing.T) {
		keyID := strings.Split(strings.TrimPrefix(good, "scimd_"), "_")[0]
		tok, err := db.Token(ctx, keyID)
		if err != nil {
			t.Fatal(err)
		}
		if tok.LastUsed.IsZero() {
			t.Error("LastUsed not recorded")
		}
	})
}

func TestPassword(t *testing.T) {
	h, err := auth.HashPassword("Tq9v2mLa")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") || strings.Contains(h, "Tq9v2mLa") {
		t.Fatalf("hash %q", h)
	}
	h2, _ := auth.HashPassword("Tq9v2mLa")
	if h == h2 {
		t.Error("two hashes of one password are equal: no salt")
	}
	for _, tc := range []struct {
		pw   string
		want bool
	}{{"Tq9v2mLa", true}, {"tq9v2mla", false}, {"", false}} {
		got, err := auth.CheckPassword(h, tc.pw)
		if err != nil || got != tc.want {
			t.Errorf("CheckPassword(%q) = %v, %v; want %v", tc.pw, got, err, tc.want)
		}
	}
	if _, err := auth.CheckPassword("$2a$10$notargon", "x"); err == nil {
		t.Error("CheckPassword accepted a non-argon2id hash")
	}
}

func BenchmarkHashPassword(b *testing.B) {
	for b.Loop() {
		if _, err := auth.HashPassword("Tq9v2mLa"); err != nil {
			b.Fatal(err)
		}
	}
}
