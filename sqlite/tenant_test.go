package sqlite_test

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/scimd/scimd"
	"github.com/scimd/scimd/sqlite"
)

func mustCreateTenant(tb testing.TB, db *sqlite.DB, id, name string, hosts ...string) *scimd.Tenant {
	tb.Helper()
	t := &scimd.Tenant{ID: id, Name: name, Hosts: hosts}
	if err := db.CreateTenant(context.Background(), t); err != nil {
		tb.Fatalf("CreateTenant(%s): %v", name, err)
	}
	return t
}

func TestTenantHosts(t *testing.T) {
	ctx := context.Background()

	t.Run("OK", func(t *testing.T) {
		db := MustOpenDB(t, nil)
		got := mustCreateTenant(t, db, "id-acme", "acme", "Acme.SCIM.example.com:443", "acme.example.org.", "acme.scim.example.com")
		if want := []string{"acme.example.org", "acme.scim.example.com"}; !slices.Equal(got.Hosts, want) {
			t.Fatalf("created Hosts = %v, want %v", got.Hosts, want)
		}
		for _, h := range []string{"acme.scim.example.com", "ACME.scim.EXAMPLE.com:8443", "acme.example.org"} {
			tn, err := db.TenantByHost(ctx, h)
			if err != nil || tn.ID != "id-acme" {
				t.Fatalf("TenantByHost(%q) = %v, %v", h, tn, err)
			}
			if !slices.Equal(tn.Hosts, got.Hosts) {
				t.Errorf("TenantByHost(%q).Hosts = %v, want %v", h, tn.Hosts, got.Hosts)
			}
		}
		tn, err := db.TenantByName(ctx, "acme")
		if err != nil || !slices.Equal(tn.Hosts, got.Hosts) {
			t.Fatalf("TenantByName = %v, %v", tn, err)
		}
	})

	t.Run("ErrNotFound", func(t *testing.T) {
		db := MustOpenDB(t, nil)
		mustCreateTenant(t, db, "id-acme", "acme", "acme.example.com")
		for _, h := range []string{"other.example.com", "", "example.com"} {
			if _, err := db.TenantByHost(ctx, h); scimd.StatusOf(err) != http.StatusNotFound {
				t.Errorf("TenantByHost(%q) err = %v, want NotFound", h, err)
			}
		}
	})

	t.Run("ErrConflict", func(t *testing.T) {
		db := MustOpenDB(t, nil)
		mustCreateTenant(t, db, "id-acme", "acme", "acme.example.com")
		err := db.CreateTenant(ctx, &scimd.Tenant{ID: "id-evil", Name: "evil", Hosts: []string{"ACME.example.com"}})
		if scimd.StatusOf(err) != http.StatusConflict {
			t.Fatalf("CreateTenant with a taken host: err = %v, want Conflict", err)
		}
		if _, err := db.Tenant(ctx, "id-evil"); scimd.StatusOf(err) != http.StatusNotFound {
			t.Fatalf("tenant of a failed create exists: %v", err)
		}
		mustCreateTenant(t, db, "id-b", "b")
		_, err = db.UpdateTenant(ctx, "id-b", func(tn *scimd.Tenant) error {
			tn.Hosts = append(tn.Hosts, "acme.example.com")
			return nil
		})
		if scimd.StatusOf(err) != http.StatusConflict {
			t.Fatalf("UpdateTenant with a taken host: err = %v, want Conflict", err)
		}
	})
}

