package postgres_test

import (
	"context"
	"crypto/md5"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/scimd/scimd"
	"github.com/scimd/scimd/filter"
	"github.com/scimd/scimd/internal/pgtest"
	"github.com/scimd/scimd/postgres"
)

// importUsers adds users from..to-1 of tenant t1 with their e-mail rows
// and log rows, as SQL: a first import, as fast as a fixture can make it.
func importUsers(t *testing.T, db *postgres.DB, from, to int) {
	t.Helper()
	if err := db.ExecSQL(t.Context(), `
		INSERT INTO resources (tenant_id, id, type, external_id, name_lc, display_lc, active, created, last_modified, version, schemas, doc)
		SELECT 't1', md5(i::text), 'User', 'ext' || i, 'user' || i || '@example.com', 'user ' || i, true,
			now(), now(), 1, '[]', jsonb_build_object('userName', 'user' || i || '@example.com')
		FROM generate_series(`+strconv.Itoa(from)+`, `+strconv.Itoa(to-1)+`) AS i;
		INSERT INTO value_index (tenant_id, res_seq, attr, ord, type_lc, value_lc)
		SELECT 't1', seq, 'emails', 0, 'work', name_lc FROM resources r
		WHERE NOT EXISTS (SELECT 1 FROM value_index v WHERE v.res_seq = r.seq);
		INSERT INTO resource_modified (res_seq, tenant_id, last_modified)
		SELECT seq, tenant_id, last_modified FROM resources r
		WHERE NOT EXISTS (SELECT 1 FROM resource_modified m WHERE m.res_seq = r.seq)`); err != nil {
		t.Fatal(err)
	}
}

// noAutovacuum leaves the store's tables to the store's own check.
func noAutovacuum(t *testing.T, db *postgres.DB) {
	t.Helper()
	for _, table := range []string{"resources", "resource_modified", "value_index", "memberships"} {
		if err := db.ExecSQL(t.Context(), `ALTER TABLE `+table+` SET (autovacuum_enabled = false)`); err != nil {
			t.Fatal(err)
		}
	}
}

// waitAnalyzed waits until table's statistics count at least rows rows,
// calling check (if not nil) between looks. PostgreSQL's counters reach
// pg_stat_user_tables within a second or so of a commit (at most ten).
func waitAnalyzed(t *testing.T, db *postgres.DB, table string, rows float64, check func()) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		n, err := db.Reltuples(t.Context(), table)
		if err != nil {
			t.Fatal(err)
		}
		if n >= rows {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: statistics count %.0f rows after 30 s, want %.0f", table, n, rows)
		}
		if check != nil {
			check()
		}
		time.Sleep(100 * time.Millisecond)
	}
}

var buffersRe = regexp.MustCompile(`Buffers: shared (?:hit=(\d+))?\s*(?:read=(\d+))?`)

// planBuffers returns the buffers the plan's top node read (its first
// Buffers line: the whole execution's).
func planBuffers(t *testing.T, plan string) int {
	t.Helper()
	m := buffersRe.FindStringSubmatch(plan)
	if m == nil {
		t.Fatalf("no Buffers line in plan:\n%s", plan)
	}
	hit, _ := strconv.Atoi(m[1])
	read, _ := strconv.Atoi(m[2])
	return hit + read
}

