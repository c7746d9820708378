package storetest

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/scimd/scimd"
	"github.com/scimd/scimd/filter"
	"github.com/scimd/scimd/schema"
)

func testPaging(t *testing.T, setup func(*testing.T) *harness) {
	// many creates n users in t1 (and a few in t2 that must not count).
	many := func(h *harness, n int) []string {
		var out []string
		for i := range n {
			// Names deliberately not in creation order.
			out = append(out, h.createUser(T1, fmt.Sprintf("user-%02d@example.com", (i*7)%n), nil).ID)
		}
		for i := range 3 {
			h.createUser(T2, fmt.Sprintf("other-%d", i), nil)
		}
		return out
	}
	t.Run("DefaultOrder", func(t *testing.T) {
		h := setup(t)
		want := many(h, 25)
		var got []string
		for start := 1; start <= 25; start += 7 {
			res := h.list(T1, &scimd.ListQuery{Type: scimd.TypeUser, StartIndex: start, Count: 7})
			if res.TotalResults != 25 {
				t.Errorf("start %d: TotalResults = %d, want 25", start, res.TotalResults)
			}
			if wantN := min(7, 25-start+1); len(res.Resources) != wantN {
				t.Errorf("start %d: %d resources, want %d", start, len(res.Resources), wantN)
			}
			got = append(got, ids(res.Resources)...)
		}
		if !slices.Equal(got, want) {
			t.Errorf("pages in order %v,\nwant creation order %v", got, want)
		}
	})
	t.Run("Jumps", func(t *testing.T) {
		// Pages asked for out of order (a client that skips ahead or
		// back, or a walk spread over several instances, each of which
		// saw only some of the pages) are the slices of the whole list.
		h := setup(t)
		many(h, 40)
		name, err := filter.ParseAttrPath("userName")
		if err != nil {
			t.Fatal(err)
		}
		for _, base := range []scimd.ListQuery{
			{Type: scimd.TypeUser},
			{Type: scimd.TypeUser, SortBy: &name, SortDescending: true},
			{Type: scimd.TypeUser, Filter: parse(t, `userName sw "user-"`), SortBy: &name},
		} {
			whole := base
			whole.StartIndex, whole.Count = 1, 100
			all := ids(h.list(T1, &whole).Resources)
			if len(all) != 40 {
				t.Fatalf("%+v: whole list has %d, want 40", base, len(all))
			}
			for _, start := range []int{1, 11, 31, 21, 6, 36, 37, 16, 2, 40, 41} {
				q := base
				q.StartIndex, q.Count = start, 5
				res := h.list(T1, &q)
				want := all[min(start-1, 40):min(start-1+5, 40)]
				if got := ids(res.Resources); !slices.Equal(got, want) {
					t.Errorf("sort %v desc %v filter %v, startIndex %d: %v, want %v",
						base.SortBy != nil, base.SortDescending, base.Filter != nil, start, got, want)
				}
				if res.TotalResults != 40 {
					t.Errorf("startIndex %d: TotalResults %d, want 40", start, res.TotalResults)
				}
			}
		}
	})
	t.Run("StartIndexBelowOne", func(t *testing.T) {
		h := setup(t)
		want := many(h, 5)
		for _, start := range []int{0, -1, -100} {
			res := h.list(T1, &scimd.ListQuery{Type: scimd.TypeUser, StartIndex: start, Count: 2})
			if got := ids(res.Resources); !slices.Equal(got, want[:2]) || res.TotalResults != 5 {
				t.Errorf("StartIndex %d: got %v (total %d), want %v (total 5)", start, got, res.TotalResults, want[:2])
			}
		}
	})
	t.Run("CountZero", func(t *testing.T) {
		h := setup(t)
		many(h, 5)
		res := h.list(T1, &scimd.ListQuery{Type: scimd.TypeUser, StartIndex: 1, Count: 0})
		if len(res.Resources) != 0 || res.TotalResults != 5 {
			t.Errorf("got %d resources, total %d; want 0, 5", len(res.Resources), res.TotalResults)
		}
		res = h.list(T1, &scimd.ListQuery{Type: scimd.TypeUser, Filter: parse(t, `userName sw "user-0"`), StartIndex: 3, Count: 0})
		if len(res.Resources) != 0 || res.TotalResults != 5 {
			t.Errorf("filtered: got %d resources, total %d; want 0, 5", len(res.Resources), res.TotalResults)
		}
	})
	t.Run("BeyondEnd", func(t *testing.T) {
		h := setup(t)
		many(h, 5)
		for _, start := range []int{6, 100} {
			res := h.list(T1, &scimd.ListQuery{Type: scimd.TypeUser, StartIndex: start, Count: 10})
			if len(res.Resources) != 0 || res.TotalResults != 5 {
				t.Errorf("start %d: got %d resources, total %d; want 0, 5", start, len(res.Resources), res.TotalResults)
			}
		}
	})
	t.Run("LastPartialPage", func(t *testing.T) {
		h := setup(t)
		want := many(h, 5)
		res := h.list(T1, &scimd.ListQuery{Type: scimd.TypeUser, StartIndex: 4, Count: 10})
		if got := ids(res.Resources); !slices.Equal(got, want[3:]) {
			t.Errorf("got %v, want %v", got, want[3:])
		}
	})
	t.Run("Empty", func(t *testing.T) {
		h := setup(t)
		res := h.list(T1, &scimd.ListQuery{Type: scimd.TypeUser, StartIndex: 1, Count: 10})
		if len(res.Resources) != 0 || res.TotalResults != 0 {
			t.Errorf("got %d resources, total %d", len(res.Resources), res.TotalResults)
		}
	})
	t.Run("OrderSurvivesUpdateAndDelete", func(t *testing.T) {
		h := setup(t)
		want := many(h, 6)
		tick()
		h.update(T1, scimd.TypeUser, want[1], scimd.ReadOptions{}, setAttr("title", "changed"))
		h.update(T1, scimd.TypeUser, want[0], scimd.ReadOptions{}, setAttr("userName", "zzz"))
		if err := h.s.Delete(t.Context(), T1, scimd.TypeUser, want[3], nil); err != nil {
			t.Fatal(err)
		}
		want = slices.Delete(want, 3, 4)
		var got []string
		for start := 1; start <= 5; start += 2 {
			got = append(got, ids(h.list(T1, &scimd.ListQuery{Type: scimd.TypeUser, StartIndex: start, Count: 2}).Resources)...)
		}
		if !slices.Equal(got, want) {
			t.Errorf("got %v, want creation order %v", got, want)
		}
	})
	t.Run("TypeScoped", func(t *testing.T) {
		h := setup(t)
		u := h.createUser(T1, "u", nil)
		g := h.createGroup(T1, "g")
		users := h.all(T1, scimd.TypeUser, scimd.ReadOptions{})
		if got := ids(users); !slices.Equal(got, []string{u.ID}) {
			t.Fatalf("users: %v", got)
		}
		if !equalAttrs(users[0].Attrs, u.Attrs) || users[0].Type != scimd.TypeUser {
			t.Errorf("List returned other attributes:\n%s", attrsDiff(users[0].Attrs, u.Attrs))
		}
		equalMeta(t, "List", users[0].Meta, u.Meta)
		if got := ids(h.all(T1, scimd.TypeGroup, scimd.ReadOptions{})); !slices.Equal(got, []string{g.ID}) {
			t.Errorf("groups: %v", got)
		}
	})
	t.Run("AllTypes", func(t *testing.T) {
		h := setup(t)
		u := h.createUser(T1, "u", nil)
		g := h.createGroup(T1, "g")
		h.createUser(T2, "other", nil)
		res := h.list(T1, &scimd.ListQuery{StartIndex: 1, Count: 10})
		if !sameSet(ids(res.Resources), []string{u.ID, g.ID}) || res.TotalResults != 2 {
			t.Errorf("Type \"\": got %v (total %d), want user and group", ids(res.Resources), res.TotalResults)
		}
		for _, r := range res.Resources {
			if (r.ID == u.ID && r.Type != scimd.TypeUser) || (r.ID == g.ID && r.Type != scimd.TypeGroup) {
				t.Errorf("resource %s has Type %q", r.ID, r.Type)
			}
		}
	})
}

