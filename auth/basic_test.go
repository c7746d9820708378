package auth_test

import (
	"context"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/scimd/scimd"
	"github.com/scimd/scimd/auth"
	"github.com/scimd/scimd/schema"
	"github.com/scimd/scimd/sqlite"
)

// countingStore counts BasicCredentialByUsername calls, to show the
// records are read on every request even when the cache answers.
type countingStore struct {
	scimd.BasicCredentialStore
	mu      sync.Mutex
	lookups int
}

func (s *countingStore) BasicCredentialByUsername(ctx context.Context, tenant, username string) (*scimd.BasicCredential, error) {
	s.mu.Lock()
	s.lookups++
	s.mu.Unlock()
	return s.BasicCredentialStore.BasicCredentialByUsername(ctx, tenant, username)
}

// basicServer serves /t/{tenant}/scim/v2/... authenticated by auth.Any of
// Basic and Bearer, answering the tenant.
func basicServer(t *testing.T) (*sqlite.DB, *auth.Basic, string) {
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, ":memory:", schema.DefaultRegistry())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	for _, tn := range []scimd.Tenant{{ID: "t1", Name: "acme"}, {ID: "t2", Name: "globex"}, {ID: "t3", Name: "off", Disabled: true}} {
		if err := db.CreateTenant(ctx, &tn); err != nil {
			t.Fatal(err)
		}
	}
	resolve := func(r *http.Request) (string, error) {
		parts := strings.Split(r.URL.Path, "/")
		if len(parts) < 3 {
			return "", scimd.NotFound("no tenant")
		}
		return parts[2], nil
	}
	basic := &auth.Basic{Store: &countingStore{BasicCredentialStore: db}, Tenants: db, ResolveTenant: resolve}
	a := auth.Any(basic, &auth.Bearer{Tokens: db, Tenants: db})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tenant, err := a.Authenticate(r)
		if err != nil {
			http.Error(w, err.Error(), scimd.StatusOf(err))
			return
		}
		io.WriteString(w, tenant)
	}))
	t.Cleanup(srv.Close)
	return db, basic, srv.URL
}

func call(t *testing.T, url, authz string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if authz != "" {
		req.Header.Set("Authorization", authz)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(b))
}

func basicHeader(user, pass string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
}