func TestUpdateTenant(t *testing.T) {
	ctx := context.Background()
	db := MustOpenDB(t, nil)
	mustCreateTenant(t, db, "id-acme", "acme", "acme.example.com")

	got, err := db.UpdateTenant(ctx, "id-acme", func(tn *scimd.Tenant) error {
		tn.Disabled = true
		tn.Hosts = []string{"new.example.com"}
		tn.ID = "ignored"
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !got.Disabled || got.ID != "id-acme" || !slices.Equal(got.Hosts, []string{"new.example.com"}) {
		t.Fatalf("UpdateTenant = %+v", got)
	}
	again, err := db.Tenant(ctx, "id-acme")
	if err != nil || !again.Disabled || !slices.Equal(again.Hosts, got.Hosts) {
		t.Fatalf("Tenant after update = %+v, %v", again, err)
	}
	if _, err := db.TenantByHost(ctx, "acme.example.com"); scimd.StatusOf(err) != http.StatusNotFound {
		t.Errorf("old host still routes: %v", err)
	}

	abort := errors.New("abort")
	if _, err := db.UpdateTenant(ctx, "id-acme", func(tn *scimd.Tenant) error {
		tn.Disabled = false
		return abort
	}); err != abort {
		t.Fatalf("UpdateTenant with failing fn: err = %v", err)
	}
	if tn, _ := db.Tenant(ctx, "id-acme"); !tn.Disabled {
		t.Errorf("aborted update was written")
	}
	if _, err := db.UpdateTenant(ctx, "nope", func(*scimd.Tenant) error { return nil }); scimd.StatusOf(err) != http.StatusNotFound {
		t.Errorf("UpdateTenant(missing) err = %v", err)
	}
}

func TestDeleteTenant(t *testing.T) {
	ctx := context.Background()
	db := MustOpenFileDB(t)
	a := mustCreateTenant(t, db, "id-a", "a", "a.example.com")
	b := mustCreateTenant(t, db, "id-b", "b", "b.example.com")
	var users [2][]*scimd.Resource
	for i, tn := range []*scimd.Tenant{a, b} {
		for _, name := range []string{"ana", "bo"} {
			users[i] = append(users[i], mustCreate(t, db, tn.ID, newUser(name, name+"@example.com")))
		}
		mustCreate(t, db, tn.ID, newGroup("staff", member(users[i][0]), member(users[i][1])))
		_, rec := newTokenRecord(tn.ID)
		if err := db.CreateToken(ctx, rec); err != nil {
			t.Fatal(err)
		}
		now := time.Now()
		if err := db.CreateBasicCredential(ctx, &scimd.BasicCredential{ID: "basic-" + tn.ID, Tenant: tn.ID, Username: "okta", Hash: "h", Created: now}); err != nil {
			t.Fatal(err)
		}
		if err := db.CreateOAuthClient(ctx, &scimd.OAuthClient{ID: "client-" + tn.ID, Tenant: tn.ID, Name: "Okta", SecretHash: []byte("h"),
			Grants: []string{scimd.GrantClientCredentials}, Created: now}); err != nil {
			t.Fatal(err)
		}
		if err := db.CreateOAuthTokens(ctx, &scimd.OAuthToken{ID: "at-" + tn.ID, Tenant: tn.ID, ClientID: "client-" + tn.ID,
			Kind: scimd.OAuthAccessToken, Hash: []byte("h"), Family: "f", Created: now, Expires: now.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}

	if err := db.DeleteTenant(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Tenant(ctx, a.ID); scimd.StatusOf(err) != http.StatusNotFound {
		t.Errorf("deleted tenant still found: %v", err)
	}
	if _, err := db.TenantByHost(ctx, "a.example.com"); scimd.StatusOf(err) != http.StatusNotFound {
		t.Errorf("deleted tenant's host still routes: %v", err)
	}
	if n := db.CountTenantRows(t, a.ID); n != 0 {
		t.Errorf("%d rows of the deleted tenant remain", n)
	}
	if toks, err := db.Tokens(ctx, a.ID); err != nil || len(toks) != 0 {
		t.Errorf("Tokens of the deleted tenant = %v, %v", toks, err)
	}
	for _, typ := range []string{scimd.TypeUser, scimd.TypeGroup} {
		res, err := db.List(ctx, a.ID, &scimd.ListQuery{Type: typ, Count: 10})
		if err != nil || res.TotalResults != 0 || len(res.Resources) != 0 {
			t.Errorf("List %s of the deleted tenant = %+v, %v", typ, res, err)
		}
	}

	// B is untouched.
	for _, typ := range []string{scimd.TypeUser, scimd.TypeGroup} {
		res, err := db.List(ctx, b.ID, &scimd.ListQuery{Type: typ, Count: 10, ReadOptions: scimd.ReadOptions{Members: true}})
		if err != nil {
			t.Fatal(err)
		}
		want := 2
		if typ == scimd.TypeGroup {
			want = 1
			if got := len(res.Resources[0].Members); got != 2 {
				t.Errorf("B's group has %d members, want 2", got)
			}
		}
		if res.TotalResults != want {
			t.Errorf("B has %d %ss, want %d", res.TotalResults, typ, want)
		}
	}
	if toks, err := db.Tokens(ctx, b.ID); err != nil || len(toks) != 1 {
		t.Errorf("B's tokens = %v, %v", toks, err)
	}
	if _, err := db.BasicCredentialByUsername(ctx, b.ID, "okta"); err != nil {
		t.Errorf("B's Basic credential: %v", err)
	}
	if _, err := db.OAuthClient(ctx, b.ID, "client-"+b.ID); err != nil {
		t.Errorf("B's OAuth client: %v", err)
	}
	if _, err := db.OAuthToken(ctx, "at-"+a.ID); scimd.StatusOf(err) != http.StatusNotFound {
		t.Errorf("A's OAuth token survived: %v", err)
	}
	if tn, err := db.TenantByHost(ctx, "b.example.com"); err != nil || tn.ID != b.ID {
		t.Errorf("B's host = %v, %v", tn, err)
	}

	// The id can be used again, starting empty.
	mustCreateTenant(t, db, a.ID, "a")
	res, err := db.List(ctx, a.ID, &scimd.ListQuery{Type: scimd.TypeUser, Count: 10})
	if err != nil || res.TotalResults != 0 {
		t.Errorf("List of the recreated tenant = %+v, %v", res, err)
	}
	if err := db.DeleteTenant(ctx, "nope"); scimd.StatusOf(err) != http.StatusNotFound {
		t.Errorf("DeleteTenant(missing) err = %v", err)
	}
}

// newTokenRecord returns a token record of tenant with a unique id.
func newTokenRecord(tenant string) (string, *scimd.Token) {
	id := scimd.NewID()[:16]
	return id, &scimd.Token{ID: id, Tenant: tenant, Name: "t", Hash: []byte("h"), Created: time.Now()}
}