func testSort(t *testing.T, setup func(*testing.T) *harness) {
	path := func(s string) *filter.AttrPath {
		p, err := filter.ParseAttrPath(s)
		if err != nil {
			t.Fatalf("ParseAttrPath(%q): %v", s, err)
		}
		return &p
	}
	// sortedNames lists users sorted as asked and returns attr of each,
	// also checking that paging the sorted list by 2 gives the same order.
	sortedIDs := func(t *testing.T, h *harness, by string, desc bool, f filter.Expr) []string {
		t.Helper()
		q := &scimd.ListQuery{Type: scimd.TypeUser, Filter: f, SortBy: path(by), SortDescending: desc, StartIndex: 1, Count: 100}
		res := h.list(T1, q)
		all := ids(res.Resources)
		var paged []string
		for start := 1; start <= len(all); start += 2 {
			q := *q
			q.StartIndex, q.Count = start, 2
			paged = append(paged, ids(h.list(T1, &q).Resources)...)
		}
		if !slices.Equal(paged, all) {
			t.Errorf("sortBy %s desc=%v: paged order %v differs from unpaged %v", by, desc, paged, all)
		}
		return all
	}
	byName := func(h *harness) map[string]string {
		m := map[string]string{}
		for _, r := range h.all(T1, scimd.TypeUser, scimd.ReadOptions{}) {
			m[r.ID] = fmt.Sprint(r.Attrs["userName"])
		}
		return m
	}
	namesOf := func(m map[string]string, idList []string) []string {
		out := make([]string, len(idList))
		for i, id := range idList {
			out[i] = m[id]
		}
		return out
	}

	t.Run("UserName", func(t *testing.T) {
		h := setup(t)
		for _, n := range []string{"carol", "Bob", "eve", "alice", "Dave"} {
			h.createUser(T1, n, nil)
			h.createUser(T2, n+"-t2", nil)
		}
		m := byName(h)
		want := []string{"alice", "Bob", "carol", "Dave", "eve"}
		if got := namesOf(m, sortedIDs(t, h, "userName", false, nil)); !slices.Equal(got, want) {
			t.Errorf("ascending (case-insensitive): %v, want %v", got, want)
		}
		slices.Reverse(want)
		if got := namesOf(m, sortedIDs(t, h, "USERNAME", true, nil)); !slices.Equal(got, want) {
			t.Errorf("descending: %v, want %v", got, want)
		}
		want = []string{"Bob", "carol", "Dave"}
		if got := namesOf(m, sortedIDs(t, h, "userName", false, parse(t, `userName gt "alice" and userName lt "e"`))); !slices.Equal(got, want) {
			t.Errorf("filtered: %v, want %v", got, want)
		}
	})
	t.Run("CaseExact", func(t *testing.T) {
		h := setup(t)
		for i, e := range []string{"b", "A", "a", "B"} {
			h.createUser(T1, fmt.Sprint("u", i), map[string]any{"externalId": e})
		}
		want := []string{"u1", "u3", "u2", "u0"} // A B a b
		m := byName(h)
		if got := namesOf(m, sortedIDs(t, h, "externalId", false, nil)); !slices.Equal(got, want) {
			t.Errorf("externalId ascending: %v, want %v (code point order)", got, want)
		}
	})
	t.Run("SubAttributeWithMissing", func(t *testing.T) {
		h := setup(t)
		fams := []any{"Silva", nil, "anders", "Okafor", "silva", nil, "Brown"}
		for i, f := range fams {
			attrs := map[string]any{}
			if f != nil {
				attrs["name"] = map[string]any{"familyName": f, "givenName": "x"}
			} else if i == 1 {
				attrs["name"] = map[string]any{"givenName": "no family"}
			}
			h.createUser(T1, fmt.Sprint("u", i), attrs)
		}
		m := byName(h)
		asc := namesOf(m, sortedIDs(t, h, "name.familyName", false, nil))
		// anders Brown Okafor Silva|silva, then the two without.
		if !slices.Equal(asc[:3], []string{"u2", "u6", "u3"}) || !sameSet(asc[3:5], []string{"u0", "u4"}) || !sameSet(asc[5:], []string{"u1", "u5"}) {
			t.Errorf("ascending: %v, want u2 u6 u3 {u0 u4} {u1 u5} (missing last)", asc)
		}
		desc := namesOf(m, sortedIDs(t, h, "name.familyName", true, nil))
		if !sameSet(desc[:2], []string{"u1", "u5"}) || !sameSet(desc[2:4], []string{"u0", "u4"}) || !slices.Equal(desc[4:], []string{"u3", "u6", "u2"}) {
			t.Errorf("descending: %v, want {u1 u5} {u0 u4} u3 u6 u2 (missing first)", desc)
		}
	})
	t.Run("TiesPageStably", func(t *testing.T) {
		h := setup(t)
		for i := range 9 {
			h.createUser(T1, fmt.Sprint("u", i), map[string]any{"title": []string{"A", "B", "C"}[i%3]})
		}
		for _, desc := range []bool{false, true} {
			got := sortedIDs(t, h, "title", desc, nil) // checks paging consistency
			if len(got) != 9 {
				t.Errorf("desc=%v: %d results, want 9", desc, len(got))
			}
			seen := map[string]bool{}
			for _, id := range got {
				if seen[id] {
					t.Errorf("desc=%v: duplicate %s", desc, id)
				}
				seen[id] = true
			}
		}
	})
	t.Run("LastModified", func(t *testing.T) {
		h := setup(t)
		var u []*scimd.Resource
		for i := range 4 {
			u = append(u, h.createUser(T1, fmt.Sprint("u", i), nil))
			tick()
		}
		h.update(T1, scimd.TypeUser, u[1].ID, scimd.ReadOptions{}, setAttr("title", "x"))
		want := []string{u[0].ID, u[2].ID, u[3].ID, u[1].ID}
		if got := sortedIDs(t, h, "meta.lastModified", false, nil); !slices.Equal(got, want) {
			t.Errorf("meta.lastModified ascending: %v, want %v", got, want)
		}
		slices.Reverse(want)
		if got := sortedIDs(t, h, "meta.lastModified", true, nil); !slices.Equal(got, want) {
			t.Errorf("meta.lastModified descending: %v, want %v", got, want)
		}
		want = ids(u)
		if got := sortedIDs(t, h, "meta.created", false, nil); !slices.Equal(got, want) {
			t.Errorf("meta.created ascending: %v, want %v", got, want)
		}
	})
	t.Run("Extension", func(t *testing.T) {
		h := setup(t)
		deps := []any{"Sales", nil, "engineering", "Support"}
		for i, d := range deps {
			var attrs map[string]any
			if d != nil {
				attrs = map[string]any{entURN: map[string]any{"department": d}}
			}
			h.createUser(T1, fmt.Sprint("u", i), attrs)
		}
		m := byName(h)
		want := []string{"u2", "u0", "u3", "u1"}
		if got := namesOf(m, sortedIDs(t, h, entURN+":department", false, nil)); !slices.Equal(got, want) {
			t.Errorf("department ascending: %v, want %v", got, want)
		}
	})
	t.Run("Oracle", func(t *testing.T) { testSortOracle(t, setup) })
	t.Run("Group", func(t *testing.T) {
		h := setup(t)
		for _, n := range []string{"b", "C", "a"} {
			h.createGroup(T1, n)
		}
		res := h.list(T1, &scimd.ListQuery{Type: scimd.TypeGroup, SortBy: path("displayName"), StartIndex: 1, Count: 10})
		var got []string
		for _, r := range res.Resources {
			got = append(got, fmt.Sprint(r.Attrs["displayName"]))
		}
		if !slices.Equal(got, []string{"a", "b", "C"}) {
			t.Errorf("groups by displayName: %v", got)
		}
	})
}

