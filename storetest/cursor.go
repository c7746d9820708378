package storetest

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/scimd/scimd"
	"github.com/scimd/scimd/filter"
)

// testCursor checks RFC 9865 cursor paging (ListQuery.UseCursor): a walk
// following NextCursor returns what an index walk returns, cursors are
// bound to their query and validated, and a walk survives writes.
func testCursor(t *testing.T, setup func(*testing.T) *harness) {
	byName := func(t *testing.T) *filter.AttrPath {
		p, err := filter.ParseAttrPath("userName")
		if err != nil {
			t.Fatal(err)
		}
		return &p
	}
	// populate creates n users in T1 (names not in creation order) and a
	// few in T2.
	populate := func(h *harness, n int) {
		for i := range n {
			h.createUser(T1, fmt.Sprintf("user-%02d", (i*7)%n), map[string]any{"title": []string{"a", "b", "c"}[i%3]})
		}
		for i := range 3 {
			h.createUser(T2, fmt.Sprint("other-", i), nil)
		}
	}
	queries := func(t *testing.T) map[string]scimd.ListQuery {
		return map[string]scimd.ListQuery{
			"Default":        {Type: scimd.TypeUser},
			"Descending":     {Type: scimd.TypeUser, SortDescending: true},
			"SortBy":         {Type: scimd.TypeUser, SortBy: byName(t)},
			"SortByDesc":     {Type: scimd.TypeUser, SortBy: byName(t), SortDescending: true},
			"SortTies":       {Type: scimd.TypeUser, SortBy: path(t, "title")},
			"SortTiesDesc":   {Type: scimd.TypeUser, SortBy: path(t, "title"), SortDescending: true},
			"SortMissing":    {Type: scimd.TypeUser, SortBy: path(t, "nickName")},
			"Filtered":       {Type: scimd.TypeUser, Filter: parse(t, `userName sw "user-1" or title eq "a"`)},
			"FilteredSorted": {Type: scimd.TypeUser, Filter: parse(t, `title ne "b"`), SortBy: byName(t), SortDescending: true},
			"AllTypes":       {},
		}
	}

	t.Run("WalkEqualsIndexWalk", func(t *testing.T) {
		h := setup(t)
		const n = 23
		populate(h, n)
		h.createGroup(T1, "some group")
		for name, base := range queries(t) {
			t.Run(name, func(t *testing.T) {
				h := h.with(t)
				q := base
				q.StartIndex, q.Count = 1, 1000
				want := h.list(T1, &q)
				for _, count := range []int{1, 4, 7, len(want.Resources), 100} {
					got := h.cursorWalk(T1, base, count)
					if !slices.Equal(got, ids(want.Resources)) {
						t.Errorf("count %d: cursor walk\n%v\nwant index order\n%v", count, got, ids(want.Resources))
					}
				}
			})
		}
	})
	t.Run("FirstPageTotals", func(t *testing.T) {
		h := setup(t)
		populate(h, 9)
		res := h.list(T1, &scimd.ListQuery{Type: scimd.TypeUser, UseCursor: true, Count: 4})
		if len(res.Resources) != 4 || res.NextCursor == "" || res.PreviousCursor != "" {
			t.Errorf("first page: %d resources, next %q, previous %q; want 4, a next cursor, no previous",
				len(res.Resources), res.NextCursor, res.PreviousCursor)
		}
		if res.TotalResults != 9 && res.TotalResults != -1 {
			t.Errorf("TotalResults = %d, want 9 (or -1, unknown)", res.TotalResults)
		}
		res = h.list(T1, &scimd.ListQuery{Type: scimd.TypeUser, UseCursor: true, Count: 0})
		if len(res.Resources) != 0 || res.NextCursor != "" || res.PreviousCursor != "" {
			t.Errorf("count 0: %d resources, next %q, previous %q; want none", len(res.Resources), res.NextCursor, res.PreviousCursor)
		}
		if res.TotalResults != 9 && res.TotalResults != -1 {
			t.Errorf("count 0: TotalResults = %d, want 9 (or -1, unknown)", res.TotalResults)
		}
		res = h.list(T1, &scimd.ListQuery{Type: scimd.TypeUser, UseCursor: true, Count: 9})
		if len(res.Resources) != 9 || res.NextCursor != "" {
			t.Errorf("one page holding all: %d resources, next %q; want 9 and no next cursor", len(res.Resources), res.NextCursor)
		}
		res = h.list(T1, &scimd.ListQuery{Type: scimd.TypeGroup, UseCursor: true, Count: 5})
		if len(res.Resources) != 0 || res.NextCursor != "" || (res.TotalResults != 0 && res.TotalResults != -1) {
			t.Errorf("empty list: %d resources, next %q, total %d", len(res.Resources), res.NextCursor, res.TotalResults)
		}
	})
	t.Run("PreviousCursor", func(t *testing.T) {
		h := setup(t)
		populate(h, 17)
		for name, base := range queries(t) {
			t.Run(name, func(t *testing.T) {
				h := h.with(t)
				q := base
				q.UseCursor, q.Count = true, 5
				var pages [][]string
				var prevs []string
				for {
					res := h.list(T1, &q)
					pages = append(pages, ids(res.Resources))
					prevs = append(prevs, res.PreviousCursor)
					if res.NextCursor == "" {
						break
					}
					q.Cursor = res.NextCursor
				}
				if prevs[0] != "" {
					t.Errorf("first page has a previousCursor")
				}
				// previousCursor is optional; where given it leads back.
				for i := 1; i < len(pages); i++ {
					if prevs[i] == "" {
						continue
					}
					q.Cursor = prevs[i]
					res := h.list(T1, &q)
					if got := ids(res.Resources); !slices.Equal(got, pages[i-1]) {
						t.Errorf("page %d: previousCursor gives %v, want page %d %v", i+1, got, i, pages[i-1])
					}
					if i == 1 && res.PreviousCursor != "" {
						t.Errorf("back on the first page, previousCursor is set")
					}
					if res.NextCursor != "" {
						q.Cursor = res.NextCursor
						if got := ids(h.list(T1, &q).Resources); !slices.Equal(got, pages[i]) {
							t.Errorf("page %d: back then forward gives %v, want %v", i+1, got, pages[i])
						}
					}
				}
			})
		}
	})
	t.Run("BoundToQuery", func(t *testing.T) {
		h := setup(t)
		populate(h, 10)
		base := scimd.ListQuery{Type: scimd.TypeUser, Filter: parse(t, `title ne "b"`), SortBy: byName(t), UseCursor: true, Count: 3}
		res := h.list(T1, &base)
		if res.NextCursor == "" {
			t.Fatal("no nextCursor on a first page of 3 out of 7")
		}
		cur := res.NextCursor
		// The same query, with another count, accepts it.
		same := base
		same.Cursor, same.Count = cur, 2
		if _, err := h.s.List(t.Context(), T1, &same); err != nil {
			t.Errorf("same query, other count: %v", err)
		}
		others := map[string]func(q *scimd.ListQuery){
			"Filter":     func(q *scimd.ListQuery) { q.Filter = parse(t, `title ne "c"`) },
			"NoFilter":   func(q *scimd.ListQuery) { q.Filter = nil },
			"SortBy":     func(q *scimd.ListQuery) { q.SortBy = path(t, "title") },
			"NoSort":     func(q *scimd.ListQuery) { q.SortBy = nil },
			"Descending": func(q *scimd.ListQuery) { q.SortDescending = true },
			"Type":       func(q *scimd.ListQuery) { q.Type = scimd.TypeGroup; q.Filter = nil; q.SortBy = nil },
		}
		for name, change := range others {
			q := base
			q.Cursor = cur
			change(&q)
			_, err := h.s.List(t.Context(), T1, &q)
			t.Run(name, func(t *testing.T) { wantErr(t, err, http.StatusBadRequest, scimd.ScimTypeInvalidCursor) })
		}
		q := base
		q.Cursor = cur
		_, err := h.s.List(t.Context(), T2, &q)
		t.Run("Tenant", func(t *testing.T) { wantErr(t, err, http.StatusBadRequest, scimd.ScimTypeInvalidCursor) })
	})
	t.Run("Tampered", func(t *testing.T) {
		h := setup(t)
		populate(h, 6)
		q := scimd.ListQuery{Type: scimd.TypeUser, UseCursor: true, Count: 2}
		cur := h.list(T1, &q).NextCursor
		if cur == "" {
			t.Fatal("no nextCursor")
		}
		bad := []string{"x", "not a cursor", "%%%", "////", strings.Repeat("A", 64), cur[:len(cur)/2], cur + "A", "A" + cur}
		for i := range cur {
			c := []byte(cur)
			if c[i] == 'A' {
				c[i] = 'B'
			} else {
				c[i] = 'A'
			}
			bad = append(bad, string(c))
		}
		for _, c := range bad {
			q := q
			q.Cursor = c
			res, err := h.s.List(t.Context(), T1, &q)
			if err == nil {
				t.Errorf("cursor %q (tampered from %q): accepted, %d resources", c, cur, len(res.Resources))
				continue
			}
			wantErr(t, err, http.StatusBadRequest, scimd.ScimTypeInvalidCursor)
		}
	})
	t.Run("WalkSurvivesWrites", func(t *testing.T) {
		for name, base := range map[string]scimd.ListQuery{
			"Default":    {Type: scimd.TypeUser},
			"SortBy":     {Type: scimd.TypeUser, SortBy: byName(t)},
			"SortByDesc": {Type: scimd.TypeUser, SortBy: byName(t), SortDescending: true},
		} {
			t.Run(name, func(t *testing.T) {
				h := setup(t)
				const n = 20
				var orig []string
				for i := range n {
					orig = append(orig, h.createUser(T1, fmt.Sprintf("user-%02d", (i*7)%n), nil).ID)
				}
				q := base
				q.UseCursor, q.Count = true, 4
				seen := map[string]int{}
				deleted := map[string]bool{}
				for page := 0; ; page++ {
					res := h.list(T1, &q)
					for _, id := range ids(res.Resources) {
						seen[id]++
					}
					// Between pages: delete the last row served and a row
					// not yet served, create rows sorting anywhere.
					if len(res.Resources) > 0 && page < 3 {
						last := res.Resources[len(res.Resources)-1].ID
						var later string
						for _, id := range orig {
							if seen[id] == 0 && !deleted[id] {
								later = id
								break
							}
						}
						for _, id := range []string{last, later} {
							if id == "" {
								continue
							}
							if err := h.s.Delete(t.Context(), T1, scimd.TypeUser, id, nil); err != nil {
								t.Fatal(err)
							}
							deleted[id] = true
						}
						h.createUser(T1, fmt.Sprintf("new-a-%d", page), nil)
						h.createUser(T1, fmt.Sprintf("user-%02d-new", page*5), nil)
						h.createUser(T1, fmt.Sprintf("zzz-%d", page), nil)
					}
					if res.NextCursor == "" {
						break
					}
					if page > 100 {
						t.Fatal("walk does not end")
					}
					q.Cursor = res.NextCursor
				}
				for id, c := range seen {
					if c > 1 {
						t.Errorf("%s served %d times", id, c)
					}
				}
				for _, id := range orig {
					if !deleted[id] && seen[id] == 0 {
						t.Errorf("%s existed for the whole walk but was skipped", id)
					}
				}
			})
		}
	})
}

