package sqlite_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scimd/scimd"
	"github.com/scimd/scimd/filter"
	"github.com/scimd/scimd/schema"
	"github.com/scimd/scimd/sqlite"
	"github.com/scimd/scimd/storetest"
)

// TestPagingPlans checks the plans of the page queries that must stay
// index lookups at any tenant size: meta.lastModified gt (delta sync)
// through the resource_modified log, with and without a seek position, and
// from the log's index entries alone when it has no stale row; the
// sequential-walk page through resources_type_seq as a seq range with no
// OFFSET; emails[type eq … and value co …] inside the value index.
func TestPagingPlans(t *testing.T) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "plan.db"), schema.DefaultRegistry())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// Tenant t2 has a resource and no stale row in its resource_modified
	// log; t1 has no resource (nor a count of stale rows).
	mustCreate(t, db, "t2", newUser("ana"))
	at := &scimd.PageKey{Seq: 12345}
	for _, c := range []struct {
		name, filter string
		at           *scimd.PageKey
		want         []string
	}{
		// Few matches: the seqs of the resource_modified log's range
		// (migrations 0006, 0007), in its type's range, an IN list read in
		// creation order (no sort), each candidate's row read by seq to
		// test its own lastModified (the log may hold stale rows).
		{"lastModified", `meta.lastModified gt "2025-01-01T00:00:00Z"`, nil, []string{"SEARCH lm USING PRIMARY KEY (tenant_id=? AND type=? AND last_modified>?)", "SEARCH r USING INTEGER PRIMARY KEY (rowid=?)"}},
		{"lastModified/seek", `meta.lastModified gt "2025-01-01T00:00:00Z"`, at, []string{"SEARCH lm USING PRIMARY KEY (tenant_id=? AND type=? AND last_modified>?)"}},
		// No stale row: the log's index entries alone (the only read of
		// resources is the page's rows, by seq).
		{"t2:lastModified", `meta.lastModified gt "2025-01-01T00:00:00Z"`, nil, []string{"SEARCH lm USING PRIMARY KEY (tenant_id=? AND type=? AND last_modified>?)"}},
		{"t2:lastModified/seek", `meta.lastModified gt "2025-01-01T00:00:00Z"`, at, []string{"SEARCH lm USING PRIMARY KEY (tenant_id=? AND type=? AND last_modified>?)"}},
		{"walk/seek", ``, at, []string{"USING INDEX resources_type_seq (tenant_id=? AND type=? AND seq>?)"}},
		{"userName/seek", `userName eq "a@b.c"`, at, []string{"INDEX resources_name (tenant_id=? AND type=? AND name_lc=?)"}},
		// A lone co / sw / ew of 3 characters or more iterates its FTS5
		// trigram table (migration 0005) in rowid = creation order
		// ("INDEX 64": the order is the table's; "M…>" seeks in it) and
		// reads each candidate's row: never a walk of the tenant, never a
		// sort of every match.
		{"emailsWorkCo", `emails[type eq "work" and value co "example"]`, nil, []string{"SCAN emails_trgm VIRTUAL TABLE INDEX 64:M", "SEARCH r USING INTEGER PRIMARY KEY (rowid=?)", "SEARCH v EXISTS USING PRIMARY KEY (tenant_id=? AND res_seq=?"}},
		{"emailsWorkCo/seek", `emails[type eq "work" and value co "example"]`, at, []string{"SCAN emails_trgm VIRTUAL TABLE INDEX 64:M1>", "SEARCH r USING INTEGER PRIMARY KEY (rowid=?)"}},
		{"emailsValueEw", `emails.value ew "@example.com"`, nil, []string{"SCAN emails_trgm VIRTUAL TABLE INDEX 64:M"}},
		{"userNameCo", `userName co "ana"`, nil, []string{"SCAN resources_trgm VIRTUAL TABLE INDEX 64:M"}},
		// sw is a range of the column's B-tree index.
		{"userNameSw", `userName sw "ana"`, nil, []string{"INDEX resources_name (tenant_id=? AND type=? AND name_lc>? AND name_lc<?)"}},
		{"userNameCo/seek", `userName co "ana"`, at, []string{"SCAN resources_trgm VIRTUAL TABLE INDEX 64:M1>"}},
		// Inside a larger filter the trigram table is a prefilter: its
		// candidates, then the rows.
		{"userNameCoAndActive", `userName co "ana" and active eq true`, nil, []string{"SCAN resources_trgm VIRTUAL TABLE INDEX 0:M"}},
		{"emailsWorkCoOr", `emails[type eq "work" and value co "example"] or userName eq "x"`, nil, []string{"SCAN emails_trgm VIRTUAL TABLE INDEX 0:M"}},
	} {
		q := &scimd.ListQuery{Type: scimd.TypeUser, Count: 100, StartIndex: 1}
		if c.filter != "" {
			q.Filter = mustParse(t, c.filter)
		}
		tenant := "t1"
		if strings.HasPrefix(c.name, "t2:") {
			tenant = "t2"
		}
		plan, query, err := db.ExplainPage(ctx, tenant, q, c.at)
		if err != nil {
			t.Fatal(err)
		}
		if n := strings.Count(plan, "SEARCH r "); tenant == "t2" && n != 1 {
			t.Errorf("%s: plan reads resources %d times, want once (the page's rows):\n%s", c.name, n, plan)
		}
		if strings.HasPrefix(c.name, "lastModified") && strings.Contains(plan, "TEMP B-TREE") {
			t.Errorf("%s: plan sorts:\n%s", c.name, plan)
		}
		t.Logf("%s:\n%s%s", c.name, plan, query)
		for _, w := range c.want {
			if !strings.Contains(plan, w) {
				t.Errorf("%s: plan lacks %q:\n%s", c.name, w, plan)
			}
		}
		if scansResources(plan) && c.name != "emailsWorkCoOr" {
			t.Errorf("%s: plan scans resources:\n%s", c.name, plan)
		}
		if strings.Contains(c.name, "Co") && strings.Contains(plan, "TEMP B-TREE") && !strings.Contains(c.name, "And") {
			t.Errorf("%s: plan sorts:\n%s", c.name, plan)
		}
		if c.at != nil && strings.Contains(query, "OFFSET") {
			t.Errorf("%s: seek query has OFFSET: %s", c.name, query)
		}
	}
}