// testSortOracle sorts the oracle users by many attributes and checks the
// order against the schema: keys non-decreasing (non-increasing when
// descending) by the attribute's type and caseExact, resources without a
// value last (first when descending), nothing lost or repeated.
func testSortOracle(t *testing.T, setup func(*testing.T) *harness) {
	h := setup(t)
	for _, body := range oracleUsers() {
		name := body["userName"].(string)
		delete(body, "userName")
		h.createUser(T1, name, body)
	}
	rt := h.rt(scimd.TypeUser)
	all := h.all(T1, scimd.TypeUser, scimd.ReadOptions{})
	for _, by := range []string{
		"userName", "displayName", "title", "name.familyName", "name.givenName", "externalId", "id", "active",
		"meta.created", "meta.lastModified",
		entURN + ":department", entURN + ":employeeNumber", entURN + ":manager.value",
	} {
		for _, desc := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/desc=%v", by, desc), func(t *testing.T) {
				h := h.with(t)
				p, err := filter.ParseAttrPath(by)
				if err != nil {
					t.Fatal(err)
				}
				res, err := rt.Resolve(p)
				if err != nil {
					t.Fatal(err)
				}
				got := h.list(T1, &scimd.ListQuery{Type: scimd.TypeUser, SortBy: &p, SortDescending: desc, StartIndex: 1, Count: 1000}).Resources
				if !sameSet(ids(got), ids(all)) {
					t.Fatalf("sorted list has other resources: %d of %d", len(got), len(all))
				}
				// Asc: values, then missing. Desc: missing, then values.
				seenMissing, seenValue := false, false
				for i, r := range got {
					k, ok := sortKey(r, res.Target(), p)
					switch {
					case ok && !desc && seenMissing:
						t.Errorf("position %d: %v after resources without %s (want missing last)", i, k, by)
					case !ok && desc && seenValue:
						t.Errorf("position %d: resource without %s after resources with one (want missing first)", i, by)
					}
					seenMissing = seenMissing || !ok
					seenValue = seenValue || ok
					if i == 0 || !ok {
						continue
					}
					prev, prevOK := sortKey(got[i-1], res.Target(), p)
					if !prevOK {
						continue
					}
					c := compareKeys(res.Target(), prev, k)
					if (!desc && c > 0) || (desc && c < 0) {
						t.Errorf("position %d: %v then %v is out of order", i, prev, k)
					}
				}
			})
		}
	}
}

