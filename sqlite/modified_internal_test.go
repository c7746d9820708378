package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/scimd/scimd"
	"github.com/scimd/scimd/filter"
	"github.com/scimd/scimd/internal/sqlbuild"
	"github.com/scimd/scimd/schema"
)

// TestModifiedPrunerRuns checks that the background pruner starts a pass
// once the writes since the last one reach the threshold, and that the
// pass leaves one resource_modified row per resource.
func TestModifiedPrunerRuns(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, ":memory:", schema.DefaultRegistry(), func(db *DB) {
		db.pruner.minStale, db.pruner.interval = 100, 20*time.Millisecond
	})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var ids []string
	for i := range 50 {
		r, err := db.Create(ctx, "t1", &scimd.Resource{Type: scimd.TypeUser, Schemas: []string{schema.URNUser},
			Attrs: map[string]any{"userName": fmt.Sprintf("user%d", i)}})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, r.ID)
	}
	passes := db.pruner.passes.Load()
	for round := range 3 {
		for _, id := range ids {
			_, err := db.Update(ctx, "t1", scimd.TypeUser, id, scimd.ReadOptions{}, func(r *scimd.Resource) ([]scimd.MemberOp, error) {
				r.Attrs["title"] = fmt.Sprint(round)
				return nil, nil
			})
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	// 150 rows are stale now. Passes reset the count of writes they may
	// not have seen; once the pruner is idle, the stale rows left are at
	// most the writes since its last pass, and those are below the
	// threshold.
	deadline := time.Now().Add(10 * time.Second)
	var rows, live int64
	for time.Now().Before(deadline) {
		if err := db.queryRow(ctx, `SELECT (SELECT count(*) FROM resource_modified), (SELECT count(*) FROM resources)`).Scan(&rows, &live); err != nil {
			t.Fatal(err)
		}
		w := db.pruner.writes.Load()
		if db.pruner.passes.Load() > passes && rows-live <= w && w < db.pruner.minStale {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("resource_modified holds %d rows for %d resources, %d writes since the last pass (%d passes)",
		rows, live, db.pruner.writes.Load(), db.pruner.passes.Load()-passes)
}

// TestMigrateModifiedType applies migration 0007 to a database at 0006
// whose log holds stale rows (updated and deleted resources) and a tenant
// without a change counter row (no write since 0002): the log is rebuilt
// with one row per resource and its type, every tenant's stale count is 0
// and right, and filters on meta.lastModified alone, now counted from the
// log, return what schema.Match finds, before and after further writes.
func TestMigrateModifiedType(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	reg := schema.DefaultRegistry()
	day := func(d int) time.Time { return time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, d-1) }

	// Well-formed rows of resources, written by the store in a database of
	// its own: users and groups on days 1–6 in t1, users in t2.
	src, err := Open(ctx, filepath.Join(dir, "src.db"), reg)
	if err != nil {
		t.Fatal(err)
	}
	for d := 1; d <= 6; d++ {
		src.Now = func() time.Time { return day(d) }
		for i := range 10 {
			for _, tenant := range []string{"t1", "t2"} {
				if _, err := src.Create(ctx, tenant, &scimd.Resource{Type: scimd.TypeUser, Schemas: []string{schema.URNUser},
					Attrs: map[string]any{"userName": fmt.Sprintf("user%d-%d", d, i)}}); err != nil {
					t.Fatal(err)
				}
			}
		}
		if _, err := src.Create(ctx, "t1", &scimd.Resource{Type: scimd.TypeGroup, Schemas: []string{schema.URNGroup},
			Attrs: map[string]any{"displayName": fmt.Sprintf("group%d", d)}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := src.Close(); err != nil {
		t.Fatal(err)
	}

	// A database at 0006, from the migration files themselves, with those
	// rows and stale rows in its log.
	path := filepath.Join(dir, "old.db")
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	raw.SetMaxOpenConns(1)
	exec := func(query string, args ...any) {
		t.Helper()
		if _, err := raw.ExecContext(ctx, query, args...); err != nil {
			t.Fatalf("%.60s: %v", query, err)
		}
	}
	exec(`CREATE TABLE schema_migrations (name TEXT PRIMARY KEY, applied TEXT NOT NULL)`)
	names, err := fs.Glob(migrationFS, "migrations/*.sql")
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(names)
	for _, name := range names {
		base := strings.TrimPrefix(name, "migrations/")
		if base >= "0007" {
			break
		}
		text, err := fs.ReadFile(migrationFS, name)
		if err != nil {
			t.Fatal(err)
		}
		exec(string(text))
		exec(`INSERT INTO schema_migrations (name, applied) VALUES (?, ?)`, base, "2025-01-01T00:00:00.000000000Z")
	}
	exec(`ATTACH DATABASE ? AS src`, filepath.Join(dir, "src.db"))
	exec(`INSERT INTO resources SELECT * FROM src.resources`)
	exec(`DETACH DATABASE src`)
	exec(`UPDATE resources SET last_modified = ?, version = version + 1 WHERE tenant_id = 't1' AND seq % 3 = 0`,
		sqlbuild.FormatTime(day(9)))
	exec(`UPDATE resources SET last_modified = ?, version = version + 1 WHERE tenant_id = 't1' AND seq % 3 = 0 AND seq % 2 = 0`,
		sqlbuild.FormatTime(day(10)))
	exec(`DELETE FROM resources WHERE tenant_id = 't1' AND seq % 7 = 1`)
	exec(`DELETE FROM tenant_changes WHERE tenant_id = 't2'`)
	var stale int
	if err := raw.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM resource_modified) - (SELECT count(*) FROM resources)`).Scan(&stale); err != nil || stale == 0 {
		t.Fatalf("stale rows before the migration: %d (%v)", stale, err)
	}
	if err := raw.Close(); err != nil {
		t.Fatal(err)
	}

	db, err := Open(ctx, path, reg)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if applied, err := db.Migrations(ctx); err != nil || !slices.Contains(applied, "0007_modified_type.sql") {
		t.Fatalf("migrations = %v, %v", applied, err)
	}
	check := func(stage string) {
		t.Helper()
		if err := db.CheckStaleCounts(ctx); err != nil {
			t.Fatalf("%s: %v", stage, err)
		}
		if missing, _, err := db.ModifiedLog(ctx); err != nil || missing != 0 {
			t.Fatalf("%s: %d resources without their log row (%v)", stage, missing, err)
		}
		for _, tenant := range []string{"t1", "t2"} {
			for _, typ := range []string{scimd.TypeUser, scimd.TypeGroup} {
				every, err := db.List(ctx, tenant, &scimd.ListQuery{Type: typ, StartIndex: 1, Count: 1000})
				if err != nil {
					t.Fatal(err)
				}
				for _, fstr := range []string{
					`meta.lastModified gt "2025-03-03T00:00:00Z"`,
					`meta.lastModified lt "2025-03-03T00:00:00Z"`,
					`meta.lastModified ge "2025-03-09T00:00:00Z"`,
					`meta.lastModified eq "2025-03-10T00:00:00Z"`,
				} {
					f, err := filter.Parse(fstr)
					if err != nil {
						t.Fatal(err)
					}
					var want []string
					for _, r := range every.Resources {
						if ok, err := reg.ResourceType(typ).Match(f, r); err != nil {
							t.Fatal(err)
						} else if ok {
							want = append(want, r.ID)
						}
					}
					for _, count := range []int{2, 100} {
						db.ResetListCache()
						res, err := db.List(ctx, tenant, &scimd.ListQuery{Type: typ, Filter: f, StartIndex: 1, Count: count})
						if err != nil {
							t.Fatal(err)
						}
						var got []string
						for _, r := range res.Resources {
							got = append(got, r.ID)
						}
						if res.TotalResults != len(want) || !slices.Equal(got, want[:min(count, len(want))]) {
							t.Errorf("%s: %s %s %s, count %d: total %d, %v; want %d, %v", stage, tenant, typ, fstr, count,
								res.TotalResults, got, len(want), want[:min(count, len(want))])
						}
					}
				}
			}
		}
	}
	check("migrated")
	if _, stale, err := db.ModifiedLog(ctx); err != nil || stale != 0 {
		t.Fatalf("stale rows after the migration: %d (%v)", stale, err)
	}
	if exact, _, checked := db.LogCountStats(); exact == 0 || checked != 0 {
		t.Errorf("migrated: %d counts from the log alone, %d joined; want only the first", exact, checked)
	}
	// Writes after the migration keep the counts.
	db.Now = func() time.Time { return day(11) }
	page, err := db.List(ctx, "t2", &scimd.ListQuery{Type: scimd.TypeUser, StartIndex: 1, Count: 5})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range page.Resources[:3] {
		if _, err := db.Update(ctx, "t2", scimd.TypeUser, r.ID, scimd.ReadOptions{}, func(r *scimd.Resource) ([]scimd.MemberOp, error) {
			r.Attrs["title"] = "x"
			return nil, nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Delete(ctx, "t2", scimd.TypeUser, page.Resources[4].ID, nil); err != nil {
		t.Fatal(err)
	}
	check("written")
	if _, _, checked := db.LogCountStats(); checked == 0 {
		t.Errorf("written: no count joined the log to the resources")
	}
}

// The triggers of migration 0008 keep tenant_changes exact whatever an
// UPDATE of resources sets: gen grows by one per row written, and stale by
// one per log row added (none when the log already has the row).
func TestLogTriggers(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, ":memory:", schema.DefaultRegistry())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	r, err := db.Create(ctx, "t1", &scimd.Resource{Type: scimd.TypeUser, Schemas: []string{schema.URNUser},
		Attrs: map[string]any{"userName": "ana"}})
	if err != nil {
		t.Fatal(err)
	}
	counters := func() (gen, stale int64) {
		t.Helper()
		if err := db.queryRow(ctx, `SELECT gen, stale FROM tenant_changes WHERE tenant_id = 't1'`).Scan(&gen, &stale); err != nil {
			t.Fatal(err)
		}
		return gen, stale
	}
	gen, stale := counters()
	if stale != 0 {
		t.Fatalf("after a create: stale = %d, want 0", stale)
	}
	created := sqlbuild.FormatTime(r.Meta.LastModified)
	later := sqlbuild.FormatTime(r.Meta.LastModified.Add(time.Second))
	for _, c := range []struct {
		name, set  string
		arg        any
		staleAdded int64
	}{
		{"a new lastModified", "last_modified = ?", later, 1},
		{"back to a lastModified the log still has", "last_modified = ?", created, 0},
		{"the same lastModified", "last_modified = ?", created, 0},
		{"lastModified not set", "version = version + ?", 1, 0},
	} {
		tx, err := db.beginWrite(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE resources SET `+c.set+` WHERE id = ?`, c.arg, r.ID); err != nil {
			t.Fatal(err)
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		g, s := counters()
		if g != gen+1 || s != stale+c.staleAdded {
			t.Errorf("%s: gen %d → %d, stale %d → %d; want +1, +%d", c.name, gen, g, stale, s, c.staleAdded)
		}
		gen, stale = g, s
		if err := db.CheckStaleCounts(ctx); err != nil {
			t.Errorf("%s: %v", c.name, err)
		}
	}
}