// TestPlannerStatistics imports 5,000 users into a database whose tables
// were never analysed (autovacuum off for them) and checks that the
// store's statistics check analyses the tables, after which the plans
// PostgreSQL keeps for the prepared statements of the hot reads (generic
// plans) read a few pages, not the tenant; that it leaves a table alone
// when nothing changed, and when a tenth more rows arrived within
// analyzeMinGap of the last ANALYZE, but not when the rows doubled.
func TestPlannerStatistics(t *testing.T) {
	db := MustOpenDB(t, nil, postgres.WithAnalyzeInterval(0))
	ctx := t.Context()
	noAutovacuum(t, db)
	importUsers(t, db, 0, 5000)
	id := fmt.Sprintf("%x", md5.Sum([]byte("4321"))) // user 4321

	before, err := db.ExplainGenericGet(ctx, "t1", id)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("Get's generic plan before any ANALYZE (%d buffers):\n%s", planBuffers(t, before), before)

	analyse := func() {
		if _, err := db.AnalyzeDue(ctx); err != nil {
			t.Fatal(err)
		}
	}
	for _, table := range []string{"resources", "value_index", "resource_modified"} {
		waitAnalyzed(t, db, table, 5000, analyse)
	}

	// The hot reads, each planned once for any arguments.
	get, err := db.ExplainGenericGet(ctx, "t1", id)
	if err != nil {
		t.Fatal(err)
	}
	plans := map[string]string{"Get": get}
	for _, f := range []string{
		`userName eq "user4321@example.com"`,
		`externalId eq "ext4321"`,
		`emails[type eq "work"].value eq "user4321@example.com"`,
	} {
		e, err := filter.Parse(f)
		if err != nil {
			t.Fatal(err)
		}
		q := &scimd.ListQuery{Type: scimd.TypeUser, Filter: e, StartIndex: 1, Count: 100,
			ReadOptions: scimd.ReadOptions{Groups: true}}
		plan, err := db.ExplainGenericList(ctx, "t1", q)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		plans[f] = plan
	}
	for name, plan := range plans {
		// A lookup reads an index path and a row or two: tens of pages,
		// where a walk of the tenant reads thousands.
		if n := planBuffers(t, plan); n > 100 || strings.Contains(plan, "Seq Scan") {
			t.Errorf("%s: the generic plan reads %d buffers:\n%s", name, n, plan)
		} else {
			t.Logf("%s: %d buffers", name, n)
		}
	}

	// Nothing changed: nothing to analyse.
	if n, err := db.AnalyzeDue(ctx); err != nil || n != 0 {
		t.Errorf("a check with nothing changed analysed %d tables (%v)", n, err)
	}
	// A tenth more within analyzeMinGap: left for later.
	importUsers(t, db, 5000, 5600)
	time.Sleep(1500 * time.Millisecond) // the counters reach pg_stat_user_tables
	if _, err := db.AnalyzeDue(ctx); err != nil {
		t.Fatal(err)
	}
	if n, err := db.Reltuples(ctx, "resources"); err != nil || n >= 5600 {
		t.Errorf("resources analysed again within the gap: %.0f rows (%v)", n, err)
	}
	// Doubled: analysed now.
	importUsers(t, db, 5600, 10000)
	waitAnalyzed(t, db, "resources", 10000, analyse)
}

// TestAnalyzeInBackground checks that an open store analyses a first
// import by itself.
func TestAnalyzeInBackground(t *testing.T) {
	db := MustOpenDB(t, nil, postgres.WithAnalyzeInterval(50*time.Millisecond))
	noAutovacuum(t, db)
	importUsers(t, db, 0, 2000)
	waitAnalyzed(t, db, "resources", 2000, nil)
	if db.Analyzed() == 0 {
		t.Error("the background check analysed nothing, yet resources has statistics")
	}
}

// TestSubstringFiltersPlannedPerPattern checks that the statements of a
// list with a co, sw or ew filter are never prepared, so that PostgreSQL
// plans them for each pattern (customPlans), while an equality lookup's
// are: on a store with one connection, after each has run more often
// than PostgreSQL needs to settle on a generic plan.
func TestSubstringFiltersPlannedPerPattern(t *testing.T) {
	db := MustOpenDB(t, nil, postgres.WithPoolConfig(func(cfg *pgxpool.Config) { cfg.MaxConns = 1 }))
	ctx := t.Context()
	for i := range 5 {
		if _, err := db.Create(ctx, "t1", newUser(int64(i))); err != nil {
			t.Fatal(err)
		}
	}
	list := func(f string, startIndex, count int) {
		t.Helper()
		e, err := filter.Parse(f)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.List(ctx, "t1", &scimd.ListQuery{Type: scimd.TypeUser, Filter: e, StartIndex: startIndex, Count: count}); err != nil {
			t.Fatal(err)
		}
	}
	for range 8 {
		// The first page in one statement (a short page), a full page
		// with its count, a later page in a read transaction.
		list(`emails[type eq "work" and value co "example"]`, 1, 100)
		list(`emails[type eq "work" and value co "example"]`, 1, 2)
		list(`userName sw "user"`, 2, 2)
		list(`userName eq "user1@example.com"`, 1, 100)
	}
	for text, want := range map[string]bool{"LIKE": false, "r.name_lc = ": true} {
		n, err := db.Prepared(ctx, text)
		if err != nil {
			t.Fatal(err)
		}
		if (n > 0) != want {
			t.Errorf("prepared statements containing %q: %d", text, n)
		}
	}
}