// TestSequentialWalkSeeks checks that a sequential startIndex walk reads
// every page after the first by a keyset seek, counts nothing for an
// unfiltered list and counts a filtered one once; and that a walk which
// skips pages seeks too.
func TestSequentialWalkSeeks(t *testing.T) {
	ctx := context.Background()
	db := MustOpenDB(t, nil)
	const n = 50
	for i := range n {
		u := newUser(fmt.Sprintf("user%02d", i))
		u.Attrs["title"] = []string{"a", "b"}[i%2]
		mustCreate(t, db, "t1", u)
	}
	walk := func(q scimd.ListQuery, want int) (pages int) {
		t.Helper()
		got := 0
		for start := 1; ; start += q.Count {
			q.StartIndex = start
			res, err := db.List(ctx, "t1", &q)
			if err != nil {
				t.Fatal(err)
			}
			pages++
			got += len(res.Resources)
			if res.TotalResults != want {
				t.Errorf("start %d: TotalResults %d, want %d", start, res.TotalResults, want)
			}
			if len(res.Resources) < q.Count {
				break
			}
		}
		if got != want {
			t.Errorf("walk served %d, want %d", got, want)
		}
		return pages
	}
	seeks0, offsets0, counted0 := db.ListStats()
	pages := walk(scimd.ListQuery{Type: scimd.TypeUser, Count: 7}, n)
	seeks, offsets, counted := db.ListStats()
	if seeks-seeks0 != int64(pages-1) || offsets != offsets0 || counted != counted0 {
		t.Errorf("unfiltered walk of %d pages: %d seeks, %d offsets, %d counts; want %d, 0, 0",
			pages, seeks-seeks0, offsets-offsets0, counted-counted0, pages-1)
	}
	seeks0, offsets0, counted0 = seeks, offsets, counted
	pages = walk(scimd.ListQuery{Type: scimd.TypeUser, Count: 6, Filter: mustParse(t, `title eq "a"`), SortBy: pathOf(t, "userName")}, n/2)
	seeks, offsets, counted = db.ListStats()
	if seeks-seeks0 != int64(pages-1) || offsets != offsets0 || counted-counted0 != 1 {
		t.Errorf("filtered sorted walk of %d pages: %d seeks, %d offsets, %d counts; want %d, 0, 1",
			pages, seeks-seeks0, offsets-offsets0, counted-counted0, pages-1)
	}
	// A jump falls back to OFFSET.
	if _, err := db.List(ctx, "t1", &scimd.ListQuery{Type: scimd.TypeUser, Count: 7, StartIndex: 4}); err != nil {
		t.Fatal(err)
	}
	seeks, offsets2, _ := db.ListStats()
	if offsets2 != offsets+1 {
		t.Errorf("jump: %d offsets, want 1", offsets2-offsets)
	}
	// A walk that reads every other page (as one of two instances behind
	// a round-robin balancer would) seeks from the position the page
	// before the one it skipped left, and skips one page's rows.
	for start := 1; start <= n; start += 14 {
		if _, err := db.List(ctx, "t1", &scimd.ListQuery{Type: scimd.TypeUser, Count: 7, StartIndex: start, SortBy: pathOf(t, "userName")}); err != nil {
			t.Fatal(err)
		}
	}
	if seeks2, offsets3, _ := db.ListStats(); seeks2-seeks != 3 || offsets3 != offsets2 {
		t.Errorf("walk of every other page: %d seeks, %d offsets; want 3, 0", seeks2-seeks, offsets3-offsets2)
	}
}

