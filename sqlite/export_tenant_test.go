package sqlite

import (
	"context"
	"testing"
)

// CountTenantRows returns the number of rows of tenant in every table with
// a tenant_id column that DeleteTenant clears.
func (db *DB) CountTenantRows(tb testing.TB, tenant string) int {
	tb.Helper()
	ctx := context.Background()
	tx, err := db.beginRead(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	defer tx.Rollback()
	tables, err := tx.tenantTables(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	if len(tables) < 6 {
		tb.Fatalf("tenant tables = %v; expected at least tenants, tenant_hosts, tokens, resources, value_index, memberships", tables)
	}
	total := 0
	for _, t := range tables {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM "`+t+`" WHERE tenant_id = ?`, tenant).Scan(&n); err != nil {
			tb.Fatal(err)
		}
		if n > 0 {
			tb.Logf("%s: %d rows of tenant %s", t, n, tenant)
		}
		total += n
	}
	return total
}
