package postgres_test

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/scimd/scimd"
	"github.com/scimd/scimd/filter"
	"github.com/scimd/scimd/internal/pgtest"
	"github.com/scimd/scimd/postgres"
	"github.com/scimd/scimd/schema"
	"github.com/scimd/scimd/storetest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// MustOpenDB opens a store on a fresh database.
func MustOpenDB(tb testing.TB, reg *schema.Registry, opts ...postgres.Option) *postgres.DB {
	tb.Helper()
	return mustOpen(tb, pgtest.URL(tb), reg, opts...)
}

func mustOpen(tb testing.TB, url string, reg *schema.Registry, opts ...postgres.Option) *postgres.DB {
	tb.Helper()
	if reg == nil {
		reg = schema.DefaultRegistry()
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	db, err := postgres.Open(ctx, url, reg, opts...)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := db.Close(); err != nil {
			tb.Error(err)
		}
	})
	return db
}

// openChecked is MustOpenDB for the conformance suites: when the test
// ends, every resource still has its resource_modified row, with the same
// lastModified, and no other rows are left there.
func openChecked(t *testing.T) scimd.Store {
	db := MustOpenDB(t, nil)
	t.Cleanup(func() {
		n, err := db.ModifiedMismatches(context.Background())
		if err != nil || n != 0 {
			t.Errorf("resource_modified: %d rows differ from resources (%v)", n, err)
		}
	})
	return db
}

func TestStore(t *testing.T) {
	storetest.Run(t, openChecked)
}

func TestConcurrency(t *testing.T) {
	storetest.RunConcurrency(t, openChecked)
}

func TestExtensions(t *testing.T) {
	storetest.RunExtensions(t, func(t *testing.T, reg *schema.Registry) scimd.Store { return MustOpenDB(t, reg) })
}

func TestFoldCollation(t *testing.T) {
	db := MustOpenDB(t, nil)
	t.Logf("fold collation: %s", db.FoldCollation())
}

func TestMigrate(t *testing.T) {
	url := pgtest.URL(t)
	ctx := t.Context()
	t.Run("OpenApplies", func(t *testing.T) {
		db := mustOpen(t, url, nil)
		got, err := db.Migrations(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) == 0 || got[0] != "0001_init.sql" {
			t.Fatalf("Migrations = %v, want 0001_init.sql first", got)
		}
		pending, err := db.Pending(ctx)
		if err != nil || len(pending) != 0 {
			t.Fatalf("Pending = %v, %v; want none", pending, err)
		}
	})
	t.Run("Idempotent", func(t *testing.T) {
		db := mustOpen(t, url, nil)
		for range 2 {
			applied, err := db.Migrate(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(applied) != 0 {
				t.Fatalf("Migrate applied %v again", applied)
			}
		}
	})
	t.Run("WithoutMigrate/Behind", func(t *testing.T) {
		_, err := postgres.Open(ctx, pgtest.URL(t), schema.DefaultRegistry(), postgres.WithoutMigrate())
		if err == nil {
			t.Fatal("Open WithoutMigrate on an empty database succeeded, want an error")
		}
		t.Logf("error: %v", err)
	})
	t.Run("WithoutMigrate/UpToDate", func(t *testing.T) {
		mustOpen(t, url, nil, postgres.WithoutMigrate())
	})
	t.Run("ExplicitMigrate", func(t *testing.T) {
		u := pgtest.URL(t)
		mustOpen(t, u, nil) // applies
		db := mustOpen(t, u, nil, postgres.WithoutMigrate())
		if applied, err := db.Migrate(ctx); err != nil || len(applied) != 0 {
			t.Fatalf("Migrate = %v, %v; want nothing applied", applied, err)
		}
	})
}

// TestConcurrentOpen starts several stores on one empty database at once:
// each migration must be applied exactly once and every Open succeed.
func TestConcurrentOpen(t *testing.T) {
	url := pgtest.URL(t)
	const n = 8
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		dbs  []*postgres.DB
		errs []error
	)
	start := make(chan struct{})
	for range n {
		wg.Go(func() {
			<-start
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			db, err := postgres.Open(ctx, url, schema.DefaultRegistry(), postgres.WithoutMigrate(), postgres.WithMaxConns(2))
			if err == nil {
				db.Close()
			}
			db, err = postgres.Open(ctx, url, schema.DefaultRegistry(), postgres.WithMaxConns(2))
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
				return
			}
			dbs = append(dbs, db)
		})
	}
	close(start)
	wg.Wait()
	for _, db := range dbs {
		t.Cleanup(func() { db.Close() })
	}
	for _, err := range errs {
		t.Errorf("concurrent Open: %v", err)
	}
	if len(dbs) == 0 {
		t.FailNow()
	}
	got, err := dbs[0].Migrations(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"0001_init.sql"}; !slices.Equal(got[:1], want) || slices.Compact(slices.Clone(got)) == nil {
		t.Errorf("Migrations = %v", got)
	}
	// Every store works.
	for i, db := range dbs {
		if _, err := db.Tenants(t.Context()); err != nil {
			t.Errorf("store %d: %v", i, err)
		}
	}
}