// sortKey returns the value of a singular attribute path of r.
func sortKey(r *scimd.Resource, a *schema.Attribute, p filter.AttrPath) (any, bool) {
	switch strings.ToLower(p.Name) {
	case "id":
		return r.ID, true
	case "meta":
		if strings.EqualFold(p.Sub, "created") {
			return r.Meta.Created, true
		}
		return r.Meta.LastModified, true
	}
	attrs := r.Attrs
	if p.URN != "" {
		attrs, _ = r.Attrs[p.URN].(map[string]any)
	}
	v, ok := attrs[p.Name]
	if p.Sub != "" {
		m, _ := v.(map[string]any)
		v, ok = m[p.Sub]
	}
	return v, ok && v != nil
}

// compareKeys orders two values of attribute a.
func compareKeys(a *schema.Attribute, x, y any) int {
	switch a.Type {
	case schema.Boolean:
		bx, by := x.(bool), y.(bool)
		switch {
		case bx == by:
			return 0
		case by:
			return -1
		}
		return 1
	case schema.DateTime:
		tx, _ := x.(time.Time)
		ty, _ := y.(time.Time)
		return tx.Compare(ty)
	}
	sx, sy := fmt.Sprint(x), fmt.Sprint(y)
	if !a.CaseExact {
		sx, sy = strings.ToLower(sx), strings.ToLower(sy)
	}
	return strings.Compare(sx, sy)
}