func TestBasic(t *testing.T) {
	ctx := context.Background()
	db, basic, base := basicServer(t)
	now := time.Now().UTC()
	pass, rec, err := auth.NewBasicCredential("t1", "okta", now)
	if err != nil {
		t.Fatal(err)
	}
	if len(pass) != 32 || strings.Contains(rec.Hash, pass) || !strings.HasPrefix(rec.Hash, "$argon2id$") {
		t.Fatalf("password %q hash %q", pass, rec.Hash)
	}
	if err := db.CreateBasicCredential(ctx, rec); err != nil {
		t.Fatal(err)
	}
	// Same username in another tenant, different password.
	pass2, rec2, _ := auth.NewBasicCredential("t2", "okta", now)
	if err := db.CreateBasicCredential(ctx, rec2); err != nil {
		t.Fatal(err)
	}
	// A duplicate live username in one tenant is a conflict.
	_, dup, _ := auth.NewBasicCredential("t1", "okta", now)
	if err := db.CreateBasicCredential(ctx, dup); scimd.StatusOf(err) != http.StatusConflict {
		t.Fatalf("duplicate username: %v", err)
	}
	// A bearer token of t1 still works beside Basic.
	tok, trec := auth.NewToken("t1", "okta", time.Time{}, now)
	if err := db.CreateToken(ctx, trec); err != nil {
		t.Fatal(err)
	}

	t1, t2 := base+"/t/t1/scim/v2/Users", base+"/t/t2/scim/v2/Users"
	for _, tc := range []struct {
		name, url, authz string
		status           int
		tenant           string
	}{
		{"OK", t1, basicHeader("okta", pass), 200, "t1"},
		{"OK lower-case scheme", t1, "basic " + base64.StdEncoding.EncodeToString([]byte("okta:"+pass)), 200, "t1"},
		{"OK other tenant", t2, basicHeader("okta", pass2), 200, "t2"},
		{"OK bearer beside", t1, "Bearer " + tok, 200, "t1"},
		{"wrong password", t1, basicHeader("okta", pass+"x"), 401, ""},
		{"unknown user", t1, basicHeader("nobody", pass), 401, ""},
		{"case of username", t1, basicHeader("OKTA", pass), 401, ""},
		{"cross-tenant password", t2, basicHeader("okta", pass), 401, ""},
		{"disabled tenant", base + "/t/t3/scim/v2/Users", basicHeader("okta", pass), 401, ""},
		{"unknown tenant", base + "/t/t9/scim/v2/Users", basicHeader("okta", pass), 401, ""},
		{"no colon", t1, "Basic " + base64.StdEncoding.EncodeToString([]byte("okta"+pass)), 401, ""},
		{"empty password", t1, basicHeader("okta", ""), 401, ""},
		{"bad base64", t1, "Basic !!!", 401, ""},
		{"no header", t1, "", 401, ""},
		{"other scheme", t1, "Digest x", 401, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, body := call(t, tc.url, tc.authz)
			if st != tc.status || (tc.tenant != "" && body != tc.tenant) {
				t.Fatalf("got %d %q, want %d %q", st, body, tc.status, tc.tenant)
			}
		})
	}

	// The cache answers repeated requests quickly, yet the record is
	// read every time, so revocation takes effect at once.
	store := basic.Store.(*countingStore)
	start := time.Now()
	for range 20 {
		if st, _ := call(t, t1, basicHeader("okta", pass)); st != 200 {
			t.Fatal(st)
		}
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("20 cached Basic requests took %v", d)
	}
	store.mu.Lock()
	n := store.lookups
	store.mu.Unlock()
	if n < 20 {
		t.Errorf("%d lookups for 20+ requests: records not re-read", n)
	}
	if err := db.RevokeBasicCredential(ctx, "t1", rec.ID); err != nil {
		t.Fatal(err)
	}
	if st, _ := call(t, t1, basicHeader("okta", pass)); st != 401 {
		t.Fatalf("revoked credential: %d", st)
	}
	// A new credential for the same username, after revocation, works
	// with its own password only.
	pass3, rec3, _ := auth.NewBasicCredential("t1", "okta", now.Add(time.Second))
	if err := db.CreateBasicCredential(ctx, rec3); err != nil {
		t.Fatal(err)
	}
	if st, _ := call(t, t1, basicHeader("okta", pass)); st != 401 {
		t.Fatalf("old password after re-creation: %d", st)
	}
	if st, _ := call(t, t1, basicHeader("okta", pass3)); st != 200 {
		t.Fatalf("new password: %d", st)
	}
	creds, err := db.BasicCredentials(ctx, "t1")
	if err != nil || len(creds) != 2 || !creds[0].Revoked || creds[1].Revoked || creds[1].LastUsed.IsZero() {
		t.Fatalf("list: %v %+v", err, creds)
	}
}

func TestBasicCacheBound(t *testing.T) {
	ctx := context.Background()
	db, _, _ := basicServer(t)
	b := &auth.Basic{Store: db, Tenants: db, CacheSize: 2, ResolveTenant: func(*http.Request) (string, error) { return "t1", nil }}
	var passes []string
	for _, u := range []string{"a", "b", "c"} {
		p, rec, _ := auth.NewBasicCredential("t1", u, time.Now())
		if err := db.CreateBasicCredential(ctx, rec); err != nil {
			t.Fatal(err)
		}
		passes = append(passes, p)
	}
	for i, u := range []string{"a", "b", "c", "a"} {
		if _, err := b.Verify(ctx, "t1", u, passes[i%3]); err != nil {
			t.Fatal(u, err)
		}
	}
	if _, err := b.Verify(ctx, "t1", "a", "wrong"); scimd.StatusOf(err) != 401 {
		t.Fatalf("wrong password: %v", err)
	}
}

func TestValidateUsername(t *testing.T) {
	for _, u := range []string{"", "a:b", "tab\there", strings.Repeat("x", 129)} {
		if auth.ValidateUsername(u) == nil {
			t.Errorf("%q accepted", u)
		}
	}
	for _, u := range []string{"okta", "okta-prod@acme.example", "Ünïcode"} {
		if err := auth.ValidateUsername(u); err != nil {
			t.Errorf("%q: %v", u, err)
		}
	}
}