// TestQueryPlans checks that the lookups IdPs send are index scans, not
// scans of the tenant, on 20,000 users and 200 groups after ANALYZE. (For
// a range on lastModified and for no filter, which read in creation order,
// the planner may walk the primary key and stop after a page; for
// lastModified it then walks resource_modified's in step, a merge join.)
func TestQueryPlans(t *testing.T) {
	db := MustOpenDB(t, nil)
	ctx := t.Context()
	if err := db.ExecSQL(ctx, `
		INSERT INTO resources (tenant_id, id, type, external_id, name_lc, display_lc, active, created, last_modified, version, schemas, doc)
		SELECT 't1', md5(i::text), 'User', 'ext' || i, 'user' || i || '@example.com', 'user ' || i, true,
			'2020-01-01'::timestamptz + i * interval '1 hour', '2020-01-01'::timestamptz + i * interval '1 hour', 1, '[]',
			jsonb_build_object('userName', 'user' || i || '@example.com')
		FROM generate_series(1, 20000) AS i;
		INSERT INTO value_index (tenant_id, res_seq, attr, ord, type_lc, value_lc)
		SELECT 't1', seq, 'emails', 0, 'work', name_lc FROM resources;
		INSERT INTO resources (tenant_id, id, type, name_lc, display_lc, created, last_modified, version, schemas, doc)
		SELECT 't1', md5('g' || i), 'Group', 'group ' || i, 'group ' || i, now(), now(), 1, '[]', '{}'
		FROM generate_series(1, 200) AS i;
		INSERT INTO resource_modified (res_seq, tenant_id, last_modified)
		SELECT seq, tenant_id, last_modified FROM resources`); err != nil {
		t.Fatal(err)
	}
	// VACUUM (as autovacuum would) also moves the GIN indexes' pending
	// lists into the index proper; while an entry is pending, every search
	// reads the whole list and the planner prices the index accordingly.
	if err := db.ExecSQL(ctx, `VACUUM ANALYZE`); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ typ, filter, index, absent string }{
		{scimd.TypeUser, `userName eq "ana@example.com"`, "resources_name", ""},
		{scimd.TypeUser, `userName sw "ana"`, "resources_name", ""},
		{scimd.TypeUser, `externalId eq "00u1"`, "resources_external_id", ""},
		{scimd.TypeUser, `emails[type eq "work"].value eq "ana@example.com"`, "value_index_value", ""},
		// Few matches (496): through resource_modified.
		{scimd.TypeUser, `meta.lastModified gt "2022-04-01T00:00:00Z"`, "resource_modified", ""},
		// Dense matches (denseMatches): creation order, testing each
		// row's own last_modified.
		{scimd.TypeUser, `meta.lastModified gt "2020-01-01T03:00:00Z" and active eq true`, "Index Scan", "resource_modified"},
		{scimd.TypeGroup, `displayName eq "Sales"`, "resources_name", ""},
		{scimd.TypeUser, `emails.value eq "user7@example.com"`, "value_index_value", ""},
		{scimd.TypeUser, ``, "Index Scan", ""},
		// co / sw / ew: the pg_trgm GIN indexes (migration 0004).
		{scimd.TypeUser, `emails[type eq "work" and value co "user1234@"]`, "value_index_value_trgm", ""},
		{scimd.TypeUser, `emails.value ew "er777@example.com"`, "value_index_value_trgm", ""},
		{scimd.TypeUser, `userName co "er1234@"`, "resources_name_trgm", ""},
		{scimd.TypeUser, `displayName co "er 1234"`, "resources_display_trgm", ""},
		{scimd.TypeUser, `externalId co "xt12345"`, "resources_external_id_trgm", ""},
	} {
		q := &scimd.ListQuery{Type: c.typ, StartIndex: 1, Count: 100}
		if c.filter != "" {
			e, err := filter.Parse(c.filter)
			if err != nil {
				t.Fatal(err)
			}
			q.Filter = e
		}
		plan, err := db.Explain(ctx, "t1", q)
		if err != nil {
			t.Fatalf("%s: %v", c.filter, err)
		}
		if !strings.Contains(plan, c.index) || strings.Contains(plan, "Seq Scan") || (c.absent != "" && strings.Contains(plan, c.absent)) {
			t.Errorf("%s %s: plan does not use %s:\n%s", c.typ, c.filter, c.index, plan)
		} else if testing.Verbose() {
			t.Logf("%s %s:\n%s", c.typ, c.filter, plan)
		}
	}
	// The dense plan answers what the side index would: users 4, 5, … in
	// creation order (user i was last modified i hours after 2020-01-01).
	e, err := filter.Parse(`meta.lastModified gt "2020-01-01T03:00:00Z" and active eq true`)
	if err != nil {
		t.Fatal(err)
	}
	res, err := db.List(ctx, "t1", &scimd.ListQuery{Type: scimd.TypeUser, Filter: e, StartIndex: 1, Count: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Resources) != 2 || res.Resources[0].Attrs["userName"] != "user4@example.com" || res.Resources[1].Attrs["userName"] != "user5@example.com" {
		t.Errorf("dense lastModified page: %d resources, first %v", len(res.Resources), res.Resources)
	}
}

