package sqlite_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/scimd/scimd"
	"github.com/scimd/scimd/schema"
	"github.com/scimd/scimd/sqlite"
)

// settableClock is a clock tests move by hand.
type settableClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *settableClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *settableClock) set(t time.Time) { c.mu.Lock(); defer c.mu.Unlock(); c.t = t }

// TestModifiedLogStaleRows checks that the rows the resource_modified log
// keeps of superseded versions never change an answer: a user modified
// at t1 and again at t3 still has its t1 row until pruning, and must not
// match "lastModified lt t2"; after the clock went back (an update at
// t0), its t3 row must not make it match "gt t2". Each filter is asked
// with pages small and large enough for either plan (reading the log,
// or walking creation order testing each row), before and after pruning.
func TestModifiedLogStaleRows(t *testing.T) {
	ctx := context.Background()
	day := func(d int) time.Time { return time.Date(2025, 3, d, 0, 0, 0, 0, time.UTC) }
	clock := &settableClock{t: day(1)}
	db := MustOpenDB(t, nil, sqlite.WithClock(clock.now))
	stamp := func(d int) string { return day(d).Format(time.RFC3339) }
	touch := func(id string, d int) {
		t.Helper()
		clock.set(day(d))
		_, err := db.Update(ctx, "t1", scimd.TypeUser, id, scimd.ReadOptions{}, func(r *scimd.Resource) ([]scimd.MemberOp, error) {
			r.Attrs["title"] = stamp(d)
			return nil, nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}

	// 200 users created on day 1 and left alone; ana created on day 1,
	// updated on day 3; bob created on day 1, updated on day 5, then on
	// day 2 (the clock went back).
	for i := range 200 {
		mustCreate(t, db, "t1", newUser(fmt.Sprintf("still%03d", i)))
	}
	ana := mustCreate(t, db, "t1", newUser("ana"))
	bob := mustCreate(t, db, "t1", newUser("bob"))
	touch(ana.ID, 3)
	touch(bob.ID, 5)
	touch(bob.ID, 2)

	still := make([]string, 200)
	for i := range still {
		still[i] = fmt.Sprintf("still%03d", i)
	}
	cases := []struct {
		filter string
		want   []string
	}{
		{`meta.lastModified gt "` + stamp(4) + `"`, nil},             // bob's day-5 row is stale
		{`meta.lastModified gt "` + stamp(2) + `"`, []string{"ana"}}, // bob is day 2 now
		{`meta.lastModified ge "` + stamp(2) + `"`, []string{"ana", "bob"}},
		{`meta.lastModified lt "` + stamp(2) + `"`, still}, // ana's and bob's day-1 rows are stale
		{`meta.lastModified le "` + stamp(2) + `"`, append(slices.Clone(still), "bob")},
		{`meta.lastModified eq "` + stamp(1) + `"`, still},
		{`meta.lastModified eq "` + stamp(5) + `"`, nil},
		{`not (meta.lastModified gt "` + stamp(2) + `")`, append(slices.Clone(still), "bob")},
		{`meta.lastModified gt "` + stamp(4) + `" or userName eq "ana"`, []string{"ana"}},
	}
	check := func(stage string) {
		t.Helper()
		for _, c := range cases {
			for _, count := range []int{1, 100} {
				db.ResetListCache()
				var got []string
				total := -1
				for start := 1; ; start += count {
					res, err := db.List(ctx, "t1", &scimd.ListQuery{Type: scimd.TypeUser, Filter: mustParse(t, c.filter),
						StartIndex: start, Count: count})
					if err != nil {
						t.Fatalf("%s: %s: %v", stage, c.filter, err)
					}
					if total < 0 {
						total = res.TotalResults
					}
					for _, r := range res.Resources {
						got = append(got, r.Attrs["userName"].(string))
					}
					if len(res.Resources) < count {
						break
					}
				}
				slices.Sort(got)
				want := slices.Sorted(slices.Values(c.want))
				if !slices.Equal(got, want) || total != len(c.want) {
					t.Errorf("%s: %s, count %d: total %d, got %v; want %v", stage, c.filter, count, total, got, want)
				}
			}
		}
	}
	// Pages of 1 among 200 matches walk creation order testing each row;
	// pages of 100 read the matches through the log.
	lt := &scimd.ListQuery{Type: scimd.TypeUser, Filter: mustParse(t, `meta.lastModified lt "`+stamp(2)+`"`), StartIndex: 1}
	for _, c := range []struct {
		count int
		log   bool
	}{{1, false}, {100, true}} {
		lt.Count = c.count
		plan, _, err := db.ExplainPage(ctx, "t1", lt, nil)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(plan, "SEARCH lm") != c.log {
			t.Errorf("count %d: plan reads the log: %v, want %v:\n%s", c.count, !c.log, c.log, plan)
		}
	}
	if _, stale, err := db.ModifiedLog(ctx); err != nil || stale != 3 {
		t.Fatalf("stale rows before pruning: %d (%v), want 3", stale, err)
	}
	check("stale rows")
	if n, err := db.PruneModified(ctx); err != nil || n != 3 {
		t.Fatalf("PruneModified = %d, %v; want 3", n, err)
	}
	check("pruned")
}

// TestModifiedLogPruneChunks checks a pruning pass over several chunks:
// it deletes exactly the stale rows, of updated and of deleted users.
func TestModifiedLogPruneChunks(t *testing.T) {
	ctx := context.Background()
	db := MustOpenFileDB(t)
	var users []*scimd.Resource
	for i := range 3000 {
		users = append(users, newUser(fmt.Sprintf("user%04d", i)))
	}
	users, err := db.BulkCreate(ctx, "t1", users)
	if err != nil {
		t.Fatal(err)
	}
	for i, u := range users[:1500] {
		_, err := db.Update(ctx, "t1", scimd.TypeUser, u.ID, scimd.ReadOptions{}, func(r *scimd.Resource) ([]scimd.MemberOp, error) {
			r.Attrs["title"] = strings.Repeat("x", i%7)
			return nil, nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, u := range users[2900:] {
		if err := db.Delete(ctx, "t1", scimd.TypeUser, u.ID, nil); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := db.PruneModified(ctx); err != nil || n != 1600 {
		t.Fatalf("PruneModified = %d, %v; want 1600", n, err)
	}
	if missing, stale, err := db.ModifiedLog(ctx); err != nil || missing != 0 || stale != 0 {
		t.Fatalf("after pruning: %d missing, %d stale (%v)", missing, stale, err)
	}
}

// TestModifiedLogCounts checks the counts and pages of filters on
// meta.lastModified alone, which since migration 0007 come from the
// resource_modified log itself: from its rows alone while the tenant's log
// has no stale row, from the bound "the log's rows less the stale ones
// reach the limit", or joined to the resources. Two tenants get the same
// users and groups at the same times; the first then gets stale rows of
// every kind (users updated forward and back in time, twice, deleted;
// groups updated), and every filter, for both types, with and without a
// cap on totalResults, in creation order and its reverse, paged by
// startIndex (first pages, the next one, jumps, the end) and by cursor,
// must return exactly the matches
// schema.Match finds, in order, with totalResults exact or, above
// the cap, its lower bound: before the stale rows, with them, after a
// pruning pass stopped after its first chunk, and after a full pass.
func TestModifiedLogCounts(t *testing.T) {
	ctx := context.Background()
	day := func(d int) time.Time { return time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, d-1) }
	stamp := func(d int) string { return day(d).Format(time.RFC3339) }
	clock := &settableClock{t: day(1)}
	db := MustOpenDB(t, nil, sqlite.WithClock(clock.now))

	// 200 users and 3 groups a day on days 1–11, in each tenant.
	const perDay, days = 200, 11
	users := map[string][]*scimd.Resource{}
	groups := map[string][]*scimd.Resource{}
	for _, tenant := range []string{"t1", "t2"} {
		for d := 1; d <= days; d++ {
			clock.set(day(d))
			var batch []*scimd.Resource
			for i := range perDay {
				batch = append(batch, newUser(fmt.Sprintf("user%02d-%03d", d, i)))
			}
			for i := range 3 {
				batch = append(batch, newGroup(fmt.Sprintf("group%02d-%d", d, i)))
			}
			out, err := db.BulkCreate(ctx, tenant, batch)
			if err != nil {
				t.Fatal(err)
			}
			users[tenant] = append(users[tenant], out[:perDay]...)
			groups[tenant] = append(groups[tenant], out[perDay:]...)
		}
	}

	filters := []string{
		`meta.lastModified gt "` + stamp(0) + `"`,
		`meta.lastModified ge "` + stamp(1) + `"`,
		`meta.lastModified gt "` + stamp(5) + `"`,
		`meta.lastModified ge "` + stamp(11) + `"`,
		`meta.lastModified ge "` + stamp(12) + `"`,
		`meta.lastModified lt "` + stamp(3) + `"`,
		`meta.lastModified lt "` + stamp(4) + `"`,
		`meta.lastModified le "` + stamp(2) + `"`,
		`meta.lastModified eq "` + stamp(1) + `"`,
		`meta.lastModified gt "` + stamp(2) + `" and meta.lastModified lt "` + stamp(9) + `"`,
		`meta.lastModified lt "` + stamp(2) + `" or meta.lastModified gt "` + stamp(10) + `"`,
		`not (meta.lastModified gt "` + stamp(5) + `")`,
		`meta.lastModified ne "` + stamp(1) + `"`,
		`meta.lastModified pr`,
	}
	reg := schema.DefaultRegistry()
	// all returns the tenant's resources of typ in creation order.
	all := func(tenant, typ string) []*scimd.Resource {
		t.Helper()
		res, err := db.List(ctx, tenant, &scimd.ListQuery{Type: typ, StartIndex: 1, Count: 10_000})
		if err != nil {
			t.Fatal(err)
		}
		return res.Resources
	}
	ids := func(rs []*scimd.Resource) []string {
		out := make([]string, len(rs))
		for i, r := range rs {
			out[i] = r.ID
		}
		return out
	}
	check := func(stage, tenant string) {
		t.Helper()
		for _, typ := range []string{scimd.TypeUser, scimd.TypeGroup} {
			rt := reg.ResourceType(typ)
			every := all(tenant, typ)
			for _, fs := range filters {
				f := mustParse(t, fs)
				var want []string
				for _, r := range every {
					ok, err := rt.Match(f, r)
					if err != nil {
						t.Fatal(err)
					}
					if ok {
						want = append(want, r.ID)
					}
				}
				m := len(want)
				rev := slices.Clone(want)
				slices.Reverse(rev)
				for _, c := range []struct {
					count int
					desc  bool
				}{{1, false}, {7, false}, {100, false}, {500, false}, {7, true}, {500, true}} {
					count, want := c.count, want
					if c.desc {
						want = rev
					}
					for _, maxTotal := range []int{0, 50, 500} {
						name := fmt.Sprintf("%s: %s %s %s, count %d, desc %v, maxTotal %d", stage, tenant, typ, fs, count, c.desc, maxTotal)
						// totalResults is exact, or above the cap its lower
						// bound: offset+cap+1 from the page's start (from the
						// list's start for a cursor).
						checkTotal := func(what string, got, offset int) {
							t.Helper()
							c := max(maxTotal, count)
							if got != m && (maxTotal == 0 || m <= offset+c || got != offset+c+1) {
								t.Errorf("%s: %s: totalResults %d, want %d (%d matches)", name, what, got, m, m)
							}
						}
						page := func(start int) {
							t.Helper()
							res, err := db.List(ctx, tenant, &scimd.ListQuery{Type: typ, Filter: f, StartIndex: start, Count: count, MaxTotal: maxTotal,
								SortDescending: c.desc})
							if err != nil {
								t.Fatalf("%s: %v", name, err)
							}
							lo, hi := min(start-1, m), min(start-1+count, m)
							if got := ids(res.Resources); !slices.Equal(got, want[lo:hi]) {
								t.Errorf("%s: startIndex %d: %d resources, want %d (%v…, want %v…)", name, start, len(got), hi-lo,
									got[:min(len(got), 3)], want[lo:min(hi, lo+3)])
							}
							checkTotal(fmt.Sprintf("startIndex %d", start), res.TotalResults, start-1)
						}
						db.ResetListCache()
						// The first pages (the second one seeks from the first's
						// end), a jump, the last page and past the end.
						for _, start := range []int{1, 1 + count, 1 + 2*count, m/2 + 1, max(m-count/2, 1), m + 1} {
							page(start)
						}
						if count == 500 {
							db.ResetListCache()
							for start := 1; start <= m; start += count {
								page(start)
							}
						}
						// Cursor pages: the first three, or all.
						db.ResetListCache()
						var got []string
						cursor := ""
						for i := 0; i < 3 || count == 500; i++ {
							res, err := db.List(ctx, tenant, &scimd.ListQuery{Type: typ, Filter: f, Count: count, MaxTotal: maxTotal,
								SortDescending: c.desc, UseCursor: true, Cursor: cursor})
							if err != nil {
								t.Fatalf("%s: cursor page %d: %v", name, i, err)
							}
							got = append(got, ids(res.Resources)...)
							checkTotal(fmt.Sprintf("cursor page %d", i), res.TotalResults, 0)
							if cursor = res.NextCursor; cursor == "" {
								break
							}
						}
						if n := min(len(got), m); !slices.Equal(got, want[:n]) || (cursor == "" && len(got) != m) {
							t.Errorf("%s: cursor pages: %d resources, want %d", name, len(got), m)
						}
					}
				}
			}
		}
		if err := db.CheckStaleCounts(ctx); err != nil {
			t.Fatalf("%s: %v", stage, err)
		}
	}
	// paths returns the counts by each way since the last call.
	var last [3]int64
	paths := func() (exact, bound, checked int64) {
		e, b, c := db.LogCountStats()
		exact, bound, checked = e-last[0], b-last[1], c-last[2]
		last = [3]int64{e, b, c}
		return exact, bound, checked
	}

	check("fresh", "t1")
	if exact, bound, checked := paths(); exact == 0 || bound != 0 || checked != 0 {
		t.Errorf("fresh: counted %d times from the log alone, %d by its bound, %d joined; want only the first", exact, bound, checked)
	}

	// Stale rows in t1: users of day 1 updated on day 12, of day 2 on day 0
	// (the clock went back) and on days 12 and 13, of day 11 on day 12;
	// users of day 3 deleted; groups updated on day 12.
	update := func(r *scimd.Resource, d int) {
		t.Helper()
		clock.set(day(d))
		_, err := db.Update(ctx, "t1", r.Type, r.ID, scimd.ReadOptions{}, func(r *scimd.Resource) ([]scimd.MemberOp, error) {
			if r.Type == scimd.TypeGroup {
				r.Attrs["displayName"] = fmt.Sprintf("%s-%d", r.Attrs["displayName"], d)
			} else {
				r.Attrs["title"] = stamp(d)
			}
			return nil, nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	u := users["t1"]
	for _, r := range u[0:40] {
		update(r, 12)
	}
	for _, r := range u[200:220] {
		update(r, 0)
	}
	for _, r := range u[220:230] {
		update(r, 12)
		update(r, 13)
	}
	for _, r := range u[2100:2120] {
		update(r, 12)
	}
	for _, r := range u[400:420] {
		if err := db.Delete(ctx, "t1", scimd.TypeUser, r.ID, nil); err != nil {
			t.Fatal(err)
		}
	}
	for _, r := range groups["t1"][:10] {
		update(r, 12)
	}
	if _, stale, err := db.ModifiedLog(ctx); err != nil || stale != 130 {
		t.Fatalf("stale rows: %d (%v), want 130", stale, err)
	}
	check("stale", "t1")
	if exact, bound, checked := paths(); exact != 0 || bound == 0 || checked == 0 {
		t.Errorf("stale: counted %d times from the log alone, %d by its bound, %d joined; want no first", exact, bound, checked)
	}
	// t2 has no stale row: its counts still come from the log alone.
	check("stale", "t2")
	if exact, bound, checked := paths(); exact == 0 || bound != 0 || checked != 0 {
		t.Errorf("t2: counted %d times from the log alone, %d by its bound, %d joined; want only the first", exact, bound, checked)
	}

	// A pass stopped after its first chunk (2,000 rows in key order: t1's
	// groups, then its users up to day 10) leaves the stale rows of days 11
	// and 12.
	if n, err := db.PruneModifiedChunk(ctx); err != nil || n != 100 {
		t.Fatalf("PruneModifiedChunk = %d, %v; want 100", n, err)
	}
	check("first chunk pruned", "t1")
	if exact, _, checked := paths(); exact != 0 || checked == 0 {
		t.Errorf("first chunk pruned: counted %d times from the log alone, %d joined; want no first", exact, checked)
	}
	if n, err := db.PruneModified(ctx); err != nil || n != 30 {
		t.Fatalf("PruneModified = %d, %v; want 30", n, err)
	}
	check("pruned", "t1")
	if exact, bound, checked := paths(); exact == 0 || bound != 0 || checked != 0 {
		t.Errorf("pruned: counted %d times from the log alone, %d by its bound, %d joined; want only the first", exact, bound, checked)
	}
}
