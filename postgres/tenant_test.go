package postgres_test

import (
	"context"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/scimd/scimd"
	"github.com/scimd/scimd/schema"
)

// TestTenantAdmin covers the tenant methods routing and the CLI use: hosts,
// UpdateTenant and DeleteTenant (which must remove every row of the tenant
// and nothing of any other).
func TestTenantAdmin(t *testing.T) {
	ctx := context.Background()
	db := MustOpenDB(t, schema.DefaultRegistry())
	a := &scimd.Tenant{ID: "id-a", Name: "a", Hosts: []string{"A.example.com:443", "a.example.org."}}
	b := &scimd.Tenant{ID: "id-b", Name: "b", Hosts: []string{"b.example.com"}}
	for _, tn := range []*scimd.Tenant{a, b} {
		if err := db.CreateTenant(ctx, tn); err != nil {
			t.Fatal(err)
		}
	}
	if want := []string{"a.example.com", "a.example.org"}; !slices.Equal(a.Hosts, want) {
		t.Fatalf("created Hosts = %v, want %v", a.Hosts, want)
	}
	if got, err := db.TenantByHost(ctx, "a.EXAMPLE.com:8443"); err != nil || got.ID != a.ID || !slices.Equal(got.Hosts, a.Hosts) {
		t.Fatalf("TenantByHost = %+v, %v", got, err)
	}
	if _, err := db.TenantByHost(ctx, "nope.example.com"); scimd.StatusOf(err) != http.StatusNotFound {
		t.Fatalf("TenantByHost(unknown) err = %v", err)
	}
	if err := db.CreateTenant(ctx, &scimd.Tenant{ID: "id-c", Name: "c", Hosts: []string{"b.example.com"}}); scimd.StatusOf(err) != http.StatusConflict {
		t.Fatalf("CreateTenant with a taken host: %v", err)
	}

	got, err := db.UpdateTenant(ctx, a.ID, func(tn *scimd.Tenant) error {
		tn.Disabled, tn.Hosts = true, []string{"new.example.com"}
		return nil
	})
	if err != nil || !got.Disabled || !slices.Equal(got.Hosts, []string{"new.example.com"}) {
		t.Fatalf("UpdateTenant = %+v, %v", got, err)
	}
	if _, err := db.TenantByHost(ctx, "a.example.com"); scimd.StatusOf(err) != http.StatusNotFound {
		t.Errorf("old host still routes: %v", err)
	}

	for _, tn := range []*scimd.Tenant{a, b} {
		u, err := db.Create(ctx, tn.ID, &scimd.Resource{Type: scimd.TypeUser, Schemas: []string{schema.URNUser},
			Attrs: map[string]any{"userName": "ana", "emails": []any{map[string]any{"value": "ana@example.com"}}}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.Create(ctx, tn.ID, &scimd.Resource{Type: scimd.TypeGroup, Schemas: []string{schema.URNGroup},
			Attrs: map[string]any{"displayName": "staff"}, Members: []scimd.Member{{Value: u.ID}}}); err != nil {
			t.Fatal(err)
		}
		if err := db.CreateToken(ctx, &scimd.Token{ID: "tok-" + tn.ID, Tenant: tn.ID, Name: "t", Hash: []byte("h"), Created: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.DeleteTenant(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Tenant(ctx, a.ID); scimd.StatusOf(err) != http.StatusNotFound {
		t.Errorf("deleted tenant found: %v", err)
	}
	if _, err := db.Token(ctx, "tok-"+a.ID); scimd.StatusOf(err) != http.StatusNotFound {
		t.Errorf("deleted tenant's token found: %v", err)
	}
	for _, tn := range []*scimd.Tenant{a, b} {
		for _, typ := range []string{scimd.TypeUser, scimd.TypeGroup} {
			res, err := db.List(ctx, tn.ID, &scimd.ListQuery{Type: typ, Count: 10, ReadOptions: scimd.ReadOptions{Members: true}})
			if err != nil {
				t.Fatal(err)
			}
			want := 1
			if tn == a {
				want = 0
			}
			if res.TotalResults != want || len(res.Resources) != want {
				t.Errorf("tenant %s has %d %ss, want %d", tn.Name, res.TotalResults, typ, want)
			}
			if typ == scimd.TypeGroup && want == 1 && len(res.Resources[0].Members) != 1 {
				t.Errorf("B's group lost its member")
			}
		}
	}
	if _, err := db.Token(ctx, "tok-"+b.ID); err != nil {
		t.Errorf("B's token: %v", err)
	}
	if err := db.DeleteTenant(ctx, a.ID); scimd.StatusOf(err) != http.StatusNotFound {
		t.Errorf("DeleteTenant(missing) err = %v", err)
	}
}