func pathOf(tb testing.TB, s string) *filter.AttrPath {
	tb.Helper()
	p, err := filter.ParseAttrPath(s)
	if err != nil {
		tb.Fatal(err)
	}
	return &p
}

// scansResources reports whether an EXPLAIN QUERY PLAN reads resources r
// in full ("SCAN r", not "SCAN resources_trgm …").
func scansResources(plan string) bool {
	for _, l := range strings.Split(plan, "\n") {
		l = strings.TrimSpace(l)
		if l == "SCAN r" || strings.HasPrefix(l, "SCAN r ") {
			return true
		}
	}
	return false
}

// TestBoundedCount checks that the store bounds the count of filtered
// lists (ListQuery.MaxTotal), as storetest.Run does not require.
func TestBoundedCount(t *testing.T) {
	storetest.RunBoundedCount(t, func(t *testing.T) scimd.Store { return MustOpenFileDB(t) })
}

// TestCappedCountReused checks that the count choosePlan makes to choose a
// plan, which goes beyond the cap of a bounded count (MaxTotal), also gives
// the page's totalResults when it already reached the cap: one count per
// request, not two.
func TestCappedCountReused(t *testing.T) {
	ctx := context.Background()
	db := MustOpenDB(t, nil)
	for i := range 200 {
		mustCreate(t, db, "t1", newUser(fmt.Sprintf("user%03d", i)))
	}
	for _, f := range []string{`userName ge "user"`, `meta.lastModified gt "2000-01-01T00:00:00Z"`} {
		db.ResetListCache()
		_, _, counted0 := db.ListStats()
		// 200 matches of 200 users, pages of 1: choosePlan counts up to
		// sqrt(64·1·200)+2 = 115 matches, more than the cap of 10.
		res, err := db.List(ctx, "t1", &scimd.ListQuery{Type: scimd.TypeUser, Filter: mustParse(t, f), StartIndex: 1, Count: 1, MaxTotal: 10})
		if err != nil {
			t.Fatal(err)
		}
		if _, _, counted := db.ListStats(); res.TotalResults != 11 || len(res.Resources) != 1 || counted-counted0 != 1 {
			t.Errorf("%s: totalResults %d, %d resources, %d counts; want 11, 1, 1", f, res.TotalResults, len(res.Resources), counted-counted0)
		}
	}
}
