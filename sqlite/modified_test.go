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