// TestDensePageWithStaleStatistics: right after a burst of writes, before
// any ANALYZE has seen their times, a meta.lastModified filter matching
// most users (dense: the store walks creation order) still gets a page by
// walking the primary key, not by a scan and sort of the tenant, which a
// plan made from the stale histogram (no matches expected) would be.
func TestDensePageWithStaleStatistics(t *testing.T) {
	db := MustOpenDB(t, nil, postgres.WithAnalyzeInterval(0))
	ctx := t.Context()
	noAutovacuum(t, db)
	importUsers(t, db, 0, 20000)
	if err := db.ExecSQL(ctx, `ANALYZE`); err != nil {
		t.Fatal(err)
	}
	// 12,000 of 20,000 users written an hour from now: after the
	// histogram's end.
	if err := db.ExecSQL(ctx, `
		UPDATE resources SET last_modified = now() + interval '1 hour' WHERE seq % 5 < 3;
		UPDATE resource_modified SET last_modified = now() + interval '1 hour' WHERE res_seq % 5 < 3`); err != nil {
		t.Fatal(err)
	}
	since := time.Now().Add(30 * time.Minute).UTC().Format(time.RFC3339)
	e, err := filter.Parse(`meta.lastModified gt "` + since + `"`)
	if err != nil {
		t.Fatal(err)
	}
	q := &scimd.ListQuery{Type: scimd.TypeUser, Filter: e, StartIndex: 1, Count: 100}
	plan, err := db.Explain(ctx, "t1", q)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(plan, "Index Scan using resources_pkey") || strings.Contains(plan, "Seq Scan") || strings.Contains(plan, "Sort") {
		t.Errorf("the dense page does not walk the primary key:\n%s", plan)
	}
	res, err := db.List(ctx, "t1", q)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Resources) != 100 || res.TotalResults < 10000 {
		t.Errorf("page of %d, totalResults %d; want 100 of at least 10,000", len(res.Resources), res.TotalResults)
	}
}

// TestAnalyzeSkipsLockedTables: while another session holds a lock that
// ANALYZE would wait for (as a VACUUM does), the check passes the table
// by instead of waiting, which would make PostgreSQL cancel an
// autovacuum in its way, and analyses it once the lock is gone.
func TestAnalyzeSkipsLockedTables(t *testing.T) {
	url := pgtest.URL(t)
	db := mustOpen(t, url, nil, postgres.WithAnalyzeInterval(0))
	ctx := t.Context()
	noAutovacuum(t, db)
	vacuum, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer vacuum.Close(context.Background())
	if _, err := vacuum.Exec(ctx, `BEGIN; LOCK TABLE resources IN SHARE UPDATE EXCLUSIVE MODE`); err != nil {
		t.Fatal(err)
	}
	importUsers(t, db, 0, 2000)
	check := func() {
		ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		if _, err := db.AnalyzeDue(ctx); err != nil {
			t.Fatalf("a check with resources locked: %v", err)
		}
	}
	// The three tables' counters arrive together: once resource_modified
	// is analysed, the check has seen resources due as well.
	waitAnalyzed(t, db, "resource_modified", 2000, check)
	if n, err := db.Reltuples(ctx, "resources"); err != nil || n >= 0 {
		t.Errorf("resources analysed while locked: %.0f rows (%v)", n, err)
	}
	if _, err := vacuum.Exec(ctx, `ROLLBACK`); err != nil {
		t.Fatal(err)
	}
	waitAnalyzed(t, db, "resources", 2000, check)
}
