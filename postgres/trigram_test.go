package postgres_test

import (
	"context"
	"fmt"
	"net/url"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/scimd/scimd"
	"github.com/scimd/scimd/filter"
	"github.com/scimd/scimd/internal/pgtest"
	"github.com/scimd/scimd/storetest"
)

// TestMigrateWithoutTrigram runs the migrations as a role that may not
// create pg_trgm (no CREATE on the database): migration 0004 must skip the
// trigram indexes with a NOTICE instead of failing, and co filters must
// still work, through LIKE alone.
func TestMigrateWithoutTrigram(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	admin := pgtest.URL(t)
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Fatal(err)
	}
	var dbname string
	if err := conn.QueryRow(ctx, `SELECT current_database()`).Scan(&dbname); err != nil {
		t.Fatal(err)
	}
	role := fmt.Sprintf("scimd_notrgm_%d", time.Now().UnixNano())
	for _, s := range []string{
		`CREATE ROLE ` + role + ` LOGIN PASSWORD 'pw'`,
		`GRANT CONNECT ON DATABASE ` + pgx.Identifier{dbname}.Sanitize() + ` TO ` + role,
		`GRANT USAGE, CREATE ON SCHEMA public TO ` + role,
	} {
		if _, err := conn.Exec(ctx, s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	t.Cleanup(func() {
		ctx := context.Background()
		for _, s := range []string{`DROP OWNED BY ` + role, `DROP ROLE ` + role} {
			if _, err := conn.Exec(ctx, s); err != nil {
				t.Errorf("%s: %v", s, err)
			}
		}
		conn.Close(ctx)
	})
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.UserPassword(role, "pw")
	db := mustOpen(t, u.String(), nil) // runs the migrations as role

	var n int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_indexes WHERE indexname LIKE '%_trgm'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("%d trigram indexes without pg_trgm", n)
	}
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM schema_migrations WHERE name = '0004_trigram.sql'`).Scan(&n); err != nil || n != 1 {
		t.Errorf("migration 0004 recorded %d times (%v)", n, err)
	}
	u1, err := db.Create(ctx, "t1", &scimd.Resource{Type: scimd.TypeUser, Attrs: map[string]any{
		"userName": "ana@example.com", "emails": []any{map[string]any{"value": "Ana@Work.example", "type": "work"}}}})
	if err != nil {
		t.Fatal(err)
	}
	e, err := filter.Parse(`emails[type eq "work" and value co "work.ex"]`)
	if err != nil {
		t.Fatal(err)
	}
	res, err := db.List(ctx, "t1", &scimd.ListQuery{Type: scimd.TypeUser, Filter: e, StartIndex: 1, Count: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Resources) != 1 || res.Resources[0].ID != u1.ID || res.TotalResults != 1 {
		t.Errorf("co without trigram indexes: %d resources, total %d", len(res.Resources), res.TotalResults)
	}
}

// TestBoundedCount checks that the store bounds the count of filtered
// lists (ListQuery.MaxTotal), as storetest.Run does not require.
func TestBoundedCount(t *testing.T) {
	storetest.RunBoundedCount(t, func(t *testing.T) scimd.Store { return MustOpenDB(t, nil) })
}
