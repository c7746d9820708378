package scimhttp_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/scimd/scimd"
	"github.com/scimd/scimd/schema"
	"github.com/scimd/scimd/scimhttp"
	"github.com/scimd/scimd/sqlite"
)

// countingTenants counts lookups and hides the store's change counter, as
// a store written by another process would.
type countingTenants struct {
	scimd.TenantStore
	n int
}

func (c *countingTenants) Tenant(ctx context.Context, id string) (*scimd.Tenant, error) {
	c.n++
	return c.TenantStore.Tenant(ctx, id)
}

func (c *countingTenants) TenantByHost(ctx context.Context, host string) (*scimd.Tenant, error) {
	c.n++
	return c.TenantStore.TenantByHost(ctx, host)
}

func TestTenantCache(t *testing.T) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, ":memory:", schema.DefaultRegistry())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.CreateTenant(ctx, &scimd.Tenant{ID: "a", Name: "a", Hosts: []string{"a.example.com"}}); err != nil {
		t.Fatal(err)
	}

	t.Run("OtherProcess", func(t *testing.T) {
		under := &countingTenants{TenantStore: db}
		c := scimhttp.NewTenantCache(under, 50*time.Millisecond)
		for range 3 {
			if tn, err := c.Tenant(ctx, "a"); err != nil || tn.Disabled {
				t.Fatalf("%v %v", tn, err)
			}
			if _, err := c.TenantByHost(ctx, "127.0.0.1:8080"); scimd.StatusOf(err) != http.StatusNotFound {
				t.Fatalf("unknown host: %v", err)
			}
			if tn, err := c.TenantByHost(ctx, "A.example.com:443"); err != nil || tn.ID != "a" {
				t.Fatalf("host: %v %v", tn, err)
			}
		}
		if under.n != 3 {
			t.Errorf("%d lookups, want 3 (one per key)", under.n)
		}
		if _, err := db.UpdateTenant(ctx, "a", func(tn *scimd.Tenant) error { tn.Disabled = true; return nil }); err != nil {
			t.Fatal(err)
		}
		if tn, _ := c.Tenant(ctx, "a"); tn.Disabled {
			t.Error("a change the cache cannot see was seen before the TTL")
		}
		time.Sleep(60 * time.Millisecond)
		if tn, err := c.Tenant(ctx, "a"); err != nil || !tn.Disabled {
			t.Errorf("after the TTL: %v %v, want disabled", tn, err)
		}
		// A write through the cache drops it at once.
		if _, err := c.UpdateTenant(ctx, "a", func(tn *scimd.Tenant) error { tn.Disabled = false; return nil }); err != nil {
			t.Fatal(err)
		}
		if tn, err := c.Tenant(ctx, "a"); err != nil || tn.Disabled {
			t.Errorf("after a write through the cache: %v %v, want enabled", tn, err)
		}
	})

	t.Run("SameProcess", func(t *testing.T) {
		c := scimhttp.NewTenantCache(db, time.Hour)
		if _, err := c.TenantByHost(ctx, "b.example.com"); scimd.StatusOf(err) != http.StatusNotFound {
			t.Fatalf("unknown host: %v", err)
		}
		if err := db.CreateTenant(ctx, &scimd.Tenant{ID: "b", Name: "b", Hosts: []string{"b.example.com"}}); err != nil {
			t.Fatal(err)
		}
		if tn, err := c.TenantByHost(ctx, "b.example.com"); err != nil || tn.ID != "b" {
			t.Errorf("a host added in this process: %v %v", tn, err)
		}
	})
}