// testBoundedCount covers ListQuery.MaxTotal: totalResults is exact while
// at most cap = max(MaxTotal, Count) matches remain from the page's start,
// and startIndex-1+cap+1 otherwise, so that walking by startIndex until it
// passes totalResults still reads every match. A store may ignore
// MaxTotal and count exactly; with bound set, the store must bound the
// count of a filter it has not counted before.
func testBoundedCount(t *testing.T, setup func(*testing.T) *harness, bound bool) {
	h := setup(t)
	const matches = 20
	var want []string // ids of the matching users, in creation order
	for i := range matches {
		want = append(want, h.createUser(T1, fmt.Sprintf("m%02d@x.test", (i*7)%matches), map[string]any{
			"emails": []any{map[string]any{"value": fmt.Sprintf("match%02d@x.test", i), "type": "work"}},
		}).ID)
		if i%4 == 0 { // non-matching users in between
			h.createUser(T1, fmt.Sprintf("other%02d@x.test", i), nil)
		}
	}
	h.createUser(T2, "m99@x.test", map[string]any{"emails": []any{map[string]any{"value": "match99@x.test"}}})
	byName := func(ids []string) []string {
		var names []string
		for _, id := range ids {
			names = append(names, h.get(T1, scimd.TypeUser, id, scimd.ReadOptions{}).Attrs["userName"].(string))
		}
		slices.Sort(names)
		return names
	}
	wantNames := byName(want)
	userNameAsc, err := filter.ParseAttrPath("userName")
	if err != nil {
		t.Fatal(err)
	}
	for _, fc := range []struct {
		name, filter string
		sortBy       *filter.AttrPath
	}{
		{"substring", `emails.value co "match"`, nil},
		{"range", `userName sw "m"`, nil}, // SQLite counts to plan it
		{"sorted", `userName sw "m"`, &userNameAsc},
	} {
		t.Run(fc.name, func(t *testing.T) {
			h := h.with(t)
			base := scimd.ListQuery{Type: scimd.TypeUser, Filter: parse(t, fc.filter), SortBy: fc.sortBy}
			q := func(start, count, maxTotal int) *scimd.ListQuery {
				q := base
				q.StartIndex, q.Count, q.MaxTotal = start, count, maxTotal
				return &q
			}
			// Above the cap: startIndex-1+cap+1 while more than cap
			// matches remain from the page's start, then exact. A store
			// may answer the exact count when it knows it anyway (a cached
			// count, or one it needed to plan the query); the first query of
			// a filter that needs no plan must give the bound.
			for i, c := range []struct{ start, count, maxTotal, want int }{
				{1, 3, 5, 6},
				{4, 3, 5, 9},
				{7, 3, 5, 12},                // 14 remain
				{14, 3, 5, 19},               // 7 remain
				{15, 3, 5, 20},               // 6 remain: 14+6
				{16, 3, 5, matches},          // 5 remain: exact
				{16, 3, 3, 19},               // 5 remain, cap 3
				{1, 8, 5, 9},                 // cap = max(MaxTotal, Count)
				{1, 3, matches - 1, matches}, // 20 remain, cap 19: 0+19+1
				{2, 3, matches - 2, matches}, // 19 remain, cap 18: 1+18+1
				{1, 0, 5, 6},                 // Count 0: the total alone
				{19, 3, 5, matches},          // short page
				{matches, 1, 5, matches},
				{matches + 1, 1, 5, matches}, // empty page past the end
				{25, 3, 5, matches},
			} {
				got := h.list(T1, q(c.start, c.count, c.maxTotal)).TotalResults
				if got != c.want && (got != matches || (bound && i == 0 && fc.name == "substring")) {
					t.Errorf("startIndex %d count %d MaxTotal %d: TotalResults = %d, want %d", c.start, c.count, c.maxTotal, got, c.want)
				}
			}
			// At or below the cap: exact, on the first page and later ones.
			for _, mt := range []int{matches, matches + 1, 1000} {
				for _, start := range []int{1, 4} {
					if got := h.list(T1, q(start, 3, mt)).TotalResults; got != matches {
						t.Errorf("MaxTotal %d, startIndex %d: TotalResults = %d, want %d", mt, start, got, matches)
					}
				}
			}
			// 0 counts everything.
			if got := h.list(T1, q(1, 3, 0)).TotalResults; got != matches {
				t.Errorf("MaxTotal 0: TotalResults = %d, want %d", got, matches)
			}
			// A client walking until startIndex > totalResults reads
			// every match exactly once, with any page size and cap.
			for _, pc := range []struct{ count, maxTotal int }{{3, 5}, {1, 1}, {4, 4}, {7, 2}} {
				var got []string
				for start, pages := 1, 0; ; pages++ {
					if pages > 2*matches {
						t.Fatalf("count %d MaxTotal %d: walk does not end", pc.count, pc.maxTotal)
					}
					res := h.list(T1, q(start, pc.count, pc.maxTotal))
					got = append(got, ids(res.Resources)...)
					start += pc.count
					if start > res.TotalResults {
						break
					}
				}
				if !slices.Equal(byName(got), wantNames) {
					t.Errorf("count %d MaxTotal %d: walk read %v, want %v", pc.count, pc.maxTotal, byName(got), wantNames)
				}
				if fc.sortBy == nil && !slices.Equal(got, want) {
					t.Errorf("count %d MaxTotal %d: walk order differs from creation order", pc.count, pc.maxTotal)
				}
			}
			// Cursor paging: counted from the list's start.
			cq := q(0, 3, 5)
			cq.UseCursor = true
			if got := h.list(T1, cq).TotalResults; got != 6 && got != matches {
				t.Errorf("cursor, MaxTotal 5: TotalResults = %d, want 6", got)
			}
			cq.MaxTotal = matches
			if got := h.list(T1, cq).TotalResults; got != matches {
				t.Errorf("cursor, MaxTotal %d: TotalResults = %d, want %d", matches, got, matches)
			}
		})
	}
	// Unfiltered lists are always exact.
	all := len(h.all(T1, scimd.TypeUser, scimd.ReadOptions{}))
	if got := h.list(T1, &scimd.ListQuery{Type: scimd.TypeUser, StartIndex: 1, Count: 2, MaxTotal: 3}).TotalResults; got != all {
		t.Errorf("unfiltered, MaxTotal 3: TotalResults = %d, want %d", got, all)
	}
}