// testIndexWalks checks index paging beyond a plain sequential walk:
// jumps, repeated pages and changing page sizes return exactly the
// StartIndex/Count slice of the full list (stores that continue a walk
// from the previous page's position must not confuse walks), and a
// sequential walk under concurrent inserts repeats nothing that existed
// before it.
func testIndexWalks(t *testing.T, setup func(*testing.T) *harness) {
	t.Run("JumpsAndCounts", func(t *testing.T) {
		h := setup(t)
		for i := range 30 {
			h.createUser(T1, fmt.Sprintf("user-%02d", (i*7)%30), map[string]any{"title": []string{"a", "b", "c"}[i%3]})
		}
		for name, base := range map[string]scimd.ListQuery{
			"Default":  {Type: scimd.TypeUser},
			"SortBy":   {Type: scimd.TypeUser, SortBy: path(t, "userName"), SortDescending: true},
			"Filtered": {Type: scimd.TypeUser, Filter: parse(t, `title ne "b"`), SortBy: path(t, "title")},
		} {
			t.Run(name, func(t *testing.T) {
				h := h.with(t)
				q := base
				q.StartIndex, q.Count = 1, 1000
				all := ids(h.list(T1, &q).Resources)
				steps := [][2]int{{1, 5}, {6, 5}, {11, 5}, {11, 5}, {6, 5}, {16, 3}, {19, 7}, {26, 10}, {3, 4}, {7, 2}, {1, 30}, {31, 5}, {21, 5}, {26, 5}}
				for _, s := range steps {
					q := base
					q.StartIndex, q.Count = s[0], s[1]
					res := h.list(T1, &q)
					from, to := min(s[0]-1, len(all)), min(s[0]-1+s[1], len(all))
					if got := ids(res.Resources); !slices.Equal(got, all[from:to]) {
						t.Errorf("startIndex %d count %d: %v, want %v", s[0], s[1], got, all[from:to])
					}
					if res.TotalResults != len(all) {
						t.Errorf("startIndex %d count %d: TotalResults = %d, want %d", s[0], s[1], res.TotalResults, len(all))
					}
				}
			})
		}
	})
	t.Run("TotalsFollowWrites", func(t *testing.T) {
		h := setup(t)
		var us []*scimd.Resource
		for i := range 12 {
			us = append(us, h.createUser(T1, fmt.Sprint("u", i), map[string]any{"title": "a"}))
		}
		for _, q := range []scimd.ListQuery{{Type: scimd.TypeUser}, {Type: scimd.TypeUser, Filter: parse(t, `title eq "a"`)}} {
			q.StartIndex, q.Count = 1, 5
			if got := h.list(T1, &q).TotalResults; got != 12 {
				t.Fatalf("%s: TotalResults = %d, want 12", describeQuery(&q), got)
			}
		}
		h.update(T1, scimd.TypeUser, us[0].ID, scimd.ReadOptions{}, setAttr("title", "b"))
		if err := h.s.Delete(t.Context(), T1, scimd.TypeUser, us[1].ID, nil); err != nil {
			t.Fatal(err)
		}
		h.createUser(T1, "new", nil)
		for q, want := range map[*scimd.ListQuery]int{
			{Type: scimd.TypeUser, StartIndex: 1, Count: 5}:                                       12,
			{Type: scimd.TypeUser, Filter: parse(t, `title eq "a"`), StartIndex: 1, Count: 5}:     10,
			{Type: scimd.TypeUser, Filter: parse(t, `title eq "a"`), StartIndex: 1, Count: 0}:     10,
			{Type: scimd.TypeUser, Filter: parse(t, `title eq "a"`), UseCursor: true, Count: 5}:   10,
			{Type: scimd.TypeUser, Filter: parse(t, `title eq "a"`), UseCursor: true, Count: 100}: 10,
		} {
			if got := h.list(T1, q).TotalResults; got != want && !(q.UseCursor && got == -1) {
				t.Errorf("after writes, %s: TotalResults = %d, want %d", describeQuery(q), got, want)
			}
		}
	})
	t.Run("SequentialWalkUnderInserts", func(t *testing.T) {
		h := setup(t)
		const n, inserts = 60, 60
		var orig []string
		for i := range n {
			orig = append(orig, h.createUser(T1, fmt.Sprintf("user-%03d", i), nil).ID)
		}
		var wg sync.WaitGroup
		errs := make(chan error, 1)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range inserts {
				if _, err := h.s.Create(t.Context(), T1, h.user(fmt.Sprintf("late-%03d", i), nil)); err != nil {
					errs <- err
					return
				}
			}
		}()
		seen := map[string]int{}
		for start := 1; ; start += 7 {
			res, err := h.s.List(t.Context(), T1, &scimd.ListQuery{Type: scimd.TypeUser, StartIndex: start, Count: 7})
			if err != nil {
				t.Fatal(err)
			}
			for _, id := range ids(res.Resources) {
				seen[id]++
			}
			if len(res.Resources) < 7 || start > 10*(n+inserts) {
				break
			}
		}
		wg.Wait()
		close(errs)
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
		for _, id := range orig {
			if seen[id] != 1 {
				t.Errorf("user %s that existed before the walk was served %d times", id, seen[id])
			}
		}
		for id, c := range seen {
			if c > 1 {
				t.Errorf("%s served %d times", id, c)
			}
		}
	})
}