// TestWalkAcrossInstances walks a list with startIndex through two stores
// on one database, alternating pages between them as a round-robin load
// balancer in front of two scimd instances would: every page is right,
// and only the second instance's first page skips rows from the start
// with OFFSET; every later page seeks from a position its instance left
// one page before the previous one.
func TestWalkAcrossInstances(t *testing.T) {
	url := pgtest.URL(t)
	a := mustOpen(t, url, nil)
	b := mustOpen(t, url, nil)
	ctx := t.Context()
	if err := a.ExecSQL(ctx, `
		INSERT INTO resources (tenant_id, id, type, name_lc, created, last_modified, version, schemas, doc)
		SELECT 't1', md5(i::text), 'User', 'user' || i, now(), now(), 1, '[]',
			jsonb_build_object('userName', 'user' || i)
		FROM generate_series(1, 95) AS i;
		INSERT INTO resource_modified (res_seq, tenant_id, last_modified)
		SELECT seq, tenant_id, last_modified FROM resources`); err != nil {
		t.Fatal(err)
	}
	byName, err := filter.ParseAttrPath("userName")
	if err != nil {
		t.Fatal(err)
	}
	for _, sortBy := range []*filter.AttrPath{nil, &byName} {
		whole, err := a.List(ctx, "t1", &scimd.ListQuery{Type: scimd.TypeUser, SortBy: sortBy, StartIndex: 1, Count: 100})
		if err != nil {
			t.Fatal(err)
		}
		var want, got []string
		for _, r := range whole.Resources {
			want = append(want, r.ID)
		}
		a.ResetListCache()
		b.ResetListCache()
		stores := []*postgres.DB{a, b}
		for page, start := 0, 1; start <= 95; page, start = page+1, start+10 {
			res, err := stores[page%2].List(ctx, "t1", &scimd.ListQuery{Type: scimd.TypeUser, SortBy: sortBy, StartIndex: start, Count: 10})
			if err != nil {
				t.Fatal(err)
			}
			if res.TotalResults != 95 {
				t.Errorf("startIndex %d: totalResults %d, want 95", start, res.TotalResults)
			}
			for _, r := range res.Resources {
				got = append(got, r.ID)
			}
		}
		if !slices.Equal(got, want) {
			t.Errorf("sortBy %v: pages across instances\n%v\nwant\n%v", sortBy != nil, got, want)
		}
		sa, oa := a.ListStats()
		sb, ob := b.ListStats()
		if sortBy == nil && (sa != 4 || oa != 0 || sb != 4 || ob != 1) {
			t.Errorf("seeks/offsets: instance A %d/%d, B %d/%d; want 4/0, 4/1", sa, oa, sb, ob)
		}
	}
}