// cursorWalk follows NextCursor from the first page of base with the given
// page size and returns the ids served, checking the page invariants.
func (h *harness) cursorWalk(tenant string, base scimd.ListQuery, count int) []string {
	h.t.Helper()
	q := base
	q.UseCursor, q.Cursor, q.Count = true, "", count
	var out []string
	for page := 0; ; page++ {
		res := h.list(tenant, &q)
		if len(res.Resources) > count {
			h.t.Fatalf("page %d: %d resources, count %d", page+1, len(res.Resources), count)
		}
		if page == 0 && res.PreviousCursor != "" {
			h.t.Errorf("first page has previousCursor %q", res.PreviousCursor)
		}
		out = append(out, ids(res.Resources)...)
		if res.NextCursor == "" {
			return out
		}
		if len(res.Resources) == 0 {
			h.t.Fatalf("page %d: empty page with a nextCursor", page+1)
		}
		if page > 10000 {
			h.t.Fatal("cursor walk does not end")
		}
		q.Cursor = res.NextCursor
	}
}

func path(t *testing.T, s string) *filter.AttrPath {
	t.Helper()
	p, err := filter.ParseAttrPath(s)
	if err != nil {
		t.Fatalf("ParseAttrPath(%q): %v", s, err)
	}
	return &p
}
